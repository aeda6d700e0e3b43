"""`strangler seed`: the demo data, and fresh demo API tokens (shown once).

`--tokens-file PATH` also writes the tokens, with every demo member's ids and Discord ids,
as JSON readable by the owner only (mode 600): that is how `strangler loadtest` and
loadtests/locustfile.py learn who to be. `--json` prints the same document instead of the table.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn
from rich.table import Table

from strangler.errors import CliError, cli_errors

app = typer.Typer()
console = Console(width=160)
TOKENS_FILE_MODE = 0o600
# Where `strangler up` leaves the credentials it issued, and where `strangler loadtest`
# looks for them by default.
DEMO_TOKENS_FILE = Path(__file__).resolve().parents[2] / "var" / "demo-tokens.json"
CREDENTIALS_VERSION = 1


@dataclass(frozen=True)
class DemoCredentials:
    tokens: list[Any]  # strangler.demo_data.DemoToken (imported lazily: it pulls in the ORM)
    members: list[Any]  # strangler.demo_data.DemoMember

    def to_json(self) -> dict[str, Any]:
        return {
            "version": CREDENTIALS_VERSION,
            "tokens": [token.to_json() for token in self.tokens],
            "members": [member.to_json() for member in self.members],
        }


def run_seed() -> list[tuple[str, str, str]]:
    """Create the demo data when missing; return fresh (user, role, token) rows."""
    return [(t.user, t.role, t.token) for t in seed_demo().tokens]


def seed_demo(output: Console = console) -> DemoCredentials:
    """Create the demo data when missing; issue fresh demo tokens."""
    from core.database import open_database
    from legacy_app.database import TORTOISE_ORM
    from strangler import demo_data

    async def seed() -> DemoCredentials:
        async with open_database(TORTOISE_ORM):
            if await demo_data.demo_data_present():
                output.print("demo data already present; issuing fresh demo tokens")
            else:
                with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=output) as bar:
                    task = bar.add_task("seeding", total=None)
                    await demo_data.create_demo_data(lambda step: bar.update(task, description=step))
                output.print("demo data created")
            return DemoCredentials(await demo_data.issue_demo_tokens(), await demo_data.demo_members())

    return asyncio.run(seed())


def write_tokens_file(path: Path, credentials: DemoCredentials) -> None:
    """Write the credentials readable by the owner only, even over an older, wider file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, TOKENS_FILE_MODE)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            os.fchmod(file.fileno(), TOKENS_FILE_MODE)
            json.dump(credentials.to_json(), file, indent=2)
            file.write("\n")
    except OSError as exc:
        raise CliError(f"cannot write the tokens file {path}: {exc.strerror or exc}") from None


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
def seed(
    tokens_file: Path | None = typer.Option(
        None, "--tokens-file", help="Also write the tokens and members as JSON here (mode 600)"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of the table"),
) -> None:
    """Create the demo data (when missing) and print fresh demo API tokens."""
    credentials = seed_demo(Console(stderr=True) if as_json else console)
    if tokens_file is not None:
        write_tokens_file(tokens_file, credentials)
    if as_json:
        typer.echo(json.dumps(credentials.to_json(), indent=2))
        return
    print_tokens([(t.user, t.role, t.token) for t in credentials.tokens])
    if tokens_file is not None:
        console.print(f"tokens written to {tokens_file} (readable by you only)")
