"""Routes of the async qualifier system, mounted under `/api` (bearer-authenticated).

    GET    /async-qualifiers/organizations/{org}      list qualifiers (by id)       member
    POST   /async-qualifiers/organizations/{org}      create (201)                  manager
    GET    /async-qualifiers/{qid}?organization_id=   qualifier with its pools      member
    PATCH  /async-qualifiers/{qid}?organization_id=   update                        manager
    DELETE /async-qualifiers/{qid}?organization_id=   delete (204)                  manager
    POST   /async-qualifiers/{qid}/pools              create pool (201)             manager
    POST   /async-qualifiers/pools/{pid}/permalinks   create permalink (201)        manager
    POST   /async-qualifiers/{qid}/races              open a race (201) {pool_id} | {permalink_id}   member
    POST   /async-qualifiers/races/{rid}/start        pending → in_progress         owner
    POST   /async-qualifiers/races/{rid}/finish       in_progress → finished        owner
    POST   /async-qualifiers/races/{rid}/forfeit      pending|in_progress → forfeit owner or manager
    POST   /async-qualifiers/races/{rid}/reattempt    take out of scoring           owner
    GET    /async-qualifiers/{qid}/leaderboard        leaderboard                   member
    POST   /async-qualifiers/{qid}/recalculate        re-score every permalink      manager
    GET    /async-qualifiers/{qid}/review-queue       races to review               reviewer
    GET    /async-qualifiers/races/{rid}/review       the race and its review       reviewer or owner
    PATCH  /async-qualifiers/races/{rid}/review       review it                     reviewer, not own
    PATCH  /async-qualifiers/races/{rid}/submission   VOD, notes, review request    owner

Manager: `async_tournament:*` (Admin, Tournament Manager); reviewer: `async_race:review`
(Admin, Async Reviewer); global ADMIN may do anything. Not found or not allowed is 404
`{"detail": "<Entity> not found or insufficient permissions"}`; reviewing your own race
403; a race in the wrong state, or a second active race, 409; other rules 400; malformed
input 422; a bad token 401. `?organization_id=` is optional; when given it must be the
qualifier's organization. Bodies: `.schemas`; rules: the services in `..services`.

Copied from legacy_app; what differs is how it is wired: `build_router(runtime)` builds the
router once at start-up (the routes reach the services through the plugin when they run),
and every route carries the enablement gate with the locators that name its organization -
the same sources, in the same order, as the proxy's route map (proxy/route_map.yaml) - so
where the plugin is disabled a route answers 404 `{"detail": "Not Found"}` like an unknown one.
"""

# No `from __future__ import annotations`: FastAPI evaluates the routes' annotations in the
# module's globals, and `Services` is local to build_router.
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from core.auth import CurrentUser
from core.ownership import Resolver
from plugin_app.application.plugins import FromEntity, FromPath, FromQuery, require_plugin_enabled
from plugin_app.application.plugins.base import OrganizationLocator
from plugin_app.application.schemas.field_types import MAX_ID, OrganizationQuery, only_valid_ids

from ..models.async_tournament import RaceStatus, ReviewStatus
from ..repositories.async_qualifier_repository import AsyncQualifierRepository
from ..runtime import AsyncQualifierRuntime
from ..services import AsyncQualifierServices
from ..services.qualifier_service import PoolSummary
from ..services.review_service import MAX_QUEUE_LIMIT
from .schemas import (
    MAX_SNOWFLAKE,
    LeaderboardOut,
    PermalinkCreate,
    PermalinkOut,
    PoolCreate,
    PoolOut,
    QualifierCreate,
    QualifierDetailOut,
    QualifierOut,
    QualifierUpdate,
    RaceCreate,
    RaceOut,
    RecalculateOut,
    ReviewUpdate,
    SubmissionUpdate,
)

PLUGIN_ID = "async_qualifier"

OrgId = Annotated[int, Path(ge=1, le=MAX_ID, description="Organization id")]
QualifierId = Annotated[int, Path(ge=1, le=MAX_ID, description="Async qualifier id")]
PoolId = Annotated[int, Path(ge=1, le=MAX_ID, description="Pool id")]
RaceId = Annotated[int, Path(ge=1, le=MAX_ID, description="Race id")]


def _gate(*locators: OrganizationLocator) -> list[Any]:
    return [Depends(require_plugin_enabled(PLUGIN_ID, locators))]


BY_ORGANIZATION = _gate(FromPath("org"))
BY_QUERY_OR_QUALIFIER = _gate(FromQuery("organization_id"), FromEntity("async_qualifier", "qid"))
BY_QUALIFIER = _gate(FromEntity("async_qualifier", "qid"))
BY_POOL = _gate(FromEntity("pool", "pid"))
BY_RACE = _gate(FromEntity("race", "rid"))


def build_router(runtime: AsyncQualifierRuntime) -> APIRouter:
    """The routes, on the services of `runtime` (reached per request, once the plugin is loaded)."""
    router = APIRouter(prefix="/async-qualifiers", tags=["async-qualifiers"])

    def _services() -> AsyncQualifierServices:
        return runtime.services

    Services = Annotated[AsyncQualifierServices, Depends(_services)]

    # -- qualifiers -----------------------------------------------------------------------------

    @router.get("/organizations/{org}", dependencies=BY_ORGANIZATION)
    async def list_qualifiers(org: OrgId, user: CurrentUser, svc: Services) -> list[QualifierOut]:
        return [QualifierOut.of(q) for q in await svc.qualifiers.list_for_organization(user, org)]

    @router.post("/organizations/{org}", dependencies=BY_ORGANIZATION, status_code=status.HTTP_201_CREATED)
    async def create_qualifier(
        org: OrgId, body: QualifierCreate, user: CurrentUser, svc: Services
    ) -> QualifierOut:
        return QualifierOut.of(await svc.qualifiers.create(user, org, **body.model_dump()))

    @router.get("/{qid}", dependencies=BY_QUERY_OR_QUALIFIER)
    async def get_qualifier(
        qid: QualifierId, user: CurrentUser, svc: Services, organization_id: OrganizationQuery = None
    ) -> QualifierDetailOut:
        qualifier = await svc.qualifiers.get(user, qid, organization_id)
        return QualifierDetailOut.of_detail(await svc.qualifiers.detail(user, qualifier))

    @router.patch("/{qid}", dependencies=BY_QUERY_OR_QUALIFIER)
    async def update_qualifier(
        qid: QualifierId,
        body: QualifierUpdate,
        user: CurrentUser,
        svc: Services,
        organization_id: OrganizationQuery = None,
    ) -> QualifierOut:
        qualifier = await svc.qualifiers.get(user, qid, organization_id)
        return QualifierOut.of(await svc.qualifiers.update(user, qualifier, body.changes()))

    @router.delete("/{qid}", dependencies=BY_QUERY_OR_QUALIFIER, status_code=status.HTTP_204_NO_CONTENT)
    async def delete_qualifier(
        qid: QualifierId, user: CurrentUser, svc: Services, organization_id: OrganizationQuery = None
    ) -> Response:
        qualifier = await svc.qualifiers.get(user, qid, organization_id)
        await svc.qualifiers.delete(user, qualifier)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @router.post("/{qid}/pools", dependencies=BY_QUALIFIER, status_code=status.HTTP_201_CREATED)
    async def create_pool(qid: QualifierId, body: PoolCreate, user: CurrentUser, svc: Services) -> PoolOut:
        qualifier = await svc.qualifiers.get(user, qid)
        pool = await svc.qualifiers.create_pool(user, qualifier, body.name, body.description)
        return PoolOut.of(PoolSummary(pool, permalink_count=0))

    @router.post("/pools/{pid}/permalinks", dependencies=BY_POOL, status_code=status.HTTP_201_CREATED)
    async def create_permalink(
        pid: PoolId, body: PermalinkCreate, user: CurrentUser, svc: Services
    ) -> PermalinkOut:
        pool = await svc.qualifiers.get_pool(user, pid)
        return PermalinkOut.of(await svc.qualifiers.create_permalink(user, pool, body.url, body.notes))

    # -- races ----------------------------------------------------------------------------------

    @router.post("/{qid}/races", dependencies=BY_QUALIFIER, status_code=status.HTTP_201_CREATED)
    async def open_race(qid: QualifierId, body: RaceCreate, user: CurrentUser, svc: Services) -> RaceOut:
        qualifier = await svc.qualifiers.get(user, qid)
        race = await svc.races.open_race(
            user, qualifier, pool_id=body.pool_id, permalink_id=body.permalink_id
        )
        return RaceOut.of(race)

    @router.post("/races/{rid}/start", dependencies=BY_RACE)
    async def start_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
        return RaceOut.of(await svc.races.start_race(user, await svc.races.find_race(user, rid)))

    @router.post("/races/{rid}/finish", dependencies=BY_RACE)
    async def finish_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
        return RaceOut.of(await svc.races.finish_race(user, await svc.races.find_race(user, rid)))

    @router.post("/races/{rid}/forfeit", dependencies=BY_RACE)
    async def forfeit_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
        return RaceOut.of(await svc.races.forfeit_race(user, await svc.races.find_race(user, rid)))

    @router.post("/races/{rid}/reattempt", dependencies=BY_RACE)
    async def reattempt_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
        return RaceOut.of(await svc.races.reattempt_race(user, await svc.races.find_race(user, rid)))

    @router.patch("/races/{rid}/submission", dependencies=BY_RACE)
    async def update_submission(
        rid: RaceId, body: SubmissionUpdate, user: CurrentUser, svc: Services
    ) -> RaceOut:
        race = await svc.races.find_race(user, rid)
        return RaceOut.of(await svc.races.update_submission(user, race, **body.model_dump()))

    # -- scoring ----------------------------------------------------------------------------------

    @router.get("/{qid}/leaderboard", dependencies=BY_QUALIFIER)
    async def leaderboard(qid: QualifierId, user: CurrentUser, svc: Services) -> LeaderboardOut:
        qualifier = await svc.qualifiers.get(user, qid)
        return LeaderboardOut.of(await svc.leaderboards.leaderboard(user, qualifier))

    @router.post("/{qid}/recalculate", dependencies=BY_QUALIFIER)
    async def recalculate(qid: QualifierId, user: CurrentUser, svc: Services) -> RecalculateOut:
        qualifier = await svc.qualifiers.get(user, qid)
        scored = await svc.scoring.recalculate(user, qualifier)
        return RecalculateOut(qualifier_id=qualifier.id, permalinks_scored=scored)

    # -- review -----------------------------------------------------------------------------------

    @router.get("/{qid}/review-queue", dependencies=BY_QUALIFIER)
    async def review_queue(
        qid: QualifierId,
        user: CurrentUser,
        svc: Services,
        race_status: Annotated[RaceStatus | None, Query(alias="status")] = None,
        review_status: ReviewStatus | None = None,
        reviewed_by_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
        skip: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_QUEUE_LIMIT)] = 50,
    ) -> list[RaceOut]:
        qualifier = await svc.qualifiers.get(user, qid)
        races = await svc.reviews.review_queue(
            user,
            qualifier,
            status=race_status,
            review_status=review_status,
            reviewed_by_id=reviewed_by_id,
            skip=skip,
            limit=limit,
        )
        return [RaceOut.of(r) for r in races]

    @router.get("/races/{rid}/review", dependencies=BY_RACE)
    async def get_review(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
        return RaceOut.of(await svc.reviews.race_for_review(user, rid))

    @router.patch("/races/{rid}/review", dependencies=BY_RACE)
    async def review_race(rid: RaceId, body: ReviewUpdate, user: CurrentUser, svc: Services) -> RaceOut:
        race = await svc.reviews.race_for_review(user, rid)
        reviewed = await svc.reviews.review_race(
            user,
            race,
            review_status=ReviewStatus(body.review_status.value),
            reviewer_notes=body.reviewer_notes,
            elapsed_seconds_override=body.elapsed_seconds_override,
        )
        return RaceOut.of(reviewed)

    return router


# -- ownership (for the proxy and the gates) ------------------------------------------------


def ownership_resolvers(repository: AsyncQualifierRepository) -> dict[str, Resolver]:
    """Kinds `async_qualifier`, `pool`, `permalink`, `race` (entity id) and `discord_channel`
    (a channel id → the qualifier linked to it) → organization id (None if unknown)."""
    resolvers: dict[str, Resolver] = {
        "async_qualifier": only_valid_ids(repository.organization_of_qualifier),
        "pool": only_valid_ids(repository.organization_of_pool),
        "permalink": only_valid_ids(repository.organization_of_permalink),
        "race": only_valid_ids(repository.organization_of_race),
    }

    async def channel_organization(channel_id: int) -> int | None:
        if not 1 <= channel_id <= MAX_SNOWFLAKE:
            return None
        return await repository.organization_of_channel(channel_id)

    resolvers["discord_channel"] = channel_organization
    return resolvers
