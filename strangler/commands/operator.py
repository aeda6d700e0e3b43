"""Operating the migration: `strangler status | flip | rollback | kill-switch | audit |
apply-flags`. The commands act on the same settings as the proxy (STRANGLER_FLAGS_PATH,
STRANGLER_DATABASE_URL, ...) through the same write path as the operator API, so a flip
from here reaches the proxy through the flag file like any other."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import Awaitable, Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import typer
from rich.console import Console
from rich.table import Table
from tortoise.exceptions import BaseORMException

from proxy.database import DatabaseUnavailable, ProxyDatabase
from proxy.flags.audit import DEFAULT_LIMIT, MAX_LIMIT, AuditEntry
from proxy.flags.document import parse_assignment, parse_surface
from proxy.flags.errors import FlagsError
from proxy.flags.gate import Gate, needs_gate, not_checked
from proxy.flags.store import Applied, FlagStore
from proxy.gate.evaluation import decided, forced_reason
from proxy.gate.verdict import Verdict
from proxy.operator.status import StatusView, status_view
from proxy.settings import ProxySettings
from strangler import remote_gate
from strangler.commands.gate import print_evaluation
from strangler.errors import CliError, cli_errors

app = typer.Typer()
console = Console(highlight=False)
T = TypeVar("T")


class Switch(StrEnum):
    ON = "on"
    OFF = "off"


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


def _with_store(action: Callable[[FlagStore], Awaitable[T]], gate: Gate = not_checked) -> T:
    """Run `action` against the store the proxy's settings describe; turn refusals into
    one-line CLI errors."""
    settings = ProxySettings()

    async def run() -> T:
        database = ProxyDatabase(settings.database_url)
        try:
            return await action(FlagStore.from_settings(settings, database, gate))
        finally:
            await database.close()

    try:
        return asyncio.run(run())
    except (FlagsError, DatabaseUnavailable) as exc:
        raise CliError(exc.detail) from None
    except BaseORMException as exc:
        raise CliError(f"the proxy's database is not usable: {type(exc).__name__}: {exc}") from None


def _print_applied(applied: Applied, nothing: str) -> None:
    if not applied.changes:
        console.print(f"{nothing}; nothing written")
        return
    for change in applied.changes:
        where = f" organization {change.organization_id}" if change.organization_id is not None else ""
        console.print(f"{change.flag}{where}: {change.before} -> {change.after}")
    if applied.gate_verdict is not None:
        console.print(f"gate: {applied.gate_verdict.value}" + (" (forced)" if applied.forced else ""))


@app.command()
@cli_errors
def status(
    org: list[int] = typer.Option([], "--org", help="Also show this organization (repeatable)"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """Every flag x organization and its mode, and the kill switch."""
    view = status_view(_with_store(lambda store: store.read()), org)
    if as_json:
        typer.echo(json.dumps(view.to_json(), indent=2))
        return
    _print_status(view)


def _print_status(view: StatusView) -> None:
    if view.kill_switch:
        console.print("[bold red]kill switch ON[/]: every request goes to legacy, nothing is mirrored")
    else:
        console.print("kill switch: off")
    if not view.modes:
        console.print("no organization has been moved: every organization is on legacy for every flag")
        return
    flags = next(iter(view.modes.values())).keys()
    table = Table("organization", *flags, title="modes per organization (others: legacy)")
    for org, modes in view.modes.items():
        table.add_row(str(org), *(modes[flag] for flag in flags))
    console.print(table)


@app.command()
@cli_errors
def flip(
    flag: str = typer.Argument(..., help="tournament-api, async-qualifier-api or async-qualifier-discord"),
    org: int = typer.Option(..., "--org", help="Organization id"),
    to: str = typer.Option(
        ..., "--to", help='legacy, shadow, live, plugin, or a split like "shadow=50,legacy=50"'
    ),
    reason: str = typer.Option(..., "--reason", help="Why; kept in the audit log"),
    force: bool = typer.Option(False, "--force", help="Move although the cutover gate refuses (audited)"),
) -> None:
    """Move one organization of one flag to a mode. A move that lets the plugin answer
    (live, plugin) needs the cutover gate to pass, or --force with a --reason (audited)."""
    surface, assignment = _parse(lambda: (parse_surface(flag), parse_assignment(to)))
    gate: Gate = not_checked
    if needs_gate(assignment):
        # Refusals that need no gate come first, as the write path would give them.
        if org <= 0:
            raise CliError(f"organization id must be a positive integer, not {org}")
        if not reason.strip():
            raise CliError("a reason is required")
        evaluation = asyncio.run(remote_gate.evaluate(ProxySettings(), surface, org))
        print_evaluation(evaluation)
        if evaluation.verdict is not Verdict.PASS:
            if not force:
                raise CliError(
                    f"refusing to move {surface.value} of organization {org} to {assignment}: the cutover "
                    f"{evaluation.summary()}. Force it with --force and a --reason if you must."
                )
            reason = forced_reason(reason, evaluation)
        gate = decided(evaluation)
    applied = _with_store(
        lambda store: store.flip(surface, org, assignment, actor=_actor(), reason=reason, force=force), gate
    )
    _print_applied(applied, f"{surface.value} of organization {org} is already {assignment}")


@app.command()
@cli_errors
def rollback(
    org: int | None = typer.Option(None, "--org", help="Roll back this organization"),
    all_: bool = typer.Option(False, "--all", help="Roll back every organization, in one write"),
    reason: str = typer.Option("rollback", "--reason", help="Why; kept in the audit log"),
) -> None:
    """Every flag of one organization (or of all) back to legacy. Never gated."""
    if all_ == (org is not None):
        raise CliError("give either --org N or --all")
    applied = _with_store(lambda store: store.rollback(org, actor=_actor(), reason=reason))
    _print_applied(applied, "already on legacy")


@app.command("kill-switch")
@cli_errors
def kill_switch(
    state: str = typer.Argument(..., help="on or off"),
    reason: str | None = typer.Option(None, "--reason", help="Why; kept in the audit log"),
) -> None:
    """Send everything to legacy with no mirroring (on), or resume the flags (off)."""
    try:
        switch = Switch(state)
    except ValueError:
        raise CliError(f"kill-switch takes on or off, not {state!r}") from None
    on = switch is Switch.ON
    applied = _with_store(
        lambda store: store.set_kill_switch(
            on, actor=_actor(), reason=reason or f"kill switch {switch.value}"
        )
    )
    _print_applied(applied, f"the kill switch is already {switch.value}")


@app.command()
@cli_errors
def audit(
    limit: int = typer.Option(DEFAULT_LIMIT, "--limit", min=1, max=MAX_LIMIT, help="How many entries"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """The latest flag changes, newest first."""
    entries = _with_store(lambda store: store.audit.recent(limit))
    if as_json:
        typer.echo(json.dumps([entry.to_json() for entry in entries], indent=2))
        return
    _print_audit(entries)


def _print_audit(entries: list[AuditEntry]) -> None:
    if not entries:
        console.print("no flag changes yet")
        return
    table = Table(
        "id", "when (UTC)", "who", "flag", "org", "from", "to", "reason", "gate", title="flag changes"
    )
    for e in entries:
        gate = (e.gate_verdict.value if e.gate_verdict else "") + (" (forced)" if e.forced else "")
        org = "" if e.organization_id is None else str(e.organization_id)
        when = e.changed_at.strftime("%Y-%m-%d %H:%M:%S")
        table.add_row(str(e.id), when, e.actor, e.flag, org, e.before, e.after, e.reason, gate)
    console.print(table)


@app.command("apply-flags")
@cli_errors
def apply_flags(
    path: Path = typer.Argument(..., help="A flag document, e.g. flags/flags.json to reset everything"),
    reason: str = typer.Option(..., "--reason", help="Why; kept in the audit log"),
) -> None:
    """Replace the whole live flag document, after the same validation as every change."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {exc}") from None
    applied = _with_store(lambda store: store.apply_document(text, actor=_actor(), reason=reason))
    _print_applied(applied, "the live document already says the same")


def _parse(parse: Callable[[], T]) -> T:
    try:
        return parse()
    except FlagsError as exc:
        raise CliError(exc.detail) from None
