"""Running the apps: `strangler legacy`, `strangler migrate`."""

from __future__ import annotations

import asyncio

import typer
import uvicorn

from strangler.errors import cli_errors

app = typer.Typer()


def serve(app_path: str, host: str, port: int, *, edge: bool = False) -> None:
    """Run an ASGI app; `edge` is for the proxy, which must not trust clients' X-Forwarded-*."""
    uvicorn.run(
        app_path,
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        proxy_headers=not edge,
    )


@app.command()
@cli_errors
def legacy(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8001, help="Port to listen on"),
) -> None:
    """Run legacy_app (the monolith)."""
    serve("legacy_app.main:app", host, port)


@app.command()
@cli_errors
def plugin(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8002, help="Port to listen on"),
) -> None:
    """Run plugin_app (core + plugin system + built-in plugins)."""
    serve("plugin_app.main:app", host, port)


@app.command()
@cli_errors
def proxy(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on"),
    port: int = typer.Option(8000, help="Port to listen on"),
) -> None:
    """Run the routing proxy in front of both apps."""
    serve("proxy.main:app", host, port, edge=True)


@app.command()
@cli_errors
def migrate() -> None:
    """Apply the shared schema's migrations (core and the two systems' tables)."""
    run_migrations()
    typer.echo("schema is up to date")


def run_migrations() -> None:
    # The shared tables' migrations belong to core and legacy_app (the schema's owner).
    from core.database import migrate as apply_migrations
    from legacy_app.database import TORTOISE_ORM

    asyncio.run(apply_migrations(TORTOISE_ORM))
