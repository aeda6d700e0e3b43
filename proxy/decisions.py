"""Routing decisions: which mode a migration surface is in for an organization (and caller),
evaluated through the OpenFeature SDK with the flagd provider, and cached.

The evaluation contract (the flag write side, proxy/flags, targets exactly this):
- One string flag per surface; the flag key is the `proxy.modes.Surface` value. Variants
  `legacy`, `shadow`, `live`, `plugin` whose values equal their names; default `legacy`.
- A boolean flag `kill-switch`; true sends everything to legacy, with no mirroring. It is
  evaluated with an empty context.
- The evaluation context of a surface flag:
    targeting_key   a stable per-caller key: the SHA-256 hex digest of the bearer token for
                    HTTP, the Discord user id for interactions ("anonymous" without either).
                    Rules see it as {"var": "targetingKey"}; `fractional` hashes it by default.
    organization    the organization id as a STRING, e.g. {"in": [{"var": "organization"}, ["3", "7"]]}.
- Any failure to decide (provider not ready, evaluation error, a value that is not a mode)
  means legacy.

Flag source: flagd's FILE resolver on `settings.flags_path` (polled every
`settings.flag_poll_ms`), or, when FLAGD_HOST is set, in-process evaluation synced from
that flagd daemon. The file is created from the checked-in seed document on first start.

Cache: decisions are cached on what the flag reads, found by inspecting each flag's
targeting whenever the configuration changes: the organization alone for a
per-organization rule, organization and caller when the rule uses `fractional` or
`targetingKey`, nothing at all (no caching) when it reads the clock. The cache is bounded
(`settings.decision_cache_size`; emptied when full) and dropped on the provider's
configuration-changed, ready and error events. Failed decisions are never cached.

For the operator API: after it writes the flag file, it calls `await decisions.refresh()`,
which reloads the file at once (not waiting for the next poll) and drops the cache, so the
very next request is routed by the new flags. `decisions.invalidate()` only drops the cache.

Each flag whose configuration changed while the proxy runs is counted in
strangler_flag_changes_total{flag} (proxy/flag_changes.py), in the registry given.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from typing import Any

from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.contrib.provider.flagd.resolvers.process.connector.file_watcher import FileWatcher
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import EventDetails, ProviderEvent
from openfeature.provider import ProviderStatus
from openfeature.provider.no_op_provider import NoOpProvider
from prometheus_client import CollectorRegistry

from proxy.flag_changes import FlagChangeCounter
from proxy.flags.errors import DocumentError, FlagsFileError
from proxy.flags.flag_file import FlagFile
from proxy.modes import KILL_SWITCH_FLAG, Mode, Surface
from proxy.settings import ProxySettings

logger = logging.getLogger(__name__)

ANONYMOUS_CALLER = "anonymous"
READY_TIMEOUT_S = 5.0
# Each may mean the flags in force changed: cached decisions are dropped on every one.
_PROVIDER_EVENTS = (
    ProviderEvent.PROVIDER_CONFIGURATION_CHANGED,
    ProviderEvent.PROVIDER_READY,
    ProviderEvent.PROVIDER_ERROR,
    ProviderEvent.PROVIDER_STALE,
)


class DecisionReason(StrEnum):
    """The `reason` label of strangler_decisions_total."""

    FLAG = "flag"  # the surface's flag resolved to this mode
    KILL_SWITCH = "kill_switch"
    UNROUTED = "unrouted"  # not a migration surface: always legacy
    NO_ORGANIZATION = "no_organization"  # the organization could not be found
    PROVIDER_ERROR = "provider_error"  # not ready, flag missing, evaluation error
    UNKNOWN_VARIANT = "unknown_variant"  # the flag resolved to a value that is not a mode
    ERROR = "error"  # deciding failed unexpectedly (a bug): logged, and legacy serves


@dataclass(frozen=True, slots=True)
class Decision:
    mode: Mode
    reason: DecisionReason


LEGACY_UNROUTED = Decision(Mode.LEGACY, DecisionReason.UNROUTED)
LEGACY_KILL_SWITCH = Decision(Mode.LEGACY, DecisionReason.KILL_SWITCH)
LEGACY_NO_ORGANIZATION = Decision(Mode.LEGACY, DecisionReason.NO_ORGANIZATION)
LEGACY_ERROR = Decision(Mode.LEGACY, DecisionReason.ERROR)


class Keying(Enum):
    """What a flag's decision depends on, hence what its cache entries are keyed by."""

    ORGANIZATION = "organization"
    ORGANIZATION_AND_CALLER = "organization_and_caller"
    UNCACHEABLE = "uncacheable"


# Read per request: module names are found faster than members through their class.
_BY_CALLER = Keying.ORGANIZATION_AND_CALLER
_UNCACHEABLE = Keying.UNCACHEABLE


def keying_of(targeting: Any, evaluators: Mapping[str, Any] | None = None) -> Keying:
    """What a flagd targeting rule reads. `$ref`s are followed into `evaluators`."""
    reads = _variables(targeting, evaluators or {}, depth=0)
    if "$flagd.timestamp" in reads or None in reads:
        return Keying.UNCACHEABLE
    if "targetingKey" in reads:
        return Keying.ORGANIZATION_AND_CALLER
    return Keying.ORGANIZATION


def _variables(rule: Any, evaluators: Mapping[str, Any], depth: int) -> set[str | None]:
    """The context variables a JSON-logic rule reads; None stands for "cannot tell"."""
    if depth > 50:
        return {None}
    if isinstance(rule, list):
        return set().union(*(_variables(item, evaluators, depth + 1) for item in rule)) if rule else set()
    if not isinstance(rule, dict):
        return set()
    reads: set[str | None] = set()
    for operator, argument in rule.items():
        if operator == "$ref":
            reads |= (
                _variables(evaluators[argument], evaluators, depth + 1) if argument in evaluators else {None}
            )
        elif operator == "var":
            name = argument[0] if isinstance(argument, list) and argument else argument
            if name == "" or name == []:
                reads.add("targetingKey")  # the whole context, caller included
            elif isinstance(name, str) and name.startswith("$flagd") and name != "$flagd.flagKey":
                reads.add("$flagd.timestamp")
            else:
                reads.add(name if isinstance(name, str) else None)
        elif operator == "fractional":
            # Without a leading bucketing expression, fractional hashes the targeting key.
            explicit = isinstance(argument, list) and argument and not isinstance(argument[0], list)
            if not explicit:
                reads.add("targetingKey")
            reads |= _variables(argument, evaluators, depth + 1)
        else:
            reads |= _variables(argument, evaluators, depth + 1)
    return reads


class _QuietRepeats(logging.Filter):
    """The file resolver logs a traceback on every poll of a broken file (ten a second at
    100 ms); one per breakage is enough. Reset when the provider's state changes."""

    def __init__(self) -> None:
        super().__init__()
        self._last: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message == self._last:
            return False
        self._last = message
        return True

    def reset(self) -> None:
        self._last = None


PROVIDER_LOGGER = logging.getLogger("openfeature.contrib")


@dataclass
class _Cache:
    """Keying and cached decisions of one flag configuration, swapped as a whole."""

    keying: dict[str, Keying]
    decisions: dict[tuple[Surface, int, str | None], Decision] = field(default_factory=dict)
    kill_switch: bool | None = None


class DecisionEngine:
    def __init__(self, settings: ProxySettings, registry: CollectorRegistry | None = None) -> None:
        """`registry`: where to count flag changes (strangler_flag_changes_total); None: not counted."""
        self._settings = settings
        self._capacity = settings.decision_cache_size
        self._domain = f"strangler-proxy-{uuid.uuid4().hex}"
        self._provider: FlagdProvider | None = None
        self._client = api.get_client(self._domain)
        self._cache = _Cache(keying={})
        self._quiet_repeats = _QuietRepeats()
        self._flag_changes = FlagChangeCounter(registry) if registry is not None else None

    # -- lifecycle -------------------------------------------------------------------

    async def _ensure_flag_document(self) -> None:
        """Create the live document from the seed on first start, the store's own way
        (locked, validated); without one, every decision is legacy."""
        flag_file = FlagFile(self._settings.flags_path, self._settings.seed_flags_path)
        try:
            async with flag_file.locked():
                flag_file.create_from_seed()
        except (FlagsFileError, DocumentError) as exc:
            logger.warning("no usable flag document (%s): everything is served by legacy", exc)

    async def start(self) -> None:
        if self._settings.flagd_host:
            provider = FlagdProvider(
                resolver_type=ResolverType.IN_PROCESS,
                host=self._settings.flagd_host,
                port=self._settings.flagd_port,
            )
        else:
            await self._ensure_flag_document()
            provider = FlagdProvider(
                resolver_type=ResolverType.FILE,
                offline_flag_source_path=str(self._settings.flags_path.resolve()),
                deadline_ms=self._settings.flag_poll_ms,
            )
        self._provider = provider
        PROVIDER_LOGGER.addFilter(self._quiet_repeats)
        loop, settled = asyncio.get_running_loop(), asyncio.Event()

        def on_settled(_: EventDetails) -> None:
            loop.call_soon_threadsafe(settled.set)

        # Handlers go on after the provider: one added earlier would fire at once for the
        # no-op provider the domain starts with. One added late fires at once if it missed it.
        api.set_provider(provider, self._domain)
        for event in _PROVIDER_EVENTS:
            self._client.add_handler(event, self._on_provider_event)
        self._client.add_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, self._on_flags_changed)
        for event in (ProviderEvent.PROVIDER_READY, ProviderEvent.PROVIDER_ERROR):
            self._client.add_handler(event, on_settled)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(settled.wait(), READY_TIMEOUT_S)
        for event in (ProviderEvent.PROVIDER_READY, ProviderEvent.PROVIDER_ERROR):
            self._client.remove_handler(event, on_settled)
        if self.status is not ProviderStatus.READY:
            logger.warning(
                "flag provider is %s: every surface is served by legacy until it is ready", self.status
            )
        if self._flag_changes is not None:
            self._flag_changes.baseline(_loaded_flags(provider))
        self.invalidate()

    async def stop(self) -> None:
        for event in _PROVIDER_EVENTS:
            self._client.remove_handler(event, self._on_provider_event)
        self._client.remove_handler(ProviderEvent.PROVIDER_CONFIGURATION_CHANGED, self._on_flags_changed)
        api.set_provider(NoOpProvider(), self._domain)
        PROVIDER_LOGGER.removeFilter(self._quiet_repeats)

    @property
    def status(self) -> ProviderStatus:
        return self._client.get_provider_status()

    # -- the operator API's levers ---------------------------------------------------

    async def refresh(self) -> None:
        """Reload the flag source now (not at the next poll) and drop cached decisions."""
        connector = getattr(getattr(self._provider, "resolver", None), "connector", None)
        if isinstance(connector, FileWatcher):
            await asyncio.to_thread(_reload_now, connector)
        self.invalidate()

    def invalidate(self) -> None:
        """Drop every cached decision; the next requests evaluate the flags afresh."""
        self._cache = _Cache(keying=self._read_keying())

    # -- deciding --------------------------------------------------------------------

    def kill_switch_on(self) -> bool:
        cache = self._cache
        if cache.kill_switch is not None:
            return cache.kill_switch
        details = self._client.get_boolean_details(KILL_SWITCH_FLAG, True)
        if details.error_code is not None:
            return True  # cannot tell: legacy for everything, and ask again next time
        cache.kill_switch = bool(details.value)
        return cache.kill_switch

    def decide(self, surface: Surface, organization: int, caller: Callable[[], str]) -> Decision:
        """The mode of `surface` for this organization and caller (kill switch not included).
        `caller` gives the caller's key; it is asked only when the flag reads it."""
        cache = self._cache
        keying = cache.keying.get(surface, _BY_CALLER)
        if keying is _UNCACHEABLE:
            return self.evaluate(surface, organization, caller())
        who = caller() if keying is _BY_CALLER else None
        key = (surface, organization, who)
        decision = cache.decisions.get(key)
        if decision is None:
            decision = self.evaluate(surface, organization, who if who is not None else caller())
            if decision.reason is DecisionReason.FLAG:
                if len(cache.decisions) >= self._capacity:
                    cache.decisions.clear()
                cache.decisions[key] = decision
        return decision

    def evaluate(self, surface: Surface, organization: int, caller: str) -> Decision:
        """One evaluation through the provider, uncached (~50-110 µs)."""
        context = EvaluationContext(targeting_key=caller, attributes={"organization": str(organization)})
        details = self._client.get_string_details(surface.value, Mode.LEGACY.value, context)
        if details.error_code is not None:
            return Decision(Mode.LEGACY, DecisionReason.PROVIDER_ERROR)
        try:
            return Decision(Mode(details.value), DecisionReason.FLAG)
        except ValueError:
            return Decision(Mode.LEGACY, DecisionReason.UNKNOWN_VARIANT)

    # -- internals -------------------------------------------------------------------

    def _on_provider_event(self, details: EventDetails) -> None:
        # Runs on the SDK's event thread; swapping the cache object is atomic.
        self.invalidate()
        if details.error_code is None:
            self._quiet_repeats.reset()

    def _on_flags_changed(self, details: EventDetails) -> None:
        if self._flag_changes is not None:
            self._flag_changes.changed(details.flags_changed or (), _loaded_flags(self._provider))

    def _read_keying(self) -> dict[str, Keying]:
        targetings = _flag_targetings(self._provider)
        if targetings is None:
            return {}  # unknown: every flag keyed by organization and caller, always correct
        return {key: keying_of(targeting) for key, targeting in targetings.items()}


def _flag_targetings(provider: FlagdProvider | None) -> dict[str, Any] | None:
    """Each loaded flag's targeting rule (its `$ref`s already expanded by the flag store)."""
    flags = _loaded_flags(provider)
    return {key: flag.targeting for key, flag in flags.items()} if flags is not None else None


def _loaded_flags(provider: FlagdProvider | None) -> dict[str, Any] | None:
    """The flags the provider holds, by key (flagd core's Flag objects, comparable with ==).

    The provider exposes no public view of its flags; this reads the in-process
    evaluator's store and gives up (None) if its shape ever changes.
    """
    try:
        return dict(provider.resolver.evaluator._flag_store.flags)  # type: ignore[union-attr]
    except AttributeError:
        return None


def _reload_now(connector: FileWatcher) -> None:
    # Forget the last modification time so the file is read even when a write landed
    # within the same mtime tick, or renamed an older file into place.
    connector.last_modified = 0.0
    connector.safe_load_data()
