"""Routes of the tournament system, mounted under `/api` by the plugin system (bearer-
authenticated). A copy of legacy_app's, answering byte for byte alike.

    route                                                 answers             needs
    GET    /tournaments/organizations/{organization_id}   [Tournament]        member
    POST   /tournaments/organizations/{organization_id}   201 Tournament      tournament:create
    PATCH  /tournaments/{tournament_id}?organization_id=  Tournament          tournament:update
    DELETE /tournaments/{tournament_id}?organization_id=  204                 tournament:delete
    GET    /tournaments/{tournament_id}/players           [Registration]      member
    POST   /tournaments/{tournament_id}/players/{user_id} Registration        self: member; other:
    DELETE /tournaments/{tournament_id}/players/{user_id} 204                   tournament:update
    GET    /tournaments/organizations/{organization_id}/matches?tournament_id=
                                                          [Match]             member
    POST   /tournaments/matches?organization_id=          201 Match           match:create
    PATCH  /tournaments/matches/{match_id}                Match               match:update
    POST   /tournaments/matches/{match_id}/advance-status Match  {"status"}   match:update
    POST   /tournaments/matches/{match_id}/revert-status  Match  {"status"}   match:update
    POST   /tournaments/matches/{match_id}/winner         Match  {"user_id"}  match:update
    PUT    /tournaments/matches/{match_id}/seed           MatchSeed (upsert)  match:update
    DELETE /tournaments/matches/{match_id}/seed           204 (also if none)  match:update
    POST   /tournaments/matches/{match_id}/crew           Crew {"role", "user_id"?}
                                                                              self: member; other:
                                                                                match:update
    POST   /tournaments/crew/approve                      Crew  {"crew_id"}   match:update
    POST   /tournaments/crew/unapprove                    Crew  {"crew_id"}   match:update

Registration and crew signup answer 200 with the same body on a repeat (idempotent).
`?organization_id=` is required where the spec names it (PATCH/DELETE a tournament, POST a
match) and optional on the other routes that name an entity; when given, it must be the
entity's organization (404 otherwise). The order of 404/403/400 is in `services.access`,
the rules in the services' docstrings, the bodies in `api.schemas.tournaments`.

Each route is gated (`api.locators`): where the plugin is disabled for the organization
the route names, it answers 404 `Not Found` before authentication, like an unknown route.
Events go out through the plugin's context (the app's event bus).
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from core.auth import CurrentUser
from plugin_app.application.schemas.field_types import (
    MAX_ID,
    OrganizationQuery,
    PathId,
    RequiredOrganizationQuery,
)

from ..repositories.tournament_repository import TournamentRepository
from ..services.crew_service import CrewService
from ..services.match_service import MatchService
from ..services.tournament_service import TournamentService
from .locators import (
    CREW_IN_BODY,
    MATCH_IN_PATH,
    ORGANIZATION_IN_PATH,
    ORGANIZATION_IN_QUERY,
    QUERY_THEN_TOURNAMENT,
    TOURNAMENT_IN_PATH,
    route_gate,
)
from .schemas.tournaments import (
    CrewOut,
    CrewRef,
    CrewSignupIn,
    MatchCreate,
    MatchOut,
    MatchSeedOut,
    MatchUpdate,
    RegistrationOut,
    SeedIn,
    StatusChange,
    TournamentCreate,
    TournamentOut,
    TournamentUpdate,
    WinnerIn,
)

if TYPE_CHECKING:
    from ..plugin import TournamentPlugin

TournamentFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]


TAGS: list[str | Enum] = ["tournaments"]


def add_tournament_routes(router: APIRouter, plugin: TournamentPlugin) -> None:
    """The tournament, registration, match and crew routes; they reach the event bus
    through `plugin.context` at request time."""
    gate = route_gate(plugin.plugin_id)

    def tournaments() -> TournamentService:
        return TournamentService(TournamentRepository())

    def matches() -> MatchService:
        return MatchService(TournamentRepository(), plugin.context.events)

    def crew() -> CrewService:
        return CrewService(TournamentRepository(), plugin.context.events)

    # -- tournaments ------------------------------------------------------------------

    @router.get(
        "/tournaments/organizations/{organization_id}", tags=TAGS, dependencies=gate(ORGANIZATION_IN_PATH)
    )
    async def list_tournaments(
        organization_id: PathId, user: CurrentUser, service: TournamentService = Depends(tournaments)
    ) -> list[TournamentOut]:
        return [TournamentOut.of(t) for t in await service.list_tournaments(user, organization_id)]

    @router.post(
        "/tournaments/organizations/{organization_id}",
        status_code=status.HTTP_201_CREATED,
        tags=TAGS,
        dependencies=gate(ORGANIZATION_IN_PATH),
    )
    async def create_tournament(
        organization_id: PathId,
        body: TournamentCreate,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
    ) -> TournamentOut:
        return TournamentOut.of(await service.create(user, organization_id, body.model_dump()))

    @router.patch("/tournaments/{tournament_id}", tags=TAGS, dependencies=gate(QUERY_THEN_TOURNAMENT))
    async def update_tournament(
        tournament_id: PathId,
        organization_id: RequiredOrganizationQuery,
        body: TournamentUpdate,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
    ) -> TournamentOut:
        return TournamentOut.of(await service.update(user, tournament_id, organization_id, body.changes()))

    @router.delete(
        "/tournaments/{tournament_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=TAGS,
        dependencies=gate(QUERY_THEN_TOURNAMENT),
    )
    async def delete_tournament(
        tournament_id: PathId,
        organization_id: RequiredOrganizationQuery,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
    ) -> Response:
        await service.delete(user, tournament_id, organization_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # -- registrations ----------------------------------------------------------------

    @router.get("/tournaments/{tournament_id}/players", tags=TAGS, dependencies=gate(TOURNAMENT_IN_PATH))
    async def list_players(
        tournament_id: PathId,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
        organization_id: OrganizationQuery = None,
    ) -> list[RegistrationOut]:
        registrations = await service.list_players(user, tournament_id, organization_id)
        return [RegistrationOut.of(r) for r in registrations]

    @router.post(
        "/tournaments/{tournament_id}/players/{user_id}", tags=TAGS, dependencies=gate(TOURNAMENT_IN_PATH)
    )
    async def register_player(
        tournament_id: PathId,
        user_id: PathId,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
        organization_id: OrganizationQuery = None,
    ) -> RegistrationOut:
        return RegistrationOut.of(await service.register(user, tournament_id, user_id, organization_id))

    @router.delete(
        "/tournaments/{tournament_id}/players/{user_id}",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=TAGS,
        dependencies=gate(TOURNAMENT_IN_PATH),
    )
    async def unregister_player(
        tournament_id: PathId,
        user_id: PathId,
        user: CurrentUser,
        service: TournamentService = Depends(tournaments),
        organization_id: OrganizationQuery = None,
    ) -> Response:
        await service.unregister(user, tournament_id, user_id, organization_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # -- matches ----------------------------------------------------------------------

    @router.get(
        "/tournaments/organizations/{organization_id}/matches",
        tags=TAGS,
        dependencies=gate(ORGANIZATION_IN_PATH),
    )
    async def list_matches(
        organization_id: PathId,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        tournament_id: TournamentFilter = None,
    ) -> list[MatchOut]:
        return [MatchOut.of(m) for m in await service.list_matches(user, organization_id, tournament_id)]

    @router.post(
        "/tournaments/matches",
        status_code=status.HTTP_201_CREATED,
        tags=TAGS,
        dependencies=gate(ORGANIZATION_IN_QUERY),
    )
    async def create_match(
        organization_id: RequiredOrganizationQuery,
        body: MatchCreate,
        user: CurrentUser,
        service: MatchService = Depends(matches),
    ) -> MatchOut:
        match = await service.create(
            user, organization_id, body.tournament_id, body.match_fields(), body.player_ids
        )
        return MatchOut.of(match)

    @router.patch("/tournaments/matches/{match_id}", tags=TAGS, dependencies=gate(MATCH_IN_PATH))
    async def update_match(
        match_id: PathId,
        body: MatchUpdate,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> MatchOut:
        return MatchOut.of(await service.update(user, match_id, organization_id, body.changes()))

    @router.post(
        "/tournaments/matches/{match_id}/advance-status", tags=TAGS, dependencies=gate(MATCH_IN_PATH)
    )
    async def advance_match_status(
        match_id: PathId,
        body: StatusChange,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> MatchOut:
        return MatchOut.of(await service.advance(user, match_id, organization_id, body.status))

    @router.post("/tournaments/matches/{match_id}/revert-status", tags=TAGS, dependencies=gate(MATCH_IN_PATH))
    async def revert_match_status(
        match_id: PathId,
        body: StatusChange,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> MatchOut:
        return MatchOut.of(await service.revert(user, match_id, organization_id, body.status))

    @router.post("/tournaments/matches/{match_id}/winner", tags=TAGS, dependencies=gate(MATCH_IN_PATH))
    async def set_match_winner(
        match_id: PathId,
        body: WinnerIn,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> MatchOut:
        return MatchOut.of(await service.set_winner(user, match_id, organization_id, body.user_id))

    @router.put("/tournaments/matches/{match_id}/seed", tags=TAGS, dependencies=gate(MATCH_IN_PATH))
    async def put_match_seed(
        match_id: PathId,
        body: SeedIn,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> MatchSeedOut:
        seed = await service.put_seed(user, match_id, organization_id, body.url, body.description)
        return MatchSeedOut.of(seed)

    @router.delete(
        "/tournaments/matches/{match_id}/seed",
        status_code=status.HTTP_204_NO_CONTENT,
        tags=TAGS,
        dependencies=gate(MATCH_IN_PATH),
    )
    async def delete_match_seed(
        match_id: PathId,
        user: CurrentUser,
        service: MatchService = Depends(matches),
        organization_id: OrganizationQuery = None,
    ) -> Response:
        await service.delete_seed(user, match_id, organization_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    # -- crew -------------------------------------------------------------------------

    @router.post("/tournaments/matches/{match_id}/crew", tags=TAGS, dependencies=gate(MATCH_IN_PATH))
    async def sign_up_crew(
        match_id: PathId,
        body: CrewSignupIn,
        user: CurrentUser,
        service: CrewService = Depends(crew),
        organization_id: OrganizationQuery = None,
    ) -> CrewOut:
        return CrewOut.of(await service.sign_up(user, match_id, organization_id, body.role, body.user_id))

    @router.post("/tournaments/crew/approve", tags=TAGS, dependencies=gate(CREW_IN_BODY))
    async def approve_crew(
        body: CrewRef,
        user: CurrentUser,
        service: CrewService = Depends(crew),
        organization_id: OrganizationQuery = None,
    ) -> CrewOut:
        return CrewOut.of(await service.approve(user, body.crew_id, organization_id))

    @router.post("/tournaments/crew/unapprove", tags=TAGS, dependencies=gate(CREW_IN_BODY))
    async def unapprove_crew(
        body: CrewRef,
        user: CurrentUser,
        service: CrewService = Depends(crew),
        organization_id: OrganizationQuery = None,
    ) -> CrewOut:
        return CrewOut.of(await service.unapprove(user, body.crew_id, organization_id))
