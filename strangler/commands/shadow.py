"""`strangler mismatches`: the latest shadow mismatches, read from the proxy's database
(STRANGLER_DATABASE_URL, as the proxy writes them), each as a table of differences and a
unified diff of the two answers (or the two bodies side by side)."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text
from tortoise.exceptions import BaseORMException

from proxy.database import DatabaseUnavailable, ProxyDatabase
from proxy.flags.document import parse_surface
from proxy.flags.errors import FlagsError
from proxy.settings import ProxySettings
from proxy.shadow.mismatch import Mismatch
from proxy.shadow.records import MAX_LIMIT, MismatchLog
from strangler.errors import CliError, cli_errors

app = typer.Typer()
console = Console(highlight=False)
SHOWN_DEFAULT = 10


@app.command()
@cli_errors
def mismatches(
    limit: int = typer.Option(SHOWN_DEFAULT, "--limit", min=1, max=MAX_LIMIT, help="How many, newest first"),
    flag: str | None = typer.Option(None, "--flag", help="Only this flag, e.g. tournament-api"),
    org: int | None = typer.Option(None, "--org", help="Only this organization"),
    side_by_side: bool = typer.Option(False, "--side-by-side", help="Both bodies in two columns"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON (with the unified diff)"),
) -> None:
    """The latest answers legacy and plugin disagreed on, in shadow and live mode."""
    if flag is not None:
        try:
            flag = parse_surface(flag).value
        except FlagsError as exc:
            raise CliError(exc.detail) from None
    found = _read(limit, flag, org)
    if as_json:
        typer.echo(json.dumps([mismatch.to_json() for mismatch in found], indent=2))
        return
    if not found:
        console.print(
            "no mismatches recorded"
            + (f" for {flag}" if flag else "")
            + (f" in organization {org}" if org else "")
        )
        return
    for mismatch in found:
        console.print(_panel(mismatch, side_by_side))


def _read(limit: int, flag: str | None, org: int | None) -> list[Mismatch]:
    settings = ProxySettings()

    async def run() -> list[Mismatch]:
        database = ProxyDatabase(settings.database_url)
        try:
            return await MismatchLog(database).recent(limit, flag=flag, organization_id=org)
        finally:
            await database.close()

    try:
        return asyncio.run(run())
    except DatabaseUnavailable as exc:
        raise CliError(exc.detail) from None
    except BaseORMException as exc:
        raise CliError(f"the proxy's database is not usable: {type(exc).__name__}: {exc}") from None


def _panel(m: Mismatch, side_by_side: bool) -> Panel:
    compared = "dry runs on both sides" if m.kind.compares_dry_runs else "primary vs mirror"
    when = m.created_at.strftime("%Y-%m-%d %H:%M:%S") if m.created_at else ""
    title = f"#{m.id}  {when} UTC  {m.flag}  {m.mode}  organization {m.organization_id}"
    facts = Text.assemble(
        (f"{m.method} {m.path}", "bold"),
        f"\nroute {m.route}  ({m.kind.value}: {compared})",
        f"\nclient got {m.primary_status}" + (f"  caller {m.caller}" if m.caller else ""),
        f"\nlegacy {m.legacy_status} {m.legacy_content_type or '-'} in {m.legacy_seconds * 1000:.1f} ms"
        f"   plugin {m.plugin_status} {m.plugin_content_type or '-'} in {m.plugin_seconds * 1000:.1f} ms",
    )
    differences = Table("where", "kind", "legacy", "plugin", title="differences", title_justify="left")
    for difference in m.differences:
        differences.add_row(
            difference["path"], difference["kind"], _shown(difference["legacy"]), _shown(difference["plugin"])
        )
    parts: list[object] = [facts, differences]
    if m.ignored:
        parts.append(Text("ignored (rules, noise): " + ", ".join(m.ignored), style="dim"))
    if side_by_side:
        bodies = Table("legacy", "plugin", expand=True)
        bodies.add_row(
            _body(m.legacy_body, m.legacy_body_truncated), _body(m.plugin_body, m.plugin_body_truncated)
        )
        parts.append(bodies)
    else:
        parts.append(
            Syntax(m.unified_diff() or "(bodies are equal)", "diff", theme="ansi_dark", word_wrap=True)
        )
    return Panel(Group(*parts), title=title, title_align="left")  # type: ignore[arg-type]


def _shown(value: object) -> str:
    return json.dumps(value) if not isinstance(value, str) else value


def _body(body: str, truncated: bool) -> Syntax:
    return Syntax(
        body + ("\n[cut at the size limit]" if truncated else ""), "json", theme="ansi_dark", word_wrap=True
    )
