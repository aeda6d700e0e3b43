"""The per-request decision: a flag evaluated through the OpenFeature flagd provider vs the
proxy's cached decision, µs per call, in-process (issue 8, item 2).

    .venv/bin/python -m benchmarks --only decision

The real proxy.decisions.DecisionEngine on a flag file (FILE resolver, polled as the proxy
polls it): twenty organizations spread over the modes of tournament-api (an `in` rule) and
a percentage split on async-qualifier-api (`fractional`, so cached per organization and
caller). Each variant is timed in loops of ~0.1-0.2 s (timeit, GC off), the variants
interleaved, repeated.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
import timeit
from collections.abc import Callable
from pathlib import Path

from benchmarks.results import RunOptions, SuiteResult, Table, TargetCheck
from benchmarks.samples import Samples, paired
from proxy.decisions import DecisionEngine
from proxy.flags.document import FlagDocument, Split
from proxy.modes import Mode, Surface
from proxy.settings import ProxySettings

CACHED_LIMIT_US = 1.0
ORGANIZATION = 7
CALLER = hashlib.sha256(b"benchmark-token").hexdigest()
BASELINE = "provider, `in` rule"


def _caller() -> str:
    return CALLER


def flag_document() -> FlagDocument:
    modes = [Mode.LEGACY, Mode.SHADOW, Mode.LIVE, Mode.PLUGIN]
    return FlagDocument(
        {
            Surface.TOURNAMENT_API: {org: modes[org % 4] for org in range(1, 21)},
            Surface.ASYNC_QUALIFIER_API: {
                ORGANIZATION: Split(((Mode.SHADOW, 50), (Mode.LEGACY, 50))),
                3: Mode.PLUGIN,
            },
        }
    )


def variants(engine: DecisionEngine) -> dict[str, Callable[[], object]]:
    tournament, qualifier = Surface.TOURNAMENT_API, Surface.ASYNC_QUALIFIER_API
    cached = {(tournament, ORGANIZATION, None): engine.decide(tournament, ORGANIZATION, _caller)}
    key = (tournament, ORGANIZATION, None)

    def per_request() -> object:
        # What the proxy's hot path asks per request: the kill switch, then the decision.
        return engine.kill_switch_on() or engine.decide(tournament, ORGANIZATION, _caller)

    return {
        BASELINE: lambda: engine.evaluate(tournament, ORGANIZATION, CALLER),
        "provider, `fractional` split": lambda: engine.evaluate(qualifier, ORGANIZATION, CALLER),
        "cached, keyed by organization": lambda: engine.decide(tournament, ORGANIZATION, _caller),
        "cached, keyed by organization + caller": lambda: engine.decide(qualifier, ORGANIZATION, _caller),
        "cached, kill switch + decision (per request)": per_request,
        "a bare dict lookup (the floor)": lambda: cached.get(key),
    }


def calibrate(function: Callable[[], object], seconds: float) -> int:
    timer = timeit.Timer(function)
    number = 10
    while (elapsed := timer.timeit(number)) < seconds / 4:
        number *= 4 if elapsed < seconds / 40 else 2
    return max(1, int(number * seconds / max(elapsed, 1e-9)))


def time_variants(
    functions: dict[str, Callable[[], object]], samples: int, seconds: float
) -> dict[str, Samples]:
    numbers = {name: calibrate(function, seconds) for name, function in functions.items()}
    timings: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(samples):
        for name, function in functions.items():
            timings[name].append(timeit.Timer(function).timeit(numbers[name]) / numbers[name] * 1e6)
    return {name: Samples.of(values) for name, values in timings.items()}


async def _with_engine(flags: Path, samples: int, seconds: float) -> dict[str, Samples]:
    settings = ProxySettings(flags_path=flags, seed_flags_path=flags)  # type: ignore[call-arg]
    engine = DecisionEngine(settings)
    await engine.start()
    try:
        functions = variants(engine)
        for function in functions.values():
            function()  # fill the caches
        # The timing loops are synchronous: nothing else of the proxy runs meanwhile.
        return await asyncio.to_thread(time_variants, functions, samples, seconds)
    finally:
        await engine.stop()
        # The provider's file watcher stops on a thread of its own, after one more poll at
        # most: let it, before the flag file's directory goes away.
        await asyncio.sleep(2 * settings.flag_poll_ms / 1000)


def measure(options: RunOptions, log: Callable[[str], None] = print) -> SuiteResult:
    samples = max(3, 3 * options.repeats)
    seconds = 0.05 if options.quick else 0.15
    result = SuiteResult(
        "decision",
        "The per-request decision: flagd provider vs cached decision",
        f"In-process, `proxy.decisions.DecisionEngine` on a flag file (flagd FILE resolver); each "
        f"variant timed in loops of ~{seconds * 1000:.0f} ms (timeit, GC off), variants interleaved, "
        f"{samples} samples; µs per call, median (min–max).",
    )
    with tempfile.TemporaryDirectory(prefix="bench-decision-") as scratch:
        flags = Path(scratch) / "flags.json"
        flags.write_text(flag_document().render())
        os.utime(flags)
        timings = asyncio.run(_with_engine(flags, samples, seconds))
    baseline = timings[BASELINE]
    table = Table("µs per call", ["variant", "µs per call", "÷ provider (`in` rule)"])
    for name, timing in timings.items():
        table.add(name, timing.format(3), paired(timing.values, baseline.values).format(4, "×"))
        log(f"  {name}: {timing.median:.3f} µs")
    result.tables.append(table)
    cached = timings["cached, kill switch + decision (per request)"]
    result.targets.append(
        TargetCheck(
            "cached decision per request (kill switch + decision)",
            f"≤ {CACHED_LIMIT_US:.0f} µs",
            f"{cached.median:.2f} µs (provider {baseline.median:.0f} µs)",
            cached.median <= CACHED_LIMIT_US,
        )
    )
    return result
