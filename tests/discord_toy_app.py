"""A tiny app on the platform skeleton with toy Discord commands, for
tests/test_core_discord.py. ASGI app: `tests.discord_toy_app:app`."""

from __future__ import annotations

import asyncio
from typing import Any

import discord
from discord import app_commands

from core.discord import DiscordNotifier, InteractionEndpoint, capture_outbound
from core.web import create_platform_app

app = create_platform_app(title="Discord toy", tortoise_apps={}, migrate_labels=["core"])
endpoint: InteractionEndpoint = app.state.discord
notifier: DiscordNotifier = app.state.notifier
tree = endpoint.tree


@tree.command(name="echo", description="Repeat some text")
async def echo(interaction: discord.Interaction, text: str, times: app_commands.Range[int, 1, 5] = 1) -> None:
    await interaction.response.send_message(content=text * times)


@tree.command(name="whisper", description="Answer only to the caller")
async def whisper(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(content=f"psst: {text}", ephemeral=True)


@tree.command(name="whoami", description="Show who and where the caller is")
async def whoami(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(
        content=f"user={interaction.user.id} channel={interaction.channel_id} guild={interaction.guild_id}",
        ephemeral=True,
    )


@tree.command(name="card", description="An embed with a button")
async def card(interaction: discord.Interaction, number: int) -> None:
    embed = discord.Embed(title=f"Card {number}", description="Press the button", color=0x2ECC71)
    embed.add_field(name="Runs per pool", value="1", inline=True)
    embed.set_footer(text=f"Card ID: {number}")
    view = discord.ui.View(timeout=None)
    view.add_item(
        discord.ui.Button(label="Press", style=discord.ButtonStyle.primary, custom_id=f"toy:press:{number}")
    )
    await interaction.response.send_message(embed=embed, view=view)


@tree.command(name="boom", description="Always fails")
async def boom(interaction: discord.Interaction) -> None:
    raise RuntimeError("the toy command failed on purpose")


@tree.command(name="silent", description="Never replies")
async def silent(interaction: discord.Interaction) -> None:
    return None


@tree.command(name="slow", description="Replies far too late")
async def slow(interaction: discord.Interaction) -> None:
    await asyncio.sleep(30)
    await interaction.response.send_message(content="too late")


@tree.command(name="managers", description="Only for managers")
@app_commands.check(lambda interaction: False)
async def managers(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(content="welcome, manager")


@tree.command(name="later", description="Defers, then edits the reply")
async def later(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.defer(ephemeral=True, thinking=True)
    await interaction.edit_original_response(content=f"later: {text}")


@tree.command(name="notify", description="Posts a message in this channel through the notifier")
async def notify(interaction: discord.Interaction, text: str) -> None:
    assert interaction.channel_id is not None
    await notifier.send_message(interaction.channel_id, text)
    await interaction.response.send_message(content="notified", ephemeral=True)


@tree.command(name="thread", description="Opens a thread through the notifier")
async def thread(interaction: discord.Interaction, name: str) -> None:
    assert interaction.channel_id is not None
    thread_id = await notifier.create_thread(interaction.channel_id, name, private=True)
    if thread_id is not None:
        await notifier.add_thread_member(thread_id, interaction.user.id)
    await interaction.response.send_message(content=f"thread={thread_id}", ephemeral=True)


FRUITS = ["apple", "apricot", "banana", "cherry"]


@tree.command(name="pick", description="Pick a fruit")
async def pick(interaction: discord.Interaction, fruit: str) -> None:
    await interaction.response.send_message(content=f"picked {fruit}")


@pick.autocomplete("fruit")
async def pick_fruit(interaction: discord.Interaction, current: str) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]


toy = app_commands.Group(name="toy", description="Toy subcommands")


@toy.command(name="add", description="Add two numbers")
async def add(interaction: discord.Interaction, a: int, b: int) -> None:
    await interaction.response.send_message(content=str(a + b))


tree.add_command(toy)


@endpoint.component("toy:press:")
async def press(interaction: discord.Interaction) -> None:
    number = (interaction.custom_id or "").removeprefix("toy:press:")
    await interaction.response.send_message(
        content=f"pressed {number} by {interaction.user.id}", ephemeral=True
    )


@endpoint.component("toy:")
async def any_toy(interaction: discord.Interaction) -> None:
    await interaction.response.send_message(content=f"generic {interaction.custom_id}", ephemeral=True)


@endpoint.component("toy:update:")
async def update(interaction: discord.Interaction) -> None:
    await interaction.response.edit_message(content="updated", view=None)


@endpoint.component("toy:broken:")
async def broken(interaction: discord.Interaction) -> None:
    raise RuntimeError("the toy button failed on purpose")


@app.get("/toy/outbound")
async def outbound() -> list[dict[str, Any]]:
    return [call.to_json() for call in notifier.recent()]


@app.post("/toy/dry-notify")
async def dry_notify(channel_id: int, text: str) -> dict[str, Any]:
    """What a dry-run boundary does: outbound calls made inside are captured, not sent."""
    with capture_outbound() as calls:
        await notifier.send_message(channel_id, text)
        thread_id = await notifier.create_thread(channel_id, text)
    return {"thread_id": thread_id, "captured": [call.to_json() for call in calls]}


@app.post("/toy/dry-interaction")
async def dry_interaction(payload: dict[str, Any]) -> dict[str, Any]:
    """An interaction run as a dry-run: the reply is real, its follow-ups are captured."""
    with capture_outbound():
        return await endpoint.handle(payload)
