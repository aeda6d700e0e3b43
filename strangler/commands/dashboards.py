"""`strangler dashboards`: generate the Grafana dashboards (dashboards/*.json) from their
builders, or check that the committed ones are up to date."""

from __future__ import annotations

import typer

from strangler.errors import CliError, cli_errors

app = typer.Typer()


@app.command()
@cli_errors
def dashboards(
    check: bool = typer.Option(False, "--check", help="Only check the committed JSON is up to date"),
) -> None:
    """Write dashboards/*.json from dashboards/src/ (grafana-foundation-sdk)."""
    try:
        from dashboards.build import DASHBOARD_DIR, stale, write_all
    except ModuleNotFoundError as exc:
        raise CliError(f"{exc.name} is not installed: pip install -e '.[dev]'") from None

    if check:
        out_of_date = stale()
        if out_of_date:
            raise CliError(f"out of date: {', '.join(out_of_date)}; run `strangler dashboards`")
        typer.echo("dashboards are up to date")
        return
    for path in write_all():
        typer.echo(f"wrote {path.relative_to(DASHBOARD_DIR.parent)}")
