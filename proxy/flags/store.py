"""The one way the live flag document changes.

Every change — a flip, a rollback, the kill switch, a whole document — takes the same
path, under an exclusive lock that every process (proxy replicas on one host, operator
commands) honours: read the live document, build the new one, validate it (structure and
flagd's own evaluator), write it to a temp file in the same folder and fsync it, append
the audit rows in a transaction, rename the temp file over the live one, commit. The
renamed file's modification time is made strictly greater than the old one's, because the
flagd provider ignores a file whose mtime did not grow. If the audit commit fails after
the rename, the previous document is put back the same way, so the file and the log never
disagree. A document that fails validation is never written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxy.database import ProxyDatabase
from proxy.flags.audit import AuditLog
from proxy.flags.document import Assignment, Change, FlagDocument
from proxy.flags.errors import FlagsFileError, GateRefused, InvalidChange
from proxy.flags.flag_file import FlagFile
from proxy.flags.gate import Gate, GateVerdict, needs_gate, not_checked
from proxy.flags.validation import validate_candidate
from proxy.modes import Surface
from proxy.settings import ProxySettings

# The audit row's flag when a whole document replaced a file that could not be read.
BROKEN_FILE_FLAG = "*"


@dataclass(frozen=True)
class Applied:
    """What one write changed (empty when the document already said so: nothing written)."""

    changes: list[Change]
    gate_verdict: GateVerdict | None = None
    forced: bool = False


class FlagStore:
    """Flips, rollbacks, the kill switch and whole documents, all through `_change`."""

    def __init__(self, flag_file: FlagFile, audit: AuditLog, gate: Gate = not_checked) -> None:
        self.file = flag_file
        self.audit = audit
        self.gate = gate

    @classmethod
    def from_settings(
        cls, settings: ProxySettings, database: ProxyDatabase, gate: Gate = not_checked
    ) -> FlagStore:
        return cls(FlagFile(settings.flags_path, settings.seed_flags_path), AuditLog(database), gate)

    async def read(self) -> FlagDocument:
        if not self.file.path.exists():
            async with self.file.locked():
                self.file.create_from_seed()
        return self.file.read()

    async def flip(
        self,
        flag: Surface,
        organization_id: int,
        to: Assignment,
        *,
        actor: str,
        reason: str,
        force: bool = False,
    ) -> Applied:
        """Move one organization of one flag; a move that lets the plugin answer asks the gate."""
        reason = _required(reason)
        if organization_id <= 0:
            raise InvalidChange(f"organization id must be a positive integer, not {organization_id}")
        verdict = await self.gate(flag, organization_id, to) if needs_gate(to) else None
        if verdict is not None and not verdict.allows and not force:
            raise GateRefused(
                f"the cutover gate says {verdict.value} for {flag.value} of organization {organization_id}; "
                f"refusing the move to {to} (force it with a reason if you must)"
            )
        forced = verdict is not None and not verdict.allows
        return await self._change(
            lambda doc: doc.with_assignment(flag, organization_id, to),
            actor=actor,
            reason=reason,
            gate_verdict=verdict,
            forced=forced,
        )

    async def rollback(self, organization_id: int | None, *, actor: str, reason: str) -> Applied:
        """Every flag of one organization (or of all, when None) back to legacy, in one
        write. Never gated."""
        if organization_id is not None and organization_id <= 0:
            raise InvalidChange(f"organization id must be a positive integer, not {organization_id}")
        return await self._change(
            lambda doc: doc.rolled_back(organization_id), actor=actor, reason=_required(reason)
        )

    async def set_kill_switch(self, on: bool, *, actor: str, reason: str) -> Applied:
        return await self._change(lambda doc: doc.with_kill_switch(on), actor=actor, reason=_required(reason))

    async def apply_document(self, text: str, *, actor: str, reason: str) -> Applied:
        """Replace the whole document (e.g. restore the seed), after the same validation."""
        reason = _required(reason)
        new = validate_candidate(text)
        return await self._change(lambda _: new, actor=actor, reason=reason, replaces_broken=True)

    async def _change(
        self,
        edit: Callable[[FlagDocument], FlagDocument],
        *,
        actor: str,
        reason: str,
        gate_verdict: GateVerdict | None = None,
        forced: bool = False,
        replaces_broken: bool = False,
    ) -> Applied:
        await self.audit.database.open()
        async with self.file.locked():
            self.file.create_from_seed()
            previous_text = self.file.read_text()
            try:
                current = self.file.read()
                changes: list[Change] = []
            except FlagsFileError:
                if not replaces_broken:
                    raise
                # Only a whole document may replace a broken file; log it against all-legacy.
                current = FlagDocument()
                changes = [Change(BROKEN_FILE_FLAG, None, "unreadable", "replaced")]
            new = edit(current)
            changes += current.changes_to(new)
            if not changes:
                return Applied([], gate_verdict, forced)
            text = new.render()
            validate_candidate(text)
            temp = self.file.prepare(text)
            replaced = False
            try:
                async with self.audit.recording(
                    changes, actor=actor, reason=reason, gate_verdict=gate_verdict, forced=forced
                ):
                    self.file.commit(temp)
                    replaced = True
            except BaseException:
                if replaced:
                    self.file.commit(self.file.prepare(previous_text))
                raise
            finally:
                temp.unlink(missing_ok=True)
        return Applied(changes, gate_verdict, forced)


def _required(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise InvalidChange("a reason is required")
    return reason
