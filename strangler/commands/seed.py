"""`strangler seed`: the demo data, and fresh demo API tokens (shown once)."""

from __future__ import annotations

import asyncio

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from strangler.errors import cli_errors

app = typer.Typer()
console = Console(width=160)


def run_seed() -> list[tuple[str, str, str]]:
    """Create the demo data when missing; return fresh (user, role, token) rows."""
    from core.database import open_database
    from legacy_app.database import TORTOISE_ORM
    from strangler import demo_data

    async def seed() -> list[demo_data.DemoToken]:
        async with open_database(TORTOISE_ORM):
            if await demo_data.demo_data_present():
                console.print("demo data already present; issuing fresh demo tokens")
            else:
                with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
                    task = bar.add_task("seeding", total=None)
                    await demo_data.create_demo_data(lambda step: bar.update(task, description=step))
                console.print("demo data created")
            return await demo_data.issue_demo_tokens()

    return [(t.user, t.role, t.token) for t in asyncio.run(seed())]


def print_tokens(tokens: list[tuple[str, str, str]]) -> None:
    # Tokens are never wrapped or cut: an operator copies them from here.
    table = Table(title="demo API tokens (shown once; `strangler seed` issues new ones)")
    table.add_column("user")
    table.add_column("role")
    table.add_column("token", no_wrap=True, overflow="ignore")
    for row in tokens:
        table.add_row(*row)
    console.print(table, soft_wrap=True)


@app.command()
@cli_errors
def seed() -> None:
    """Create the demo data (when missing) and print fresh demo API tokens."""
    print_tokens(run_seed())
