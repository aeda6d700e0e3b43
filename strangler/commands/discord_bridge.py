"""`strangler discord-bridge`: relay a gateway bot's interactions through the proxy."""

from __future__ import annotations

import asyncio

import typer

from proxy.discord_bridge import new_key_pair, run_bridge, signing_key
from proxy.settings import get_settings
from strangler.errors import CliError, cli_errors

app = typer.Typer()


@app.command("discord-bridge")
@cli_errors
def discord_bridge(
    new_key: bool = typer.Option(False, "--new-key", help="Print a fresh signing key pair and exit"),
) -> None:
    """Run a discord.py gateway client that hands each interaction to the proxy and sends the reply back."""
    if new_key:
        seed, public = new_key_pair()
        typer.echo(f"STRANGLER_DISCORD_BRIDGE_SIGNING_KEY={seed}   # for the bridge")
        typer.echo(f"STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY={public}   # for the proxy")
        return
    settings = get_settings()
    if not settings.discord_bot_token:
        raise CliError("set STRANGLER_DISCORD_BOT_TOKEN to the bot's token")
    if not settings.discord_bridge_signing_key:
        raise CliError(
            "set STRANGLER_DISCORD_BRIDGE_SIGNING_KEY (and the proxy's STRANGLER_DISCORD_BRIDGE_PUBLIC_KEY); "
            "`strangler discord-bridge --new-key` prints a pair"
        )
    try:
        key = signing_key(settings.discord_bridge_signing_key)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"relaying interactions to {settings.proxy_url}/discord/interactions")
    asyncio.run(run_bridge(settings.proxy_url, settings.discord_bot_token, key))
