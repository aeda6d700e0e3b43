"""`strangler bench`: the benchmarks of issue 8 (benchmarks/ in a source checkout), which
write their tables to docs/performance.md. Every argument goes to `python -m benchmarks`
(`strangler bench --help` shows them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import typer

from strangler.errors import CliError, cli_errors

app = typer.Typer()
CHECKOUT = Path(__file__).resolve().parents[2]


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
@cli_errors
def bench(ctx: typer.Context) -> None:
    """Run the benchmarks (--quick: ~2 minutes; default ~10) and update docs/performance.md."""
    if not (CHECKOUT / "benchmarks" / "__main__.py").exists():
        raise CliError(f"no benchmarks/ next to {CHECKOUT / 'strangler'}: run it from a source checkout")
    raise typer.Exit(subprocess.call([sys.executable, "-m", "benchmarks", *ctx.args], cwd=CHECKOUT))
