"""Noise learned from legacy compared with itself, the way Diffy does it.

Some fields differ between two correct answers to the same request: a timestamp taken
from the clock, an id drawn from a PostgreSQL sequence a rolled-back dry run has
advanced, a random token. The route map's ignore rules name the ones known in advance;
the rest are learned here.

The algorithm:
1. Now and then a compared request is also sent to legacy a second time (a read again;
   a write as a second legacy dry run). Which requests: the first `warmup` comparisons of
   every route (method + template, or Discord command), then one in `probe_every`.
2. The two legacy answers are diffed with the comparator's own walk (nothing ignored).
   Only scalar values that changed in place count (`Difference.is_value_change`): a
   missing key, an extra element or a shorter list is structure, which a correct app
   does not vary, and learning it would hide real differences wholesale. A difference in
   status or content type means legacy itself was unstable on that request (a concurrent
   write in between): that request is not judged at all.
3. A field that legacy varied on THIS request is never held against plugin on this
   request. A field becomes standing noise for its route once legacy has varied it in
   `min_hits` probes; standing noise is ignored on every later comparison of the route.
   Fields are kept with array indexes as [*] (`$.entries[*].score`): a field varies in
   every element or in none.
4. The store is bounded: at most `max_routes` routes (least recently compared dropped)
   and `max_fields` fields per route (further ones still count for the request that
   showed them, but are not kept).

A read probe goes out at the same moment as the mirror, so a concurrent write is
unlikely to land between the two legacy answers; if one does and changes a scalar, that
field is noise for this request only, unless it happens `min_hits` times.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from proxy.shadow.comparison import Difference


@dataclass(frozen=True)
class NoiseSettings:
    warmup: int = 5
    probe_every: int = 20  # 1: every comparison; 0: only the warm-up
    min_hits: int = 2
    max_routes: int = 1000
    max_fields: int = 100


@dataclass
class _RouteNoise:
    comparisons: int = 0
    probes: int = 0
    hits: dict[str, int] = field(default_factory=dict)
    standing: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Probe:
    """What one legacy-vs-legacy probe showed."""

    fields: frozenset[str]  # fields legacy varied: not held against plugin on this request
    unstable: bool  # legacy's two answers differ in status or content type: do not judge


class NoiseLearner:
    def __init__(self, settings: NoiseSettings | None = None) -> None:
        self.settings = settings or NoiseSettings()
        self._routes: OrderedDict[str, _RouteNoise] = OrderedDict()

    def should_probe(self, route: str) -> bool:
        """Count one comparison of `route`; True when it should be probed."""
        noise = self._route(route)
        noise.comparisons += 1
        every = self.settings.probe_every
        return noise.comparisons <= self.settings.warmup or (every > 0 and noise.comparisons % every == 0)

    def learn(self, route: str, differences: Iterable[Difference]) -> Probe:
        """Take in the differences between two legacy answers to one request."""
        noise = self._route(route)
        noise.probes += 1
        varied: set[str] = set()
        unstable = False
        for difference in differences:
            if not difference.kind.in_body:
                unstable = True
            elif difference.is_value_change:
                varied.add(difference.field)
        for name in varied:
            if name in noise.hits or len(noise.hits) < self.settings.max_fields:
                noise.hits[name] = noise.hits.get(name, 0) + 1
        noise.standing = frozenset(n for n, hits in noise.hits.items() if hits >= self.settings.min_hits)
        return Probe(frozenset(varied), unstable)

    def noise(self, route: str) -> frozenset[str]:
        """The standing noise of `route`."""
        noise = self._routes.get(route)
        return noise.standing if noise is not None else frozenset()

    def snapshot(self) -> dict[str, dict[str, object]]:
        """Every route's probes and the fields legacy varied (with how often), for operators."""
        return {
            route: {
                "comparisons": noise.comparisons,
                "probes": noise.probes,
                "fields": dict(sorted(noise.hits.items())),
                "noise": sorted(noise.standing),
            }
            for route, noise in self._routes.items()
        }

    def _route(self, route: str) -> _RouteNoise:
        noise = self._routes.get(route)
        if noise is None:
            noise = self._routes[route] = _RouteNoise()
            if len(self._routes) > self.settings.max_routes:
                self._routes.popitem(last=False)
        else:
            self._routes.move_to_end(route)
        return noise
