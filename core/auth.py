"""Bearer-token authentication. Only the SHA-256 of a token is ever stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Depends, Request

from core.errors import Unauthorized
from core.models import ApiToken, User

TOKEN_PREFIX = "stk_"
# Touching last_used_at on every request would turn every read into a write; once a
# minute is precise enough for "last used".
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def issue_token(user: User, name: str = "", expires_at: datetime | None = None) -> str:
    """Create a token for `user` and return it; this is the only time it is visible."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await ApiToken.create(user=user, name=name, token_hash=hash_token(token), expires_at=expires_at)
    return token


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("Missing bearer token")
    return value.strip()


async def authenticate(token: str) -> User:
    """The user behind an active, unexpired token, or Unauthorized."""
    record = await ApiToken.get_or_none(token_hash=hash_token(token)).select_related("user")
    now = datetime.now(UTC)
    if record is None or not record.is_active or (record.expires_at and record.expires_at <= now):
        raise Unauthorized("Invalid or expired token")
    if record.last_used_at is None or now - record.last_used_at >= LAST_USED_RESOLUTION:
        await ApiToken.filter(id=record.id).update(last_used_at=now)
    return record.user


async def current_user(request: Request) -> User:
    return await authenticate(_bearer(request))


CurrentUser = Annotated[User, Depends(current_user)]
