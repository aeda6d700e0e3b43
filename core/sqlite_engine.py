"""A Tortoise SQLite engine whose transactions take the write lock up front.

Two processes (legacy_app and plugin_app) share one SQLite file in the embedded default.
With a plain `BEGIN`, a transaction that reads and then writes must upgrade its lock, and
SQLite refuses that upgrade at once with "database is locked" — the busy timeout does not
apply. `BEGIN IMMEDIATE` waits (up to the busy timeout) for the writer instead.
"""

from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import (
    SqliteClient,
    SqliteTransactionContext,
    SqliteTransactionWrapper,
)
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient
