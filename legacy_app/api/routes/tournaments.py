"""Routes of the tournament system, mounted under `/api` (bearer-authenticated).

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
entity's organization (404 otherwise). The order of 404/403/400 is in
`legacy_app.application.services.tournaments.access`, the rules in the services'
docstrings, the bodies in `legacy_app.api.schemas.tournaments`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from core.auth import CurrentUser
from core.ownership import OwnershipResolvers
from legacy_app.api.schemas.field_types import (
    MAX_ID,
    OrganizationQuery,
    PathId,
    RequiredOrganizationQuery,
    only_valid_ids,
)
from legacy_app.api.schemas.tournaments import (
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
from legacy_app.application.repositories.tournament_repository import TournamentRepository
from legacy_app.application.services.tournaments.crew_service import CrewService
from legacy_app.application.services.tournaments.match_service import MatchService
from legacy_app.application.services.tournaments.tournament_service import TournamentService

router = APIRouter(tags=["tournaments"])


def _tournaments() -> TournamentService:
    return TournamentService(TournamentRepository())


def _matches(request: Request) -> MatchService:
    return MatchService(TournamentRepository(), request.app.state.events)


def _crew(request: Request) -> CrewService:
    return CrewService(TournamentRepository(), request.app.state.events)


Tournaments = Annotated[TournamentService, Depends(_tournaments)]
Matches = Annotated[MatchService, Depends(_matches)]
CrewSignups = Annotated[CrewService, Depends(_crew)]
TournamentFilter = Annotated[int | None, Query(ge=1, le=MAX_ID)]

# -- tournaments ----------------------------------------------------------------------


@router.get("/tournaments/organizations/{organization_id}")
async def list_tournaments(
    organization_id: PathId, user: CurrentUser, service: Tournaments
) -> list[TournamentOut]:
    return [TournamentOut.of(t) for t in await service.list_tournaments(user, organization_id)]


@router.post("/tournaments/organizations/{organization_id}", status_code=status.HTTP_201_CREATED)
async def create_tournament(
    organization_id: PathId, body: TournamentCreate, user: CurrentUser, service: Tournaments
) -> TournamentOut:
    return TournamentOut.of(await service.create(user, organization_id, body.model_dump()))


@router.patch("/tournaments/{tournament_id}")
async def update_tournament(
    tournament_id: PathId,
    organization_id: RequiredOrganizationQuery,
    body: TournamentUpdate,
    user: CurrentUser,
    service: Tournaments,
) -> TournamentOut:
    return TournamentOut.of(await service.update(user, tournament_id, organization_id, body.changes()))


@router.delete("/tournaments/{tournament_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_tournament(
    tournament_id: PathId, organization_id: RequiredOrganizationQuery, user: CurrentUser, service: Tournaments
) -> Response:
    await service.delete(user, tournament_id, organization_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- registrations --------------------------------------------------------------------


@router.get("/tournaments/{tournament_id}/players")
async def list_players(
    tournament_id: PathId, user: CurrentUser, service: Tournaments, organization_id: OrganizationQuery = None
) -> list[RegistrationOut]:
    registrations = await service.list_players(user, tournament_id, organization_id)
    return [RegistrationOut.of(r) for r in registrations]


@router.post("/tournaments/{tournament_id}/players/{user_id}")
async def register_player(
    tournament_id: PathId,
    user_id: PathId,
    user: CurrentUser,
    service: Tournaments,
    organization_id: OrganizationQuery = None,
) -> RegistrationOut:
    return RegistrationOut.of(await service.register(user, tournament_id, user_id, organization_id))


@router.delete("/tournaments/{tournament_id}/players/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unregister_player(
    tournament_id: PathId,
    user_id: PathId,
    user: CurrentUser,
    service: Tournaments,
    organization_id: OrganizationQuery = None,
) -> Response:
    await service.unregister(user, tournament_id, user_id, organization_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- matches --------------------------------------------------------------------------


@router.get("/tournaments/organizations/{organization_id}/matches")
async def list_matches(
    organization_id: PathId, user: CurrentUser, service: Matches, tournament_id: TournamentFilter = None
) -> list[MatchOut]:
    return [MatchOut.of(m) for m in await service.list_matches(user, organization_id, tournament_id)]


@router.post("/tournaments/matches", status_code=status.HTTP_201_CREATED)
async def create_match(
    organization_id: RequiredOrganizationQuery, body: MatchCreate, user: CurrentUser, service: Matches
) -> MatchOut:
    match = await service.create(
        user, organization_id, body.tournament_id, body.match_fields(), body.player_ids
    )
    return MatchOut.of(match)


@router.patch("/tournaments/matches/{match_id}")
async def update_match(
    match_id: PathId,
    body: MatchUpdate,
    user: CurrentUser,
    service: Matches,
    organization_id: OrganizationQuery = None,
) -> MatchOut:
    return MatchOut.of(await service.update(user, match_id, organization_id, body.changes()))


@router.post("/tournaments/matches/{match_id}/advance-status")
async def advance_match_status(
    match_id: PathId,
    body: StatusChange,
    user: CurrentUser,
    service: Matches,
    organization_id: OrganizationQuery = None,
) -> MatchOut:
    return MatchOut.of(await service.advance(user, match_id, organization_id, body.status))


@router.post("/tournaments/matches/{match_id}/revert-status")
async def revert_match_status(
    match_id: PathId,
    body: StatusChange,
    user: CurrentUser,
    service: Matches,
    organization_id: OrganizationQuery = None,
) -> MatchOut:
    return MatchOut.of(await service.revert(user, match_id, organization_id, body.status))


@router.post("/tournaments/matches/{match_id}/winner")
async def set_match_winner(
    match_id: PathId,
    body: WinnerIn,
    user: CurrentUser,
    service: Matches,
    organization_id: OrganizationQuery = None,
) -> MatchOut:
    return MatchOut.of(await service.set_winner(user, match_id, organization_id, body.user_id))


@router.put("/tournaments/matches/{match_id}/seed")
async def put_match_seed(
    match_id: PathId,
    body: SeedIn,
    user: CurrentUser,
    service: Matches,
    organization_id: OrganizationQuery = None,
) -> MatchSeedOut:
    seed = await service.put_seed(user, match_id, organization_id, body.url, body.description)
    return MatchSeedOut.of(seed)


@router.delete("/tournaments/matches/{match_id}/seed", status_code=status.HTTP_204_NO_CONTENT)
async def delete_match_seed(
    match_id: PathId, user: CurrentUser, service: Matches, organization_id: OrganizationQuery = None
) -> Response:
    await service.delete_seed(user, match_id, organization_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- crew -----------------------------------------------------------------------------


@router.post("/tournaments/matches/{match_id}/crew")
async def sign_up_crew(
    match_id: PathId,
    body: CrewSignupIn,
    user: CurrentUser,
    service: CrewSignups,
    organization_id: OrganizationQuery = None,
) -> CrewOut:
    return CrewOut.of(await service.sign_up(user, match_id, organization_id, body.role, body.user_id))


@router.post("/tournaments/crew/approve")
async def approve_crew(
    body: CrewRef, user: CurrentUser, service: CrewSignups, organization_id: OrganizationQuery = None
) -> CrewOut:
    return CrewOut.of(await service.approve(user, body.crew_id, organization_id))


@router.post("/tournaments/crew/unapprove")
async def unapprove_crew(
    body: CrewRef, user: CurrentUser, service: CrewSignups, organization_id: OrganizationQuery = None
) -> CrewOut:
    return CrewOut.of(await service.unapprove(user, body.crew_id, organization_id))


# -- ownership ------------------------------------------------------------------------


def register_ownership(resolvers: OwnershipResolvers) -> None:
    """Kinds `tournament`, `match` and `crew`: entity id -> organization id (None if unknown)."""
    repository = TournamentRepository()
    lookups = {
        "tournament": repository.tournament_organization,
        "match": repository.match_organization,
        "crew": repository.crew_organization,
    }
    for kind, lookup in lookups.items():
        resolvers.register(kind, only_valid_ids(lookup))
