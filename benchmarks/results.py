"""What a benchmark suite is given (RunOptions) and what it hands back (SuiteResult):
tables of figures, and its figures checked against the targets of issue 8."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class RunOptions:
    """How long and how often to measure. `full()` and `quick_preset()` are the presets;
    the smoke test shrinks them further."""

    quick: bool = False
    duration_s: int = 3  # one wrk run
    repeats: int = 3  # every comparison, interleaved
    concurrencies: tuple[int, ...] = (1, 16, 64)
    routes: tuple[str, ...] = ("fast", "5 ms")
    pinned: bool = True  # measure with the proxy pinned to its own core
    unpinned: bool = True  # and again with the OS placing every process
    unpinned_concurrencies: tuple[int, ...] = (16,)
    granian: bool = False  # also the proxy served by granian
    flips: int = 10  # each way, per method
    startup_runs: int = 5
    load_s: int = 8  # the memory suite's load phase
    soak_s: int = 0  # 0: no soak
    soak_interval_s: int = 10

    @classmethod
    def full(cls, **overrides: object) -> RunOptions:
        return cls(**overrides)  # type: ignore[arg-type]

    @classmethod
    def quick_preset(cls, **overrides: object) -> RunOptions:
        values: dict[str, object] = {
            "quick": True,
            "duration_s": 1,
            "repeats": 1,
            "concurrencies": (1, 16, 64),
            "unpinned": False,  # the full run has it
            "flips": 2,
            "startup_runs": 2,
            "load_s": 3,
        }
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]


class Verdict(StrEnum):
    MET = "yes"
    MISSED = "**no**"
    UNKNOWN = "n/a"

    @classmethod
    def of(cls, met: bool | None) -> Verdict:
        return cls.UNKNOWN if met is None else cls.MET if met else cls.MISSED


@dataclass(frozen=True)
class TargetCheck:
    """One target of issue 8 against the figure measured for it."""

    figure: str
    target: str
    measured: str
    met: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> Verdict:
        return Verdict.of(self.met)


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    note: str = ""

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])


@dataclass
class SuiteResult:
    name: str
    title: str
    method: str  # how it was measured, one short paragraph
    tables: list[Table] = field(default_factory=list)
    targets: list[TargetCheck] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0


def load_average() -> tuple[float, float, float]:
    with open("/proc/loadavg") as file:
        one, five, fifteen = file.read().split()[:3]
    return float(one), float(five), float(fifteen)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.monotonic()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started
