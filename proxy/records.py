"""The proxy's own records (the audit log, the mismatches) as the proxy process holds
them: one database connection, opened on first use and shared by the operator API and
the shadow mirror.

Imported on first use, like the operator API: Tortoise and asyncpg add megabytes to a
proxy that may never need them (nothing mirrored, no operator call).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from proxy.database import ProxyDatabase
    from proxy.shadow.records import MismatchLog


class ProxyRecords:
    def __init__(self, database_url: str, *, mismatch_retention: int) -> None:
        self._database_url = database_url
        self._retention = mismatch_retention
        self._database: ProxyDatabase | None = None
        self._mismatches: MismatchLog | None = None

    def database(self) -> ProxyDatabase:
        if self._database is None:
            from proxy.database import ProxyDatabase

            self._database = ProxyDatabase(self._database_url)
        return self._database

    async def mismatches(self) -> MismatchLog:
        if self._mismatches is None:
            from proxy.shadow.records import MismatchLog

            self._mismatches = MismatchLog(self.database(), self._retention)
        return self._mismatches

    async def close(self) -> None:
        if self._database is not None:
            await self._database.close()
