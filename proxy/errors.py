"""The proxy's own errors, and the one place they become HTTP responses.

    ProxyError                 a JSON {"detail": ...} answer with `status`
    ├── RequestTooLarge        413: the body is over the configured limit
    ├── InvalidSignature       401: a Discord interaction that is unsigned or tampered
    ├── MalformedInteraction   400: a signed interaction that is not interaction JSON
    ├── NotFound               404: a reserved /_strangler/ path nobody serves
    └── BackendError           the backend could not answer (names it)
        ├── BackendUnavailable 502: refused, reset or closed before answering
        └── BackendTimeout     504: no connection or no answer in time

Errors from the HTTP client are translated into BackendError where they enter
(proxy.forwarding), so nothing above it knows which client is in use.
"""

from __future__ import annotations

from enum import StrEnum

from proxy.asgi import Send, send_json
from proxy.modes import Backend


class ProxyError(Exception):
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class RequestTooLarge(ProxyError):
    status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body is larger than {limit} bytes")


class InvalidSignature(ProxyError):
    status = 401


class MalformedInteraction(ProxyError):
    status = 400


class NotFound(ProxyError):
    status = 404


class BackendErrorKind(StrEnum):
    """The `kind` label of strangler_backend_errors_total."""

    UNAVAILABLE = "unavailable"
    TIMEOUT = "timeout"
    ABORTED = "aborted"  # the answer broke off after it had begun; the client saw a short response


class BackendError(ProxyError):
    kind: BackendErrorKind

    def __init__(self, backend: Backend, what: str) -> None:
        super().__init__(f"{backend} backend {what}")
        self.backend = backend


class BackendUnavailable(BackendError):
    status = 502
    kind = BackendErrorKind.UNAVAILABLE

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend, "unavailable")


class BackendTimeout(BackendError):
    status = 504
    kind = BackendErrorKind.TIMEOUT

    def __init__(self, backend: Backend) -> None:
        super().__init__(backend, "timed out")


async def send_error(send: Send, error: ProxyError, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await send_json(send, error.status, {"detail": error.detail}, headers)
