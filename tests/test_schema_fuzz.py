"""Fuzz legacy_app's OpenAPI schema with schemathesis (bounded examples): no input may
produce a 5xx, and every error must be JSON with a `detail`."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from core.models import Permission
from legacy_app.main import app as legacy_app
from tests.factory import Caller, Factory
from tests.servers import Server

MAX_EXAMPLES = 20


@pytest.fixture(scope="session")
def fuzz_admin(factory: Factory) -> Caller:
    """A global admin gets past authorization, so the fuzzer reaches the domain code."""
    return factory.user(permission=Permission.ADMIN)


# The schema comes from the app object (no I/O at import); the calls go to the real server.
schema = schemathesis.openapi.from_dict(legacy_app.openapi())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: schemathesis.Case, fuzz_admin: Caller, legacy_server: Server) -> None:
    response = case.call(base_url=legacy_server.url, headers=fuzz_admin.headers, timeout=10)
    assert response.status_code < 500, (
        f"{case.method} {case.formatted_path} -> {response.status_code}: {response.text[:500]}"
    )
    if response.status_code >= 400:
        body = response.json()
        assert "detail" in body, body
