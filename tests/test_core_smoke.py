import httpx

from tests.factory import Factory
from tests.servers import Server


def test_health_and_auth_shapes(legacy_server: Server, factory: Factory) -> None:
    assert httpx.get(legacy_server.url + "/healthz").json() == {"status": "ok"}
    caller = factory.user()
    assert caller.token.startswith("stk_")
