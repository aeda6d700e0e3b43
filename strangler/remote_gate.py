"""The cutover gate as the CLI reaches it. The paired latency samples live in the proxy
process, so without Prometheus the CLI asks the running proxy's operator API
(GET {STRANGLER_PROXY_URL}/_strangler/api/gate); with PROMETHEUS_URL set it evaluates
here, from Prometheus. When neither can be read the verdict is inconclusive, every
budget saying why - and an inconclusive gate refuses a move.
"""

from __future__ import annotations

import time

import httpx

from proxy.gate.budgets import Budgets
from proxy.gate.evaluation import CutoverGate
from proxy.gate.observations import unavailable
from proxy.gate.prometheus import PrometheusSource
from proxy.gate.verdict import GateEvaluation
from proxy.modes import Surface
from proxy.settings import ProxySettings

GATE_PATH = "/_strangler/api/gate"
# The proxy runs the bootstrap before it answers; a few seconds on a busy machine.
PROXY_TIMEOUT_S = 30.0


async def evaluate(settings: ProxySettings, surface: Surface, organization: int) -> GateEvaluation:
    """The gate's verdict for one flag and organization; never raises for an unreachable
    source (the verdict is then inconclusive and says why)."""
    budgets = Budgets.from_settings(settings)
    if settings.prometheus_url:
        gate = CutoverGate(
            PrometheusSource(settings.prometheus_url), budgets, window_s=settings.gate_window_s
        )
        return await gate.evaluate(surface, organization)
    why = await _ask_proxy(settings, surface, organization)
    if isinstance(why, GateEvaluation):
        return why
    observed = unavailable(why)
    return GateEvaluation(
        surface, organization, "none", settings.gate_window_s, time.time(), budgets.judge(observed)
    )


async def _ask_proxy(settings: ProxySettings, surface: Surface, organization: int) -> GateEvaluation | str:
    url = settings.proxy_url.rstrip("/") + GATE_PATH
    unreachable = f"PROMETHEUS_URL is not set and the proxy at {settings.proxy_url}"
    try:
        async with httpx.AsyncClient(timeout=PROXY_TIMEOUT_S) as client:
            response = await client.get(
                url,
                params={"flag": surface.value, "organization_id": organization},
                headers={"Authorization": f"Bearer {settings.admin_token}"},
            )
    except httpx.HTTPError as exc:
        return (
            f"{unreachable} could not be reached ({type(exc).__name__}: {exc}): the gate cannot be evaluated"
        )
    if response.status_code != 200:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text[:200]
        return f"{unreachable} answered HTTP {response.status_code} ({detail}): the gate cannot be evaluated"
    try:
        return GateEvaluation.from_json(response.json())
    except (ValueError, KeyError, TypeError) as exc:
        return f"the proxy at {settings.proxy_url} answered something that is not a verdict ({exc})"
