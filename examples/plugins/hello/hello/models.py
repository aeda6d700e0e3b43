"""The plugin's tables. Relations to core models by their "core.Model" names; the plugin
owns these tables through its migrations (app label `plugin_hello`)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class Greeting(Model):
    id = fields.IntField(primary_key=True)
    organization = fields.ForeignKeyField(
        "core.Organization", related_name="hello_greetings", on_delete=fields.CASCADE
    )
    created_by = fields.ForeignKeyField(
        "core.User", related_name="hello_greetings", null=True, on_delete=fields.SET_NULL
    )
    name = fields.CharField(max_length=100)
    text = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hello_greetings"


# Each lifecycle hook call, so its moment can be observed from outside. (No docstring:
# Tortoise writes model docstrings into table comments, unescaped.)
class HookCall(Model):
    id = fields.IntField(primary_key=True)
    hook = fields.CharField(max_length=20)
    organization_id = fields.IntField(null=True)
    config = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hello_hook_calls"
