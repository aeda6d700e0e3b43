"""proxy.flags: the document strangler writes, its validation, the atomic file write, and
the real flagd provider reading what the store wrote."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from openfeature import api
from openfeature.contrib.provider.flagd import FlagdProvider
from openfeature.contrib.provider.flagd.config import ResolverType
from openfeature.evaluation_context import EvaluationContext
from openfeature.provider.no_op_provider import NoOpProvider

from proxy.database import ProxyDatabase
from proxy.flags.audit import AuditLog
from proxy.flags.document import FlagDocument, Split, parse_assignment, parse_document_text, parse_mode
from proxy.flags.errors import DocumentError, FlagsFileError, GateRefused, InvalidChange
from proxy.flags.gate import GateVerdict, needs_gate
from proxy.flags.store import FlagFile, FlagStore
from proxy.flags.validation import check_with_flagd, validate_candidate
from proxy.modes import KILL_SWITCH_FLAG, Mode, Surface
from tests.servers import ROOT

SEED = ROOT / "flags" / "flags.json"
STRANGLER = str(Path(sys.executable).with_name("strangler"))
TOURNAMENT = Surface.TOURNAMENT_API
QUALIFIER = Surface.ASYNC_QUALIFIER_API


def seed_data() -> dict:
    return json.loads(SEED.read_text())


def edited(document: FlagDocument) -> FlagDocument:
    return (
        document.with_assignment(TOURNAMENT, 3, Mode.LIVE)
        .with_assignment(TOURNAMENT, 7, Mode.LIVE)
        .with_assignment(TOURNAMENT, 12, Mode.SHADOW)
        .with_assignment(QUALIFIER, 5, Split.parse("shadow=30,legacy=70"))
        .with_assignment(Surface.ASYNC_QUALIFIER_DISCORD, 3, Mode.PLUGIN)
        .with_kill_switch(True)
    )


# -- the document ---------------------------------------------------------------------


def test_the_seed_is_all_legacy_and_in_canonical_form() -> None:
    data = seed_data()
    assert data["$schema"] == "https://flagd.dev/schema/v0/flags.json"
    for surface in Surface:
        flag = data["flags"][surface.value]
        assert flag["variants"] == {
            "legacy": "legacy",
            "shadow": "shadow",
            "live": "live",
            "plugin": "plugin",
        }
        assert flag["defaultVariant"] == "legacy" and flag["state"] == "ENABLED"
    assert data["flags"][KILL_SWITCH_FLAG]["variants"] == {"on": True, "off": False}
    assert data["flags"][KILL_SWITCH_FLAG]["defaultVariant"] == "off"
    document = validate_candidate(SEED.read_text())
    assert document == FlagDocument() and not document.kill_switch
    assert document.render() == SEED.read_text()


def test_edits_round_trip_through_the_rendered_json() -> None:
    document = edited(FlagDocument())
    text = document.render()
    assert parse_document_text(text) == document
    assert validate_candidate(text) == document
    assert document.assignment(TOURNAMENT, 3) is Mode.LIVE
    assert document.assignment(TOURNAMENT, 99) is Mode.LEGACY
    assert str(document.assignment(QUALIFIER, 5)) == "shadow=30,legacy=70"
    assert document.organizations() == [3, 5, 7, 12]


def test_organizations_that_share_a_mode_share_one_condition() -> None:
    targeting = edited(FlagDocument()).to_json()["flags"][TOURNAMENT.value]["targeting"]
    assert targeting == {
        "if": [
            {"in": [{"var": "organization"}, ["12"]]},
            "shadow",
            {"in": [{"var": "organization"}, ["3", "7"]]},
            "live",
            None,
        ]
    }
    split = edited(FlagDocument()).to_json()["flags"][QUALIFIER.value]["targeting"]["if"][1]
    assert split == {"fractional": [["shadow", 30], ["legacy", 70]]}


def test_rollback_keeps_organizations_listed_on_legacy() -> None:
    document = edited(FlagDocument())
    one = document.rolled_back(3)
    assert one.assignment(TOURNAMENT, 3) is Mode.LEGACY
    assert one.assignment(Surface.ASYNC_QUALIFIER_DISCORD, 3) is Mode.LEGACY
    assert one.assignment(TOURNAMENT, 7) is Mode.LIVE
    assert 3 in one.organizations()
    everything = document.rolled_back()
    assert all(
        everything.assignment(surface, org) is Mode.LEGACY
        for surface in Surface
        for org in document.organizations()
    )
    assert everything.kill_switch, "rollback moves organizations; the kill switch is its own lever"
    assert parse_document_text(everything.render()) == everything


def test_changes_name_what_differs_in_effect() -> None:
    before = FlagDocument().with_assignment(TOURNAMENT, 3, Mode.SHADOW)
    after = before.with_assignment(TOURNAMENT, 3, Mode.LIVE).with_assignment(TOURNAMENT, 4, Mode.LEGACY)
    changes = before.changes_to(after.with_kill_switch(True))
    assert [(c.flag, c.organization_id, c.before, c.after) for c in changes] == [
        ("tournament-api", 3, "shadow", "live"),
        ("kill-switch", None, "off", "on"),
    ]
    assert before.changes_to(before.with_assignment(TOURNAMENT, 9, Mode.LEGACY)) == []


# -- validation -----------------------------------------------------------------------


def refused(text: str) -> str:
    with pytest.raises(DocumentError) as caught:
        validate_candidate(text)
    return caught.value.detail


def with_flag(key: str, **changes: object) -> str:
    data = seed_data()
    data["flags"][key].update(changes)
    return json.dumps(data)


def test_refuses_malformed_json() -> None:
    assert "not valid JSON" in refused('{"flags": {')


def test_refuses_an_unknown_flag() -> None:
    data = seed_data()
    data["flags"]["new-thing"] = data["flags"][TOURNAMENT.value]
    assert "unknown flag 'new-thing'" in refused(json.dumps(data))


def test_refuses_a_default_variant_that_is_not_a_variant() -> None:
    detail = refused(with_flag(TOURNAMENT.value, defaultVariant="nope"))
    assert "flag 'tournament-api'" in detail and "defaultVariant 'nope' is not one of its variants" in detail


def test_refuses_an_unknown_variant_in_targeting() -> None:
    rule = {"if": [{"in": [{"var": "organization"}, ["3"]]}, "turbo", None]}
    detail = refused(with_flag(TOURNAMENT.value, targeting=rule))
    assert "targeting names variant 'turbo'" in detail


def test_refuses_changed_variants() -> None:
    variants = {"legacy": "legacy", "shadow": "shadow", "live": "live", "plugin": "plugin", "turbo": "turbo"}
    assert "variants must be exactly" in refused(with_flag(TOURNAMENT.value, variants=variants))


def test_refuses_an_unknown_operator() -> None:
    rule = {"if": [{"bogus": [{"var": "organization"}, ["3"]]}, "live", None]}
    detail = refused(with_flag(TOURNAMENT.value, targeting=rule))
    assert "targeting uses condition 'bogus'" in detail
    assert "targeting uses operator 'starts_with'" in refused(
        with_flag(TOURNAMENT.value, targeting={"starts_with": [{"var": "email"}, "a"]})
    )


@pytest.mark.parametrize(
    ("ids", "message"),
    [(["03"], "'03' must be a positive integer"), (["-1"], "'-1'"), ([3], "3 must be"), (["x"], "'x'")],
)
def test_refuses_bad_organization_ids(ids: list[object], message: str) -> None:
    rule = {"if": [{"in": [{"var": "organization"}, ids]}, "live", None]}
    assert message in refused(with_flag(TOURNAMENT.value, targeting=rule))


def test_refuses_an_organization_in_two_conditions() -> None:
    rule = {
        "if": [
            {"in": [{"var": "organization"}, ["3"]]},
            "live",
            {"in": [{"var": "organization"}, ["3"]]},
            "shadow",
            None,
        ]
    }
    assert "organization 3 appears in more than one condition" in refused(
        with_flag(TOURNAMENT.value, targeting=rule)
    )


@pytest.mark.parametrize(
    ("split", "message"),
    [
        ("shadow=60,legacy=60", "must add up to 100 percent"),
        ("shadow=100", "at least two modes"),
        ("shadow=50,shadow=50", "names a mode twice"),
        ("shadow=0,legacy=100", "between 1 and 99 percent"),
    ],
)
def test_refuses_bad_splits(split: str, message: str) -> None:
    document = FlagDocument().with_assignment(QUALIFIER, 5, Split.parse(split))
    assert message in refused(document.render())


def test_refuses_an_organization_id_that_is_not_positive() -> None:
    with pytest.raises(DocumentError, match="organization id 0 must be a positive integer"):
        validate_candidate(
            FlagDocument().with_assignment(TOURNAMENT, 1, Mode.LIVE).render().replace('"1"', '"0"')
        )


def test_refuses_unknown_modes_and_flags_in_requests() -> None:
    with pytest.raises(InvalidChange, match="unknown mode 'turbo'"):
        parse_mode("turbo")
    with pytest.raises(InvalidChange, match="unknown mode 'turbo'"):
        parse_assignment("turbo=50,legacy=50")
    with pytest.raises(InvalidChange, match="must look like shadow=50,legacy=50"):
        parse_assignment("shadow=half")


def test_flagd_itself_refuses_what_it_cannot_evaluate() -> None:
    """The second layer: flagd's own evaluator, fed a document the structure check never
    sees (the provider would accept it and answer every evaluation with the default)."""
    data = seed_data()
    data["flags"][TOURNAMENT.value]["defaultVariant"] = "nope"
    with pytest.raises(DocumentError, match=r"flagd cannot resolve flag 'tournament-api'.*nope"):
        check_with_flagd(json.dumps(data), FlagDocument())
    data = seed_data()
    data["flags"][TOURNAMENT.value]["targeting"] = {
        "if": [{"bogus": [{"var": "organization"}, ["3"]]}, "live", None]
    }
    with pytest.raises(DocumentError, match=r"flagd cannot resolve flag 'tournament-api'.*Invalid targeting"):
        check_with_flagd(json.dumps(data), FlagDocument())
    # A document that evaluates but not to what strangler means is refused as well.
    meant = FlagDocument().with_assignment(TOURNAMENT, 3, Mode.LIVE)
    with pytest.raises(
        DocumentError, match="resolves to 'legacy' for organization 3 in flagd, expected live"
    ):
        check_with_flagd(SEED.read_text(), meant)


# -- the file -------------------------------------------------------------------------


@pytest.fixture
def flag_file(tmp_path: Path) -> FlagFile:
    flag_file = FlagFile(tmp_path / "live" / "flags.json", SEED)
    asyncio.run(_create(flag_file))
    return flag_file


async def _create(flag_file: FlagFile) -> None:
    async with flag_file.locked():
        flag_file.create_from_seed()


def test_the_live_document_is_created_from_the_seed(flag_file: FlagFile) -> None:
    assert flag_file.path.read_text() == SEED.read_text()
    assert flag_file.read() == FlagDocument()


def test_every_commit_is_atomic_and_grows_the_mtime(flag_file: FlagFile) -> None:
    """The provider reloads only when the mtime grows; commits in one clock tick too."""
    document = FlagDocument()
    mtimes = [os.path.getmtime(flag_file.path)]
    for org in range(1, 41):
        document = document.with_assignment(TOURNAMENT, org, Mode.SHADOW)
        flag_file.commit(flag_file.prepare(document.render()))
        mtimes.append(os.path.getmtime(flag_file.path))  # float seconds, as the provider reads it
        assert flag_file.read() == document
    assert all(later > earlier for earlier, later in itertools.pairwise(mtimes))
    assert sorted(p.name for p in flag_file.path.parent.iterdir()) == ["flags.json", "flags.json.lock"]


def test_a_commit_grows_the_mtime_over_a_file_from_the_future(flag_file: FlagFile) -> None:
    future = time.time_ns() + 3_600 * 10**9
    os.utime(flag_file.path, ns=(future, future))
    flag_file.commit(flag_file.prepare(FlagDocument().with_kill_switch(True).render()))
    assert flag_file.path.stat().st_mtime_ns > future


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"flags": {"tournament-api": ', "is not valid JSON"),
        ('{"flags": {"tournament-api": {"state": "ENABLED"}}}', "variants must be exactly"),
        ("[]", "must be a JSON object"),
    ],
)
def test_a_broken_file_put_in_place_by_hand_is_reported_not_built_on(
    flag_file: FlagFile, content: str, message: str
) -> None:
    flag_file.path.write_text(content)
    with pytest.raises(FlagsFileError) as caught:
        flag_file.read()
    assert message in caught.value.detail
    assert str(flag_file.path) in caught.value.detail
    assert "is broken" in caught.value.detail and "strangler apply-flags" in caught.value.detail


# -- the real flagd provider ----------------------------------------------------------


@pytest.fixture
def flagd_client(tmp_path: Path) -> Iterator[tuple[object, dict[str, str]]]:
    """The flagd provider (FILE resolver, as the proxy runs it) on a live document that
    only the `strangler` CLI writes."""
    env = {
        **os.environ,
        "STRANGLER_FLAGS_PATH": str(tmp_path / "flags.json"),
        "STRANGLER_DATABASE_URL": f"sqlite://{tmp_path / 'proxy.sqlite3'}",
        "STRANGLER_SEED_FLAGS": str(SEED),
    }
    strangler(env, "status")  # creates the live document from the seed
    domain = f"test-flags-{uuid.uuid4().hex}"
    provider = FlagdProvider(
        resolver_type=ResolverType.FILE,
        offline_flag_source_path=str(tmp_path / "flags.json"),
        deadline_ms=100,
    )
    api.set_provider_and_wait(provider, domain)
    try:
        yield api.get_client(domain), env
    finally:
        api.set_provider(NoOpProvider(), domain)


def strangler(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([STRANGLER, *args], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return result


def variant_for(client: object, organization: str, caller: str = "k") -> str | None:
    context = EvaluationContext(targeting_key=caller, attributes={"organization": organization})
    return client.get_string_details(TOURNAMENT.value, "unset", context).variant  # type: ignore[attr-defined]


def eventually(predicate: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return bool(predicate())  # type: ignore[operator]


def test_the_flagd_provider_evaluates_what_the_store_wrote(
    flagd_client: tuple[object, dict[str, str]],
) -> None:
    client, env = flagd_client
    assert variant_for(client, "3") == "legacy"
    strangler(
        env, "flip", "tournament-api", "--org", "3", "--to", "live", "--reason", "provider test", "--force"
    )
    assert eventually(lambda: variant_for(client, "3") == "live")
    assert variant_for(client, "4") == "legacy"
    strangler(env, "flip", "tournament-api", "--org", "3", "--to", "shadow=50,legacy=50", "--reason", "split")
    assert eventually(lambda: variant_for(client, "3") != "live")
    sides = {variant_for(client, "3", caller=f"caller-{n}") for n in range(64)}
    assert sides == {"shadow", "legacy"}
    assert {variant_for(client, "3", caller="sticky") for _ in range(5)} == {
        variant_for(client, "3", "sticky")
    }
    strangler(env, "kill-switch", "on")
    assert eventually(lambda: client.get_boolean_value(KILL_SWITCH_FLAG, False) is True)  # type: ignore[attr-defined]


# -- the gate seam --------------------------------------------------------------------


def test_a_move_the_gate_refuses_is_not_written(flag_file: FlagFile) -> None:
    """Issue 6 plugs the real gate in here; until then `not_checked` lets moves through."""
    asked: list[tuple[Surface, int, str]] = []

    async def failing_gate(flag: Surface, organization_id: int, to: object) -> GateVerdict:
        asked.append((flag, organization_id, str(to)))
        return GateVerdict.FAIL

    store = FlagStore(flag_file, AuditLog(ProxyDatabase("sqlite://:memory:")), gate=failing_gate)
    before = flag_file.path.read_bytes()
    with pytest.raises(GateRefused, match="the cutover gate says fail for tournament-api of organization 3"):
        asyncio.run(store.flip(TOURNAMENT, 3, Mode.LIVE, actor="test", reason="gate test"))
    with pytest.raises(GateRefused):
        asyncio.run(
            store.flip(TOURNAMENT, 3, Split.parse("plugin=10,shadow=90"), actor="test", reason="gate")
        )
    assert asked == [(TOURNAMENT, 3, "live"), (TOURNAMENT, 3, "plugin=10,shadow=90")]
    assert flag_file.path.read_bytes() == before
    assert not needs_gate(Mode.SHADOW) and not needs_gate(Mode.LEGACY) and needs_gate(Mode.PLUGIN)
