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
qualifier's organization. Bodies: `legacy_app.api.schemas.async_qualifiers`; rules: the
services in `legacy_app.application.services.async_qualifiers`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status

from core.auth import CurrentUser
from core.ownership import OwnershipResolvers
from legacy_app.api.schemas.async_qualifiers import (
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
from legacy_app.api.schemas.field_types import MAX_ID, OrganizationQuery, only_valid_ids
from legacy_app.application.repositories.async_qualifier_repository import AsyncQualifierRepository
from legacy_app.application.services.async_qualifiers import AsyncQualifierServices
from legacy_app.application.services.async_qualifiers.qualifier_service import PoolSummary
from legacy_app.application.services.async_qualifiers.review_service import MAX_QUEUE_LIMIT
from legacy_app.models.async_tournament import RaceStatus, ReviewStatus

router = APIRouter(prefix="/async-qualifiers", tags=["async-qualifiers"])

OrgId = Annotated[int, Path(ge=1, le=MAX_ID, description="Organization id")]
QualifierId = Annotated[int, Path(ge=1, le=MAX_ID, description="Async qualifier id")]
PoolId = Annotated[int, Path(ge=1, le=MAX_ID, description="Pool id")]
RaceId = Annotated[int, Path(ge=1, le=MAX_ID, description="Race id")]


def _services(request: Request) -> AsyncQualifierServices:
    """One set per app, built on first use around the app's event bus."""
    services = getattr(request.app.state, "async_qualifier_services", None)
    if services is None:
        services = AsyncQualifierServices.create(request.app.state.events)
        request.app.state.async_qualifier_services = services
    return services


Services = Annotated[AsyncQualifierServices, Depends(_services)]


# -- qualifiers -----------------------------------------------------------------------------


@router.get("/organizations/{org}")
async def list_qualifiers(org: OrgId, user: CurrentUser, svc: Services) -> list[QualifierOut]:
    return [QualifierOut.of(q) for q in await svc.qualifiers.list_for_organization(user, org)]


@router.post("/organizations/{org}", status_code=status.HTTP_201_CREATED)
async def create_qualifier(
    org: OrgId, body: QualifierCreate, user: CurrentUser, svc: Services
) -> QualifierOut:
    return QualifierOut.of(await svc.qualifiers.create(user, org, **body.model_dump()))


@router.get("/{qid}")
async def get_qualifier(
    qid: QualifierId, user: CurrentUser, svc: Services, organization_id: OrganizationQuery = None
) -> QualifierDetailOut:
    qualifier = await svc.qualifiers.get(user, qid, organization_id)
    return QualifierDetailOut.of_detail(await svc.qualifiers.detail(user, qualifier))


@router.patch("/{qid}")
async def update_qualifier(
    qid: QualifierId,
    body: QualifierUpdate,
    user: CurrentUser,
    svc: Services,
    organization_id: OrganizationQuery = None,
) -> QualifierOut:
    qualifier = await svc.qualifiers.get(user, qid, organization_id)
    return QualifierOut.of(await svc.qualifiers.update(user, qualifier, body.changes()))


@router.delete("/{qid}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_qualifier(
    qid: QualifierId, user: CurrentUser, svc: Services, organization_id: OrganizationQuery = None
) -> Response:
    qualifier = await svc.qualifiers.get(user, qid, organization_id)
    await svc.qualifiers.delete(user, qualifier)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{qid}/pools", status_code=status.HTTP_201_CREATED)
async def create_pool(qid: QualifierId, body: PoolCreate, user: CurrentUser, svc: Services) -> PoolOut:
    qualifier = await svc.qualifiers.get(user, qid)
    pool = await svc.qualifiers.create_pool(user, qualifier, body.name, body.description)
    return PoolOut.of(PoolSummary(pool, permalink_count=0))


@router.post("/pools/{pid}/permalinks", status_code=status.HTTP_201_CREATED)
async def create_permalink(
    pid: PoolId, body: PermalinkCreate, user: CurrentUser, svc: Services
) -> PermalinkOut:
    pool = await svc.qualifiers.get_pool(user, pid)
    return PermalinkOut.of(await svc.qualifiers.create_permalink(user, pool, body.url, body.notes))


# -- races ----------------------------------------------------------------------------------


@router.post("/{qid}/races", status_code=status.HTTP_201_CREATED)
async def open_race(qid: QualifierId, body: RaceCreate, user: CurrentUser, svc: Services) -> RaceOut:
    qualifier = await svc.qualifiers.get(user, qid)
    race = await svc.races.open_race(user, qualifier, pool_id=body.pool_id, permalink_id=body.permalink_id)
    return RaceOut.of(race)


@router.post("/races/{rid}/start")
async def start_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
    return RaceOut.of(await svc.races.start_race(user, await svc.races.find_race(user, rid)))


@router.post("/races/{rid}/finish")
async def finish_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
    return RaceOut.of(await svc.races.finish_race(user, await svc.races.find_race(user, rid)))


@router.post("/races/{rid}/forfeit")
async def forfeit_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
    return RaceOut.of(await svc.races.forfeit_race(user, await svc.races.find_race(user, rid)))


@router.post("/races/{rid}/reattempt")
async def reattempt_race(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
    return RaceOut.of(await svc.races.reattempt_race(user, await svc.races.find_race(user, rid)))


@router.patch("/races/{rid}/submission")
async def update_submission(rid: RaceId, body: SubmissionUpdate, user: CurrentUser, svc: Services) -> RaceOut:
    race = await svc.races.find_race(user, rid)
    return RaceOut.of(await svc.races.update_submission(user, race, **body.model_dump()))


# -- scoring ----------------------------------------------------------------------------------


@router.get("/{qid}/leaderboard")
async def leaderboard(qid: QualifierId, user: CurrentUser, svc: Services) -> LeaderboardOut:
    qualifier = await svc.qualifiers.get(user, qid)
    return LeaderboardOut.of(await svc.leaderboards.leaderboard(user, qualifier))


@router.post("/{qid}/recalculate")
async def recalculate(qid: QualifierId, user: CurrentUser, svc: Services) -> RecalculateOut:
    qualifier = await svc.qualifiers.get(user, qid)
    scored = await svc.scoring.recalculate(user, qualifier)
    return RecalculateOut(qualifier_id=qualifier.id, permalinks_scored=scored)


# -- review -----------------------------------------------------------------------------------


@router.get("/{qid}/review-queue")
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


@router.get("/races/{rid}/review")
async def get_review(rid: RaceId, user: CurrentUser, svc: Services) -> RaceOut:
    return RaceOut.of(await svc.reviews.race_for_review(user, rid))


@router.patch("/races/{rid}/review")
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


# -- ownership (for the proxy) ------------------------------------------------------------------


def register_ownership(resolvers: OwnershipResolvers) -> None:
    """Kinds `async_qualifier`, `pool`, `permalink`, `race` (entity id) and `discord_channel`
    (a channel id → the qualifier linked to it) → organization id (None if unknown)."""
    repository = AsyncQualifierRepository()
    lookups = {
        "async_qualifier": repository.organization_of_qualifier,
        "pool": repository.organization_of_pool,
        "permalink": repository.organization_of_permalink,
        "race": repository.organization_of_race,
    }
    for kind, lookup in lookups.items():
        resolvers.register(kind, only_valid_ids(lookup))

    async def channel_organization(channel_id: int) -> int | None:
        if not 1 <= channel_id <= MAX_SNOWFLAKE:
            return None
        return await repository.organization_of_channel(channel_id)

    resolvers.register("discord_channel", channel_organization)
