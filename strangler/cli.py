"""`strangler`: seed demo data, run the apps and the proxy, operate the migration."""

from __future__ import annotations

import typer

from strangler.commands import (
    bench,
    dashboards,
    discord_bridge,
    gate,
    loadtest,
    operator,
    seed,
    servers,
    shadow,
    up,
)

app = typer.Typer(
    name="strangler",
    help="Feature-flag driven strangler-fig migration of the tournament platform.",
    no_args_is_help=True,
    add_completion=False,
)
for module in (servers, operator, gate, shadow, discord_bridge, seed, up, loadtest, dashboards, bench):
    app.registered_commands.extend(module.app.registered_commands)

if __name__ == "__main__":
    app()
