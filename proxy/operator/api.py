"""The operator API, mounted by the proxy under `/_strangler` (routes under `/api`; the
console, proxy.operator.web_console, at `/`).

Every `/api` route wants `Authorization: Bearer <STRANGLER_ADMIN_TOKEN>` (compared in constant
time; 401 otherwise). Writes go through the one write path (proxy.flags.store) and, once a
write changed something, call the decision engine's hooks so this replica stops using
cached decisions at once; other replicas learn through the flag source.

    GET  /api/status      ?organization_id=N (repeatable): every flag x organization, kill switch
    GET  /api/document    the live flag document, as flagd reads it
    PUT  /api/document    {document: object|string, reason}: replace it (validated)
    POST /api/flip        {flag, organization_id, mode, reason, force?}; mode may be a split
                          such as "shadow=50,legacy=50"
    POST /api/rollback    {organization_id} or {all: true}, reason?: every flag back to legacy
    POST /api/kill-switch {on, reason?}
    GET  /api/audit       ?limit=N (default 50, newest first)
    GET  /api/mismatches  ?limit=N (default 20) &flag=F &organization_id=N: the latest shadow
                          mismatches, newest first, each with both answers and the diff
    GET  /api/shadow      mirrors in flight and the noise learned per route
    GET  /api/shadow/latency  ?flag=F&organization_id=N[&kind=read|dry_run]: the paired
                          latency samples (legacy_s, plugin_s) the gate reads
    GET  /api/gate        ?flag=F&organization_id=N: the cutover gate's verdict table
                          (proxy.gate.verdict.GateEvaluation.to_json)

A flip to live or plugin (or a split with either) is judged by the cutover gate first: a
verdict other than pass is refused with 409 `{"detail", "gate": <the verdict table>}`
unless `force` is true, in which case the audit log keeps the verdict and the table's
summary after the operator's reason.

Errors are JSON `{"detail": ...}`: 400 for a refused change or document, 401 without the
token, 409 when the live file is broken or the gate refuses, 422 for a malformed body,
503 when the proxy's database (the audit log) cannot be used — nothing is written then.
"""

from __future__ import annotations

import hmac
import inspect
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from tortoise.exceptions import BaseORMException

from proxy.database import DatabaseUnavailable, ProxyDatabase
from proxy.flags.audit import DEFAULT_LIMIT, MAX_LIMIT
from proxy.flags.document import parse_assignment, parse_surface
from proxy.flags.errors import FlagsError, GateRefused, InvalidChange
from proxy.flags.gate import Gate, needs_gate, not_checked
from proxy.flags.store import Applied, FlagStore
from proxy.gate.evaluation import CutoverGate, decided, forced_reason
from proxy.gate.verdict import Verdict
from proxy.operator.status import status_view
from proxy.operator.web_console import install_console
from proxy.settings import ProxySettings
from proxy.shadow.latency import PairKind
from proxy.shadow.records import DEFAULT_LIMIT as MISMATCHES_DEFAULT
from proxy.shadow.records import MAX_LIMIT as MISMATCHES_MAX
from proxy.shadow.records import MismatchLog

if TYPE_CHECKING:
    from proxy.shadow.mirror import ShadowTraffic

log = logging.getLogger(__name__)


class DecisionHooks(Protocol):
    """What the operator API calls on the decision engine (proxy.decisions.DecisionEngine)
    after a write that changed something: `refresh()` if present, else `invalidate()`;
    both are looked up with getattr, so any object (or None) will do."""

    def invalidate(self) -> None: ...

    async def refresh(self) -> None: ...


class FlipRequest(BaseModel):
    flag: str = Field(examples=["tournament-api"])
    organization_id: int
    mode: str = Field(description='a mode, or a split such as "shadow=50,legacy=50"', examples=["shadow"])
    reason: str
    force: bool = Field(False, description="move although the cutover gate refuses (audited)")


class RollbackRequest(BaseModel):
    organization_id: int | None = None
    all: bool = False
    reason: str = "rollback"


class KillSwitchRequest(BaseModel):
    on: bool
    reason: str | None = None


class DocumentRequest(BaseModel):
    document: dict[str, Any] | str
    reason: str


def create_operator_api(
    settings: ProxySettings,
    decisions: object | None = None,
    *,
    database: ProxyDatabase | None = None,
    gate: Gate = not_checked,
    shadow: ShadowTraffic | None = None,
    cutover: CutoverGate | None = None,
) -> FastAPI:
    """The operator API. Pass `database` when the proxy already holds its records'
    connection (there is one per process); otherwise this app opens its own on first use
    and closes it in its lifespan (which a mounting app must run, or not: first use opens).
    `shadow` is the proxy's mirror, whose in-memory state (noise, latency pairs) it shows.
    `cutover` is the proxy's cutover gate (proxy.gate); without it moves ask `gate`."""
    database = database or ProxyDatabase(settings.database_url)
    store = FlagStore.from_settings(settings, database, cutover or gate)
    mismatches = MismatchLog(database, settings.shadow_mismatch_retention)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await database.close()

    api = FastAPI(
        title="strangler operator API",
        docs_url="/api/docs",
        openapi_url="/api/openapi.json",
        redoc_url=None,
        lifespan=lifespan,
    )
    _install_error_handlers(api)
    api.include_router(_routes(settings, store, decisions, cutover))
    api.include_router(_shadow_routes(settings, mismatches, shadow))
    install_console(api)  # the console at /_strangler/ (proxy.operator.web_console)
    return api


# Module level: the route signatures' annotations are resolved in this module's namespace.
bearer = HTTPBearer(auto_error=False)
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def _admin_check(settings: ProxySettings) -> Callable[[Credentials], None]:
    def require_admin(credentials: Credentials) -> None:
        expected = settings.admin_token.encode()
        given = credentials.credentials.encode() if credentials else b""
        # An empty configured token disables the API rather than matching an empty header.
        if not expected or not hmac.compare_digest(given, expected):
            raise HTTPException(
                401, "a valid operator bearer token is required", {"WWW-Authenticate": "Bearer"}
            )

    return require_admin


def _routes(
    settings: ProxySettings, store: FlagStore, decisions: object | None, cutover: CutoverGate | None
) -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(_admin_check(settings))])

    async def written(applied: Applied) -> dict[str, Any]:
        if applied.changes:
            await _notify(decisions)
        return {
            "changed": bool(applied.changes),
            "changes": [
                {"flag": c.flag, "organization_id": c.organization_id, "from": c.before, "to": c.after}
                for c in applied.changes
            ],
            "gate_verdict": applied.gate_verdict.value if applied.gate_verdict else None,
            "forced": applied.forced,
        }

    @router.get("/status")
    async def status(organization_id: Annotated[list[int] | None, Query()] = None) -> dict[str, Any]:
        return status_view(await store.read(), organization_id or []).to_json()

    @router.get("/document")
    async def document() -> JSONResponse:
        await store.read()  # creates it from the seed on first use, and refuses a broken one
        return JSONResponse(json.loads(store.file.read_text()))

    @router.put("/document")
    async def replace_document(body: DocumentRequest, request: Request) -> dict[str, Any]:
        text = body.document if isinstance(body.document, str) else json.dumps(body.document)
        return await written(await store.apply_document(text, actor=_actor(request), reason=body.reason))

    @router.post("/flip", response_model=None)
    async def flip(body: FlipRequest, request: Request) -> dict[str, Any] | JSONResponse:
        surface, assignment = parse_surface(body.flag), parse_assignment(body.mode)
        if cutover is None or not needs_gate(assignment):
            applied = await store.flip(
                surface,
                body.organization_id,
                assignment,
                actor=_actor(request),
                reason=body.reason,
                force=body.force,
            )
            return await written(applied)
        if body.organization_id <= 0:
            raise InvalidChange(f"organization id must be a positive integer, not {body.organization_id}")
        if not body.reason.strip():
            raise InvalidChange("a reason is required")
        evaluation = await cutover.evaluate(surface, body.organization_id)
        reason = body.reason
        if evaluation.verdict is not Verdict.PASS:
            if not body.force:
                refused = GateRefused(
                    f"the cutover {evaluation.summary()}; refusing to move {surface.value} of organization "
                    f"{body.organization_id} to {assignment} (force it with a reason if you must)"
                )
                return JSONResponse({"detail": refused.detail, "gate": evaluation.to_json()}, status_code=409)
            reason = forced_reason(reason, evaluation)
        gated = FlagStore(store.file, store.audit, decided(evaluation))
        applied = await gated.flip(
            surface, body.organization_id, assignment, actor=_actor(request), reason=reason, force=body.force
        )
        return {**await written(applied), "gate": evaluation.to_json()}

    @router.get("/gate")
    async def gate_verdict(flag: str, organization_id: int) -> dict[str, Any]:
        surface = parse_surface(flag)
        if organization_id <= 0:
            raise InvalidChange(f"organization id must be a positive integer, not {organization_id}")
        if cutover is None:
            raise InvalidChange("this operator API runs without the proxy: no cutover gate to ask")
        return (await cutover.evaluate(surface, organization_id)).to_json()

    @router.post("/rollback")
    async def rollback(body: RollbackRequest, request: Request) -> dict[str, Any]:
        if body.all == (body.organization_id is not None):
            raise InvalidChange('give either "organization_id" or "all": true')
        return await written(
            await store.rollback(body.organization_id, actor=_actor(request), reason=body.reason)
        )

    @router.post("/kill-switch")
    async def kill_switch(body: KillSwitchRequest, request: Request) -> dict[str, Any]:
        reason = body.reason or f"kill switch {'on' if body.on else 'off'}"
        return await written(await store.set_kill_switch(body.on, actor=_actor(request), reason=reason))

    @router.get("/audit")
    async def audit(limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT) -> dict[str, Any]:
        return {"entries": [entry.to_json() for entry in await store.audit.recent(limit)]}

    return router


def _shadow_routes(
    settings: ProxySettings, mismatches: MismatchLog, shadow: ShadowTraffic | None
) -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(_admin_check(settings))])

    @router.get("/mismatches")
    async def recent_mismatches(
        limit: Annotated[int, Query(ge=1, le=MISMATCHES_MAX)] = MISMATCHES_DEFAULT,
        flag: str | None = None,
        organization_id: int | None = None,
    ) -> dict[str, Any]:
        surface = parse_surface(flag).value if flag is not None else None
        found = await mismatches.recent(limit, flag=surface, organization_id=organization_id)
        return {"mismatches": [mismatch.to_json() for mismatch in found]}

    @router.get("/shadow")
    async def shadow_state() -> dict[str, Any]:
        if shadow is None:
            return {"enabled": False}
        return {
            "enabled": True,
            "in_flight": shadow.in_flight,
            "max_in_flight": shadow.limits.max_in_flight,
            "noise": shadow.noise.snapshot(),
            "latency_samples": [
                {
                    "flag": surface.value,
                    "organization_id": organization,
                    "pairs": len(shadow.latencies.pairs(surface, organization)),
                }
                for surface, organization in shadow.latencies.keys()
            ],
        }

    @router.get("/shadow/latency")
    async def latency_pairs(flag: str, organization_id: int, kind: PairKind | None = None) -> dict[str, Any]:
        surface = parse_surface(flag)
        pairs = shadow.latencies.pairs(surface, organization_id, kind=kind) if shadow is not None else []
        return {
            "flag": surface.value,
            "organization_id": organization_id,
            "pairs": [
                {"legacy_s": p.legacy_s, "plugin_s": p.plugin_s, "kind": p.kind.value, "at": p.at}
                for p in pairs
            ],
        }

    return router


def _actor(request: Request) -> str:
    return f"api@{request.client.host}" if request.client else "api"


async def _notify(decisions: object | None) -> None:
    """`refresh()` when the engine has it (reloads the flags now and drops the cache),
    else `invalidate()` (drops the cache; the provider's poll brings the new flags)."""
    refresh = getattr(decisions, "refresh", None)
    invalidate = getattr(decisions, "invalidate", None)
    if callable(refresh):
        result = refresh()
        if inspect.isawaitable(result):
            await result
    elif callable(invalidate):
        invalidate()


def _install_error_handlers(api: FastAPI) -> None:
    async def flags_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, FlagsError)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    async def validation_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        # Only what a client can act on; `input` may echo a whole document back.
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    async def database_unavailable(_: Request, exc: Exception) -> JSONResponse:
        log.error("operator API: %s", exc)
        detail = exc.detail if isinstance(exc, DatabaseUnavailable) else "the proxy's database is not usable"
        return JSONResponse({"detail": detail}, status_code=503)

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("operator API error", exc_info=exc)
        return JSONResponse({"detail": "internal error; see the proxy's log"}, status_code=500)

    api.add_exception_handler(FlagsError, flags_error)
    api.add_exception_handler(RequestValidationError, validation_error)
    api.add_exception_handler(DatabaseUnavailable, database_unavailable)
    api.add_exception_handler(BaseORMException, database_unavailable)
    api.add_exception_handler(Exception, unexpected)
