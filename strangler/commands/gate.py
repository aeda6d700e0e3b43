"""`strangler gate FLAG --org N`: the cutover gate's verdict table for one flag and
organization (strangler.remote_gate says where it comes from). Exit code 0 when it
passes, 1 when it fails or is inconclusive."""

from __future__ import annotations

import asyncio
import json

import typer
from rich.console import Console
from rich.table import Table

from proxy.flags.document import parse_surface
from proxy.flags.errors import FlagsError
from proxy.gate.verdict import BudgetName, GateEvaluation, Verdict
from proxy.settings import ProxySettings
from strangler import remote_gate
from strangler.errors import CliError, cli_errors

app = typer.Typer()
console = Console(highlight=False)

_STYLE = {Verdict.PASS: "green", Verdict.FAIL: "red", Verdict.INCONCLUSIVE: "yellow"}
_RATES = (BudgetName.MISMATCH_RATE, BudgetName.ERROR_RATE)


@app.command()
@cli_errors
def gate(
    flag: str = typer.Argument(..., help="tournament-api, async-qualifier-api or async-qualifier-discord"),
    org: int = typer.Option(..., "--org", help="Organization id"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
) -> None:
    """Whether an organization's flag keeps its budgets: may it move to live or plugin?"""
    try:
        surface = parse_surface(flag)
    except FlagsError as exc:
        raise CliError(exc.detail) from None
    if org <= 0:
        raise CliError(f"organization id must be a positive integer, not {org}")
    evaluation = asyncio.run(remote_gate.evaluate(ProxySettings(), surface, org))
    if as_json:
        typer.echo(json.dumps(evaluation.to_json(), indent=2))
    else:
        print_evaluation(evaluation)
    if evaluation.verdict is not Verdict.PASS:
        raise typer.Exit(1)


def print_evaluation(evaluation: GateEvaluation, out: Console = console) -> None:
    table = Table(
        "budget",
        "measured",
        "bound (95%)",
        "limit",
        "samples",
        "verdict",
        title=f"cutover gate: {evaluation.flag.value}, organization {evaluation.organization_id} "
        f"(from {evaluation.source}, last {evaluation.window_s:g} s)",
    )
    for result in evaluation.budgets:
        digits = 4 if result.budget in _RATES else 3
        style = _STYLE[result.verdict]
        table.add_row(
            result.budget.value,
            _number(result.measured, digits),
            _number(result.bound, digits),
            _number(result.limit, digits),
            str(result.samples),
            f"[{style}]{result.verdict.value}[/]",
        )
    out.print(table)
    for result in evaluation.budgets:
        out.print(f"  {result.budget.value}: {result.reason}", soft_wrap=True)
    verdict = evaluation.verdict
    out.print(f"verdict: [{_STYLE[verdict]}]{verdict.value}[/]")


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"
