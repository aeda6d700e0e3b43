"""The shadow comparator and its parts, as plain functions: JSON paths and ignore rules
(proxy.shadow.json_path), the comparison (proxy.shadow.comparison), noise learned from
legacy compared with itself (proxy.shadow.noise), redaction and size caps of mismatch
records (proxy.shadow.redaction, proxy.shadow.mismatch), the paired latency samples
(proxy.shadow.latency), and the dry-run signer against core's own verifier."""

from __future__ import annotations

import json

import orjson
import pytest

from core.dry_run.signature import Verdict, verify
from proxy.dry_run_signing import DryRunOutcome, captured_calls, dry_run_header, dry_run_outcome
from proxy.modes import Surface
from proxy.route_map import RouteMap, RouteMapError
from proxy.shadow.comparison import Answer, DifferenceKind, IgnoreRules, compare, differences
from proxy.shadow.json_path import JsonPath, JsonPathError, normalise, render
from proxy.shadow.latency import PairedLatencies, PairKind
from proxy.shadow.mismatch import Mismatch, RequestKind
from proxy.shadow.noise import NoiseLearner, NoiseSettings
from proxy.shadow.redaction import REDACTED, bounded_body, caller_fingerprint, redact, redact_text

JSON = "application/json"


def answer(body: object, status: int = 200, content_type: str | None = JSON, **kwargs: object) -> Answer:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Answer(status, content_type, raw, **kwargs)  # type: ignore[arg-type]


# -- JSON paths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "location", "covered"),
    [
        ("$.id", ("id",), True),
        ("$.id", ("name",), False),
        ("$.id", (0, "id"), False),
        ("$", ("anything", 3), True),
        ("$.players", ("players", 2, "id"), True),  # an ancestor covers what is below it
        ("$.players[*].id", ("players", 2, "id"), True),
        ("$.players[*].id", ("players", 2, "user_id"), False),
        ("$.players[1].id", ("players", 2, "id"), False),
        ("$[*].updated_at", (4, "updated_at"), True),
        ("$[*].updated_at", ("updated_at",), False),
        ("$..id", ("match", "players", 0, "id"), True),
        ("$..id", ("match", "players", 0, "user_id"), False),
        ("$.*.id", ("match", "id"), True),
        ("$['odd key'].x", ("odd key", "x"), True),
        ('$["quoted"]', ("quoted",), True),
    ],
)
def test_a_rule_covers_a_location_or_what_is_below_it(rule: str, location: tuple, covered: bool) -> None:
    assert JsonPath.parse(rule).covers(location) is covered


@pytest.mark.parametrize("rule", ["id", "$.", "$[x]", "$..", "$.a b", "$[*", "$.id.", "$['unclosed]"])
def test_a_rule_outside_the_subset_is_refused(rule: str) -> None:
    with pytest.raises(JsonPathError):
        JsonPath.parse(rule)


def test_locations_render_as_paths_and_normalise_their_indexes() -> None:
    location = ("entries", 2, "odd key", 0)
    assert render(location) == "$.entries[2]['odd key'][0]"
    assert normalise(location) == "$.entries[*]['odd key'][*]"


def test_the_route_map_carries_ignore_rules_and_refuses_bad_ones() -> None:
    route_map = RouteMap.load()
    match = route_map.match_http("POST", "/api/tournaments/organizations/7")
    assert match is not None and "$.created_at" in match.route.ignore.texts
    document = {
        "http": [
            {
                "surface": "tournament-api",
                "ignore": ["$..updated_at"],
                "routes": [
                    {
                        "methods": ["GET"],
                        "paths": ["/api/x/{org}"],
                        "organization": [{"path": "org"}],
                        "ignore": ["$.id"],
                    }
                ],
            }
        ],
        "discord": [
            {"surface": "async-qualifier-discord", "organization": ["discord_guild"], "ignore": ["$.data.x"]}
        ],
    }
    loaded = RouteMap.from_document(document)
    assert loaded.http_routes[0].ignore.texts == ["$..updated_at", "$.id"]
    assert loaded.discord_surfaces[0].ignore.texts == ["$.data.x"]
    document["http"][0]["routes"][0]["ignore"] = ["id"]
    with pytest.raises(RouteMapError, match="/api/x/"):
        RouteMap.from_document(document)


# -- the comparison ---------------------------------------------------------------------


def test_equal_bytes_are_equal_without_parsing() -> None:
    body = b"not json at all"
    assert compare(answer(body), answer(body)).matched


def test_key_order_and_spacing_do_not_matter_but_array_order_and_types_do() -> None:
    legacy = answer(b'{"a": 1, "b": [1, 2], "c": {"x": true}}')
    assert compare(legacy, answer(b'{"c":{"x":true},"b":[1,2],"a":1}')).matched
    reordered = compare(legacy, answer({"a": 1, "b": [2, 1], "c": {"x": True}}))
    assert [d.path for d in reordered.differences] == ["$.b[0]", "$.b[1]"]
    typed = compare(answer({"score": 100}), answer({"score": 100.0}))
    assert [(d.kind, d.legacy, d.plugin) for d in typed.differences] == [(DifferenceKind.CHANGED, 100, 100.0)]
    boolean = compare(answer({"n": 1}), answer({"n": True}))
    assert not boolean.matched


def test_status_content_type_outbound_calls_and_structure_are_located() -> None:
    legacy = answer({"id": 1, "players": [{"id": 5}], "gone": 1}, outbound_calls=2)
    plugin = answer(
        {"id": 1, "players": [{"id": 5}, {"id": 6}], "new": 2},
        status=201,
        content_type="application/json; charset=utf-8",
        outbound_calls=1,
    )
    found = {(d.kind, d.path) for d in differences(legacy, plugin)}
    assert found == {
        (DifferenceKind.STATUS, "status"),
        (DifferenceKind.CONTENT_TYPE, "content_type"),
        (DifferenceKind.OUTBOUND_CALLS, "outbound_calls"),
        (DifferenceKind.MISSING, "$.gone"),
        (DifferenceKind.EXTRA, "$.new"),
        (DifferenceKind.LENGTH, "$.players"),
        (DifferenceKind.EXTRA, "$.players[1]"),
    }
    # Content types compare as media type and parameters, whatever the case and spacing.
    assert compare(
        answer({}, content_type="Application/JSON;charset=UTF-8"),
        answer({}, content_type="application/json; charset=utf-8"),
    ).matched


def test_bodies_that_are_not_both_json_differ_as_a_whole() -> None:
    found = differences(
        answer(b"<p>a</p>", content_type="text/html"), answer(b"<p>b</p>", content_type="text/html")
    )
    assert [(d.kind, d.legacy, d.plugin) for d in found] == [(DifferenceKind.BODY, "<p>a</p>", "<p>b</p>")]
    broken = differences(answer(b'{"a": 1'), answer(b'{"a": 2}'))
    assert [d.kind for d in broken] == [DifferenceKind.BODY]


def test_ignore_rules_and_noise_drop_body_differences_only() -> None:
    legacy = answer({"id": 1, "created_at": "a", "entries": [{"score": 1, "at": "x"}]})
    plugin = answer({"id": 2, "created_at": "b", "entries": [{"score": 2, "at": "y"}]}, status=201)
    rules = IgnoreRules.parse(["$.id", "$.created_at", "$.status"])
    result = compare(legacy, plugin, rules=rules, noise={"$.entries[*].at"})
    assert [d.path for d in result.differences] == ["status", "$.entries[0].score"]
    assert sorted(d.path for d in result.ignored) == ["$.created_at", "$.entries[0].at", "$.id"]


def test_a_diff_is_bounded() -> None:
    many = differences(answer(list(range(1000))), answer([n + 1 for n in range(1000)]), limit=10)
    assert len(many) == 10


# -- noise --------------------------------------------------------------------------------


def test_probes_cover_the_warm_up_then_one_in_every_n() -> None:
    learner = NoiseLearner(NoiseSettings(warmup=3, probe_every=5))
    probed = [n for n in range(1, 21) if learner.should_probe("GET /x")]
    assert probed == [1, 2, 3, 5, 10, 15, 20]
    never = NoiseLearner(NoiseSettings(warmup=0, probe_every=0))
    assert not any(never.should_probe("GET /x") for _ in range(50))


def test_a_field_legacy_varies_is_noise_for_that_request_and_standing_after_min_hits() -> None:
    learner = NoiseLearner(NoiseSettings(min_hits=2))
    first = answer({"at": "1", "entries": [{"t": 1}, {"t": 2}], "same": 1})
    again = answer({"at": "2", "entries": [{"t": 3}, {"t": 4}], "same": 1})
    probe = learner.learn("GET /x", differences(first, again))
    assert probe.fields == {"$.at", "$.entries[*].t"} and not probe.unstable
    assert learner.noise("GET /x") == frozenset()  # one probe is not yet standing noise
    learner.learn("GET /x", differences(first, again))
    assert learner.noise("GET /x") == {"$.at", "$.entries[*].t"}
    assert learner.noise("GET /other") == frozenset()  # noise belongs to its route
    snapshot = learner.snapshot()["GET /x"]
    assert snapshot["probes"] == 2 and snapshot["fields"] == {"$.at": 2, "$.entries[*].t": 2}


def test_structure_is_never_learned_and_a_status_change_means_unstable() -> None:
    learner = NoiseLearner(NoiseSettings(min_hits=1))
    structural = learner.learn(
        "GET /x", differences(answer({"a": [1], "b": {"c": 1}}), answer({"a": [1, 2], "b": None}))
    )
    assert structural.fields == frozenset() and learner.noise("GET /x") == frozenset()
    unstable = learner.learn("GET /x", differences(answer({}, status=200), answer({}, status=409)))
    assert unstable.unstable


def test_the_noise_store_is_bounded() -> None:
    learner = NoiseLearner(NoiseSettings(min_hits=1, max_routes=3, max_fields=2))
    for n in range(5):
        learner.should_probe(f"GET /{n}")
    assert list(learner.snapshot()) == ["GET /2", "GET /3", "GET /4"]
    probe = learner.learn(
        "GET /4", differences(answer({"a": 1, "b": 1, "c": 1}), answer({"a": 2, "b": 2, "c": 2}))
    )
    assert len(probe.fields) == 3  # all of them count for this request...
    assert len(learner.noise("GET /4")) == 2  # ...but only max_fields are kept


# -- redaction and size caps ---------------------------------------------------------------


def test_secrets_are_redacted_by_key_and_by_shape() -> None:
    value = {
        "token": "interaction-token",
        "nested": [{"api_key": "k", "client_secret": "s", "Password": "p", "passwordless": None}],
        "name": "call stk_AbC-123_x now",
        "note": "Authorization: Bearer abc.def-ghi",
        "count": 3,
    }
    assert redact(value) == {
        "token": REDACTED,
        "nested": [
            {"api_key": REDACTED, "client_secret": REDACTED, "Password": REDACTED, "passwordless": None}
        ],
        "name": f"call stk_{REDACTED} now",
        "note": f"Authorization: Bearer {REDACTED}",
        "count": 3,
    }
    text = '{"token": "abc", "x": "stk_zzz"} Bearer qq'
    assert redact_text(text) == f'{{"token": "{REDACTED}", "x": "stk_{REDACTED}"}} Bearer {REDACTED}'
    assert caller_fingerprint(b"Bearer stk_secret") is not None
    assert "stk_secret" not in str(caller_fingerprint(b"Bearer stk_secret"))
    assert caller_fingerprint(b"Basic abc") is None


def test_bodies_are_kept_canonical_redacted_and_cut_at_the_limit() -> None:
    kept, cut = bounded_body(b'{"b": 1, "a": "stk_secret"}', 1000)
    assert json.loads(kept) == {"a": f"stk_{REDACTED}", "b": 1} and kept.index('"a"') < kept.index('"b"')
    assert not cut
    big, cut = bounded_body(orjson.dumps({"text": "é" * 5000}), 1000)
    assert cut and len(big.encode()) <= 1000 and big.endswith("[truncated]")


def test_a_mismatch_record_is_redacted_capped_and_readable() -> None:
    legacy = answer({"name": "stk_leak1", "token": "t1", "text": "x" * 3000})
    plugin = answer({"name": "stk_leak2", "token": "t2", "text": "y" * 3000}, status=202)
    request = orjson.dumps({"name": "stk_leak1", "password": "hunter2"})
    mismatch = Mismatch.of(
        flag="tournament-api",
        mode="shadow",
        organization_id=7,
        kind=RequestKind.WRITE,
        route="PATCH /api/tournaments/{tid}",
        method="PATCH",
        target="/api/tournaments/3?organization_id=7&key=stk_inpath",
        caller=caller_fingerprint(b"Bearer stk_caller"),
        primary_status=200,
        request_body=request,
        legacy=legacy,
        plugin=plugin,
        comparison=compare(legacy, plugin),
        body_limit=1024,
    )
    everything = json.dumps(mismatch.to_json())
    for secret in ("stk_leak1", "stk_leak2", "t1", '"t2"', "hunter2", "stk_inpath", "stk_caller"):
        assert secret not in everything, secret
    assert mismatch.legacy_body_truncated and mismatch.plugin_body_truncated
    assert len(mismatch.legacy_body.encode()) <= 1024
    paths = {d["path"]: d for d in mismatch.differences}
    assert set(paths) == {"status", "$.name", "$.text", "$.token"}
    assert paths["$.token"]["legacy"] == REDACTED and len(paths["$.text"]["legacy"]) <= 500
    diff = mismatch.unified_diff()
    assert diff.startswith("--- legacy\n+++ plugin") and "-HTTP 200 application/json" in diff
    assert "+HTTP 202 application/json" in diff


# -- paired latencies ------------------------------------------------------------------------


def test_latency_pairs_are_a_bounded_ring_per_flag_and_organization() -> None:
    now = [1000.0]
    latencies = PairedLatencies(capacity=3, max_keys=2, clock=lambda: now[0])
    for n in range(5):
        now[0] += 1
        latencies.add(Surface.TOURNAMENT_API, 7, 0.010 * (n + 1), 0.020 * (n + 1), PairKind.READ)
    latencies.add(Surface.TOURNAMENT_API, 7, 0.001, 0.001, PairKind.DRY_RUN)
    pairs = latencies.pairs(Surface.TOURNAMENT_API, 7)
    assert [round(p.legacy_s, 3) for p in pairs] == [0.04, 0.05, 0.001]
    assert [p.kind for p in latencies.pairs(Surface.TOURNAMENT_API, 7, kind=PairKind.READ)] == [
        PairKind.READ
    ] * 2
    assert pairs[0].ratio == pytest.approx(2.0)
    assert len(latencies.pairs(Surface.TOURNAMENT_API, 7, since=1005)) == 2
    latencies.add(Surface.ASYNC_QUALIFIER_API, 7, 0.1, 0.1, PairKind.READ)
    latencies.add(Surface.ASYNC_QUALIFIER_API, 8, 0.1, 0.1, PairKind.READ)
    assert latencies.keys() == [(Surface.ASYNC_QUALIFIER_API, 7), (Surface.ASYNC_QUALIFIER_API, 8)]
    assert latencies.pairs(Surface.TOURNAMENT_API, 7) == []


# -- the dry-run header ---------------------------------------------------------------------


def test_the_proxy_signs_what_the_apps_verify() -> None:
    target = b"/api/tournaments/3?organization_id=7&q=%20x"
    header = dry_run_header("s3cret", "patch", target, now=1_700_000_000)
    assert (
        verify(header.encode(), secret="s3cret", method="PATCH", target=target, now=1_700_000_030)
        is Verdict.VALID
    )
    assert (
        verify(header.encode(), secret="other", method="PATCH", target=target, now=1_700_000_030)
        is Verdict.BAD_SIGNATURE
    )
    assert (
        verify(header.encode(), secret="s3cret", method="POST", target=target, now=1_700_000_030)
        is Verdict.BAD_SIGNATURE
    )
    assert (
        verify(header.encode(), secret="s3cret", method="PATCH", target=target, now=1_700_000_061)
        is Verdict.EXPIRED
    )


def test_an_answer_tells_whether_it_was_a_dry_run() -> None:
    assert dry_run_outcome([(b"x-strangler-dry-run", b"applied")]) is DryRunOutcome.APPLIED
    assert dry_run_outcome([(b"x-strangler-dry-run", b"timed_out")]) is DryRunOutcome.TIMED_OUT
    assert dry_run_outcome([(b"x-strangler-dry-run", b"??")]) is DryRunOutcome.FAILED
    assert dry_run_outcome([(b"content-type", b"application/json")]) is DryRunOutcome.NOT_HONOURED
    assert captured_calls([(b"x-strangler-dry-run-captured", b"2")]) == 2
    assert captured_calls([]) is None
