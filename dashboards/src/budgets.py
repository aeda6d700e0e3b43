""" "Strangler: budgets": each side's latency and memory against the cutover gate's budgets
(plugin at most 5% slower at p50 and p95, at most 10% more resident memory), drawn as
dashed red lines. Flag changes are annotations on every panel."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.src.panels import (
    LATENCY_BUDGET,
    MEMORY_BUDGET,
    RATE,
    budget_line,
    graph,
    new_dashboard,
    query,
    threshold_line,
    verdict_stat,
)

UID = "strangler-budgets"
APPS = 'job=~"legacy_app|plugin_app"'
LEGACY = '{backend="legacy"}'
PLUGIN = '{backend="plugin"}'


def _quantile(q: float, histogram: str, by: str, selector: str = "") -> str:
    return f"histogram_quantile({q}, sum by ({by}) (rate({histogram}_bucket{selector}[{RATE}])))"


def _side_ratio(q: float, histogram: str, by: str) -> str:
    plugin = _quantile(q, histogram, by, PLUGIN)
    legacy = _quantile(q, histogram, by, LEGACY)
    return f"{plugin} / {legacy}"


def dashboard_builder() -> dashboard.Dashboard:
    shadow = "strangler_shadow_latency_seconds"
    pairs = "strangler_gate_pair_latency_seconds"
    served = "strangler_request_duration_seconds"
    return (
        new_dashboard(
            UID,
            "Strangler: budgets",
            f"Latency (plugin/legacy ≤ {LATENCY_BUDGET}) and resident memory (≤ {MEMORY_BUDGET}) per side.",
        )
        .with_row(dashboard.Row("Latency"))
        .with_panel(
            budget_line(
                budget_line(
                    graph(
                        "Paired latency: legacy vs plugin",
                        "Both sides' latency on the same mirrored requests (shadow and live modes). "
                        f"Dashed: legacy × {LATENCY_BUDGET}, the most the plugin may take.",
                        "s",
                        query(_quantile(0.5, shadow, "le, backend"), "p50 {{backend}}", "A"),
                        query(_quantile(0.95, shadow, "le, backend"), "p95 {{backend}}", "B"),
                        query(
                            f"{LATENCY_BUDGET} * {_quantile(0.5, shadow, 'le', LEGACY)}",
                            f"p50 budget (legacy × {LATENCY_BUDGET})",
                            "C",
                        ),
                        query(
                            f"{LATENCY_BUDGET} * {_quantile(0.95, shadow, 'le', LEGACY)}",
                            f"p95 budget (legacy × {LATENCY_BUDGET})",
                            "D",
                        ),
                    ),
                    "C",
                ),
                "D",
            )
        )
        .with_panel(
            threshold_line(
                graph(
                    "Plugin / legacy latency, per organization",
                    "Ratio of the quantiles of the gate's paired samples (fine buckets, ~6% apart). "
                    "The gate judges the upper end of a 95% confidence interval of this ratio.",
                    "none",
                    query(
                        _side_ratio(0.5, pairs, "le, flag, organization"),
                        "p50 {{flag}} · org {{organization}}",
                        "A",
                    ),
                    query(
                        _side_ratio(0.95, pairs, "le, flag, organization"),
                        "p95 {{flag}} · org {{organization}}",
                        "B",
                    ),
                ),
                LATENCY_BUDGET,
            )
        )
        .with_panel(
            budget_line(
                graph(
                    "Answered latency by backend",
                    "Every answer the proxy gave, by the backend that gave it (different requests "
                    "on each side: compare the paired panel for the budget).",
                    "s",
                    query(_quantile(0.5, served, "le, backend"), "p50 {{backend}}", "A"),
                    query(_quantile(0.95, served, "le, backend"), "p95 {{backend}}", "B"),
                    query(
                        f"{LATENCY_BUDGET} * {_quantile(0.95, served, 'le', LEGACY)}",
                        f"p95 budget (legacy × {LATENCY_BUDGET})",
                        "C",
                    ),
                ),
                "C",
            ).span(24)
        )
        .with_row(dashboard.Row("Memory"))
        .with_panel(
            budget_line(
                graph(
                    "Resident memory: legacy_app vs plugin_app",
                    f"Dashed: legacy_app × {MEMORY_BUDGET}, the most plugin_app may hold.",
                    "bytes",
                    query(f"avg by (job) (process_resident_memory_bytes{{{APPS}}})", "{{job}}", "A"),
                    query(
                        f'{MEMORY_BUDGET} * avg(process_resident_memory_bytes{{job="legacy_app"}})',
                        f"budget (legacy_app × {MEMORY_BUDGET})",
                        "B",
                    ),
                ),
                "B",
            )
        )
        .with_panel(
            threshold_line(
                graph(
                    "plugin_app / legacy_app resident memory",
                    f"Passes at most {MEMORY_BUDGET}.",
                    "none",
                    query(
                        'avg(process_resident_memory_bytes{job="plugin_app"})'
                        ' / avg(process_resident_memory_bytes{job="legacy_app"})',
                        "plugin_app / legacy_app",
                        "A",
                    ),
                ),
                MEMORY_BUDGET,
            )
        )
        .with_row(dashboard.Row("Gate"))
        .with_panel(
            verdict_stat(
                "Gate verdict per flag and organization",
                "The gate's last whole verdict (the worst of its budgets).",
                'max by (flag, organization) (strangler_gate_verdict{budget="all"})',
                "{{flag}} · org {{organization}}",
            )
        )
    )
