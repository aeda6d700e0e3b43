"""The live flag document on disk: one lock every process honours, creation from the
checked-in seed, and the atomic replace with a strictly newer mtime (the flagd provider
ignores a file whose mtime did not grow). The proxy's start-up and the flag store both
go through it, so the live file is created one way only."""

from __future__ import annotations

import asyncio
import fcntl
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from pathlib import Path

from proxy.flags.document import FlagDocument, parse_document_text
from proxy.flags.errors import DocumentError, FlagsFileError
from proxy.flags.validation import validate_candidate

LOCK_POLL_S = 0.01
LOCK_TIMEOUT_S = 30.0
# Coarse file timestamps can repeat within a few ms; the provider compares float seconds.
MTIME_STEP_NS = 1_000_000


class FlagFile:
    """The live flag document on disk, created from the checked-in seed on first use."""

    def __init__(self, path: Path, seed_path: Path) -> None:
        self.path = path.resolve()
        self.seed_path = seed_path.resolve()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    @asynccontextmanager
    async def locked(self) -> AsyncIterator[None]:
        """Exclusive across processes and within one (each call opens its own descriptor,
        and flock locks belong to the open file). Polled, so waiting never blocks a loop."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise FlagsFileError(
                            f"another flag change has held {self.lock_path} for over {LOCK_TIMEOUT_S:.0f} s"
                        ) from None
                    await asyncio.sleep(LOCK_POLL_S)
            yield
        finally:
            os.close(fd)

    def read_text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise FlagsFileError(f"the flags file {self.path} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise FlagsFileError(f"cannot read the flags file {self.path}: {exc}") from None

    def read(self) -> FlagDocument:
        """The live document; a FlagsFileError when it cannot be built on."""
        try:
            return parse_document_text(self.read_text(), source="it")
        except DocumentError as exc:
            raise FlagsFileError(
                f"the flags file {self.path} is broken: {exc.detail}; refusing to change flags on top of it. "
                f"Fix it, or replace it: strangler apply-flags {self.seed_path} --reason '...'"
            ) from None

    def create_from_seed(self) -> None:
        """Call under the lock: write the seed as the live document if there is none."""
        if self.path.exists():
            return
        try:
            seed_text = self.seed_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise FlagsFileError(f"cannot read the seed flags {self.seed_path}: {exc}") from None
        validate_candidate(seed_text)
        self.commit(self.prepare(seed_text))

    def prepare(self, text: str) -> Path:
        """A durable temp file holding `text`, beside the live file so the rename is atomic."""
        fd, name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as temp:
                temp.write(text)
                temp.flush()
                os.fsync(temp.fileno())
            os.chmod(name, 0o644)
        except BaseException:
            with suppress(FileNotFoundError):
                os.unlink(name)
            raise
        return Path(name)

    def commit(self, temp: Path) -> None:
        """Rename `temp` over the live file with a strictly greater mtime."""
        with suppress(FileNotFoundError):
            old_ns = self.path.stat().st_mtime_ns
            if temp.stat().st_mtime_ns <= old_ns:
                new_ns = old_ns + MTIME_STEP_NS
                os.utime(temp, ns=(new_ns, new_ns))
        os.replace(temp, self.path)
        directory = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
