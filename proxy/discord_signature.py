"""Discord's request signature: Ed25519 over `X-Signature-Timestamp + raw body`, checked
against the application's public key (and the discord bridge's, when one is configured:
the bridge signs what it hands over the same way, so there is one door in, not two)."""

from __future__ import annotations

from collections.abc import Iterable

from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey


class SignatureVerifier:
    def __init__(self, public_keys: Iterable[tuple[str, str]]) -> None:
        """`public_keys`: (setting name, hex key) pairs; empty keys are skipped."""
        self._keys: list[VerifyKey] = []
        for setting, hex_key in public_keys:
            if not hex_key:
                continue
            try:
                self._keys.append(VerifyKey(bytes.fromhex(hex_key)))
            except ValueError as exc:
                raise ValueError(f"{setting} is not a hex Ed25519 public key: {exc}") from None

    @property
    def configured(self) -> bool:
        return bool(self._keys)

    def verify(self, signature_hex: bytes | None, timestamp: bytes | None, body: bytes) -> bool:
        if not signature_hex or not timestamp:
            return False
        try:
            signature = bytes.fromhex(signature_hex.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return False
        message = timestamp + body
        for key in self._keys:
            try:
                key.verify(message, signature)
                return True
            except (BadSignatureError, ValueError):
                continue
        return False
