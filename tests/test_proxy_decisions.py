"""proxy.decisions: the decision engine over a real flag file through the OpenFeature flagd
provider. What a flag reads decides what its cache is keyed by; `refresh()` puts a written
file in force at once; every failure to decide means legacy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from proxy.decisions import DecisionEngine, DecisionReason, Keying, keying_of
from proxy.modes import Mode, Surface
from proxy.settings import ProxySettings
from tests.proxy_support import flag_document, write_flags

TOURNAMENTS = Surface.TOURNAMENT_API


@pytest.mark.parametrize(
    ("targeting", "keying"),
    [
        ({}, Keying.ORGANIZATION),
        ({"if": [{"in": [{"var": "organization"}, ["1", "2"]]}, "plugin", None]}, Keying.ORGANIZATION),
        ({"if": [{"==": [{"var": ["organization", ""]}, "1"]}, "shadow", None]}, Keying.ORGANIZATION),
        ({"fractional": [["legacy", 50], ["plugin", 50]]}, Keying.ORGANIZATION_AND_CALLER),
        (
            {
                "if": [
                    {"==": [{"var": "organization"}, "1"]},
                    {"fractional": [["legacy", 90], ["live", 10]]},
                    None,
                ]
            },
            Keying.ORGANIZATION_AND_CALLER,
        ),
        ({"fractional": [{"var": "organization"}, ["legacy", 50], ["plugin", 50]]}, Keying.ORGANIZATION),
        (
            {"if": [{"starts_with": [{"var": "targetingKey"}, "ab"]}, "plugin", None]},
            Keying.ORGANIZATION_AND_CALLER,
        ),
        ({"if": [{">": [{"var": "$flagd.timestamp"}, 1_900_000_000]}, "plugin", None]}, Keying.UNCACHEABLE),
        (
            {"if": [{"==": [{"var": "$flagd.flagKey"}, "tournament-api"]}, "plugin", None]},
            Keying.ORGANIZATION,
        ),
        (
            {"if": [{"!!": [{"var": ""}]}, "plugin", None]},
            Keying.ORGANIZATION_AND_CALLER,
        ),  # the whole context
        ({"if": [{"var": [{"cat": ["organ", "ization"]}]}, "plugin", None]}, Keying.UNCACHEABLE),  # computed
    ],
)
def test_the_cache_is_keyed_on_what_the_rule_reads(targeting: dict, keying: Keying) -> None:
    assert keying_of(targeting) is keying


def test_evaluator_references_are_followed() -> None:
    evaluators = {"split": {"fractional": [["legacy", 50], ["plugin", 50]]}}
    assert keying_of({"$ref": "split"}, evaluators) is Keying.ORGANIZATION_AND_CALLER
    assert keying_of({"$ref": "missing"}, evaluators) is Keying.UNCACHEABLE


def _engine(flags_path: Path, *, poll_ms: int = 60_000, seed: Path | None = None) -> DecisionEngine:
    # A poll of a minute: within a test, only refresh() can bring a new file into force.
    settings = ProxySettings(
        flags_path=flags_path,
        seed_flags_path=seed or flags_path.with_name("no-seed.json"),
        flag_poll_ms=poll_ms,
        decision_cache_size=1000,
    )
    return DecisionEngine(settings)


def _run(engine: DecisionEngine, body: Callable[[DecisionEngine], Awaitable[None]]) -> None:
    async def main() -> None:
        await engine.start()
        try:
            await body(engine)
        finally:
            await engine.stop()

    asyncio.run(main())


def test_refresh_puts_a_written_file_in_force_at_once(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document({TOURNAMENTS: {1: "shadow"}}))

    async def body(engine: DecisionEngine) -> None:
        assert engine.decide(TOURNAMENTS, 1, lambda: "caller").mode is Mode.SHADOW
        assert engine.decide(TOURNAMENTS, 2, lambda: "caller").mode is Mode.LEGACY
        write_flags(flags, flag_document({TOURNAMENTS: {1: "live", 2: "plugin"}}))
        started = time.perf_counter()
        await engine.refresh()
        elapsed = time.perf_counter() - started
        assert engine.decide(TOURNAMENTS, 1, lambda: "caller").mode is Mode.LIVE
        assert engine.decide(TOURNAMENTS, 2, lambda: "caller").mode is Mode.PLUGIN
        print(f"\nrefresh() after a write: {elapsed * 1000:.1f} ms until the next decision is the new one")

    _run(_engine(flags), body)


def test_a_cached_decision_costs_microseconds(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document({TOURNAMENTS: {1: "plugin", 2: [("legacy", 50), ("plugin", 50)]}}))

    async def body(engine: DecisionEngine) -> None:
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            engine.evaluate(TOURNAMENTS, 1, "caller")
        evaluated = (time.perf_counter() - started) / rounds
        started = time.perf_counter()
        for _ in range(rounds):
            engine.evaluate(TOURNAMENTS, 2, "caller")
        split = (time.perf_counter() - started) / rounds
        engine.decide(TOURNAMENTS, 1, lambda: "caller")
        started = time.perf_counter()
        for _ in range(rounds):
            engine.decide(TOURNAMENTS, 1, lambda: "caller")
        cached = (time.perf_counter() - started) / rounds
        print(
            f"\nper decision: provider {evaluated * 1e6:.1f} µs (`==` rule), "
            f"{split * 1e6:.1f} µs (fractional); cached {cached * 1e6:.2f} µs"
        )
        assert engine.decide(TOURNAMENTS, 1, lambda: "caller").reason is DecisionReason.FLAG

    _run(_engine(flags), body)


def test_a_split_stays_sticky_per_caller_and_is_cached_per_caller(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document({TOURNAMENTS: {2: [("legacy", 50), ("plugin", 50)]}}))

    async def body(engine: DecisionEngine) -> None:
        first = {
            caller: engine.decide(TOURNAMENTS, 2, lambda c=caller: f"caller-{c}").mode
            for caller in range(200)
        }
        again = {
            caller: engine.decide(TOURNAMENTS, 2, lambda c=caller: f"caller-{c}").mode
            for caller in range(200)
        }
        uncached = {caller: engine.evaluate(TOURNAMENTS, 2, f"caller-{caller}").mode for caller in range(200)}
        assert first == again == uncached
        assert 60 < sum(mode is Mode.PLUGIN for mode in first.values()) < 140

    _run(_engine(flags), body)


def test_the_kill_switch_and_its_refresh(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    write_flags(flags, flag_document({TOURNAMENTS: {1: "plugin"}}))

    async def body(engine: DecisionEngine) -> None:
        assert engine.kill_switch_on() is False
        write_flags(flags, flag_document({TOURNAMENTS: {1: "plugin"}}, kill_switch=True))
        await engine.refresh()
        assert engine.kill_switch_on() is True

    _run(_engine(flags), body)


def test_without_flags_every_decision_is_legacy(tmp_path: Path) -> None:
    missing = tmp_path / "absent" / "flags.json"

    async def body(engine: DecisionEngine) -> None:
        decision = engine.decide(TOURNAMENTS, 1, lambda: "caller")
        assert decision.mode is Mode.LEGACY and decision.reason is DecisionReason.PROVIDER_ERROR
        assert engine.kill_switch_on() is True

    _run(_engine(missing, poll_ms=1000), body)


def test_a_flag_missing_from_the_document_means_legacy(tmp_path: Path) -> None:
    flags = tmp_path / "flags.json"
    document = flag_document({TOURNAMENTS: {1: "plugin"}})
    del document["flags"][TOURNAMENTS.value]
    write_flags(flags, document)

    async def body(engine: DecisionEngine) -> None:
        decision = engine.decide(TOURNAMENTS, 1, lambda: "caller")
        assert decision.mode is Mode.LEGACY and decision.reason is DecisionReason.PROVIDER_ERROR
        assert engine.decide(Surface.ASYNC_QUALIFIER_API, 1, lambda: "caller").reason is DecisionReason.FLAG

    _run(_engine(flags), body)


def test_the_live_file_is_created_from_the_seed_on_first_start(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    write_flags(seed, flag_document({TOURNAMENTS: {9: "live"}}))
    live = tmp_path / "var" / "flags.json"

    async def body(engine: DecisionEngine) -> None:
        assert engine.decide(TOURNAMENTS, 9, lambda: "caller").mode is Mode.LIVE

    _run(_engine(live, seed=seed), body)
    assert live.read_text() == seed.read_text()
