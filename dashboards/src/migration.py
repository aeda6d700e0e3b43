""" "Strangler: migration": where traffic goes, whether the two sides agree, what the gate
says, and what fails. Flag changes are annotations on every panel."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard

from dashboards.src.panels import RATE, graph, new_dashboard, query, stacked, verdict_timeline

UID = "strangler-migration"


def dashboard_builder() -> dashboard.Dashboard:
    return (
        new_dashboard(
            UID,
            "Strangler: migration",
            "Traffic per mode and organization, shadow comparison, the cutover gate and errors.",
        )
        .with_row(dashboard.Row("Traffic"))
        .with_panel(
            stacked(
                graph(
                    "Requests by mode",
                    "Answers per second, by the mode their organization was in.",
                    "reqps",
                    query(f"sum by (mode) (rate(strangler_requests_total[{RATE}]))", "{{mode}}", "A"),
                )
            )
        )
        .with_panel(
            graph(
                "Requests by organization and mode",
                'Organizations appear by id while they are out of legacy mode; the rest are "other".',
                "reqps",
                query(
                    f"sum by (organization, mode) (rate(strangler_requests_total[{RATE}]))",
                    "org {{organization}} · {{mode}}",
                    "A",
                ),
            )
        )
        .with_panel(
            stacked(
                graph(
                    "Answered by backend, per flag",
                    "Which app answered the client (mirrors not included).",
                    "reqps",
                    query(
                        f"sum by (flag, backend) (rate(strangler_requests_total[{RATE}]))",
                        "{{flag}} · {{backend}}",
                        "A",
                    ),
                )
            )
        )
        .with_panel(
            graph(
                "Routing decisions by reason",
                "flag: the flag decided; kill_switch, no_organization, provider_error, unknown_variant "
                "and error all mean legacy.",
                "reqps",
                query(f"sum by (reason) (rate(strangler_decisions_total[{RATE}]))", "{{reason}}", "A"),
            )
        )
        .with_row(dashboard.Row("Shadow comparison"))
        .with_panel(
            graph(
                "Shadow match rate, per flag",
                "Compared pairs whose answers were the same (after ignore rules and learned noise).",
                "percentunit",
                query(
                    f"sum by (flag) (rate(strangler_shadow_matched_total[{RATE}]))"
                    f" / sum by (flag) (rate(strangler_shadow_compared_total[{RATE}]))",
                    "{{flag}}",
                    "A",
                ),
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            graph(
                "Shadow match rate, per organization",
                "The cutover gate's comparisons: one line per flag and organization in shadow or live.",
                "percentunit",
                query(
                    "sum by (flag, organization) "
                    f'(rate(strangler_gate_comparisons_total{{result="matched"}}[{RATE}]))'
                    f" / sum by (flag, organization) (rate(strangler_gate_comparisons_total[{RATE}]))",
                    "{{flag}} · org {{organization}}",
                    "A",
                ),
            )
            .min(0)
            .max(1)
        )
        .with_panel(
            graph(
                "Mirrors per second",
                "Compared, mismatched, and dropped because too many were in flight.",
                "ops",
                query(
                    f"sum by (flag) (rate(strangler_shadow_compared_total[{RATE}]))", "compared {{flag}}", "A"
                ),
                query(
                    f"sum by (flag) (rate(strangler_shadow_mismatched_total[{RATE}]))",
                    "mismatched {{flag}}",
                    "B",
                ),
                query(
                    f"sum by (flag) (rate(strangler_shadow_dropped_total[{RATE}]))", "dropped {{flag}}", "C"
                ),
            )
        )
        .with_panel(
            graph(
                "Mirrors without a verdict, and in flight",
                "Why a mirror could not be compared (timeouts, refused dry runs, ...), and how many run now.",
                "short",
                query(
                    f"sum by (reason) (rate(strangler_shadow_errors_total[{RATE}]))",
                    "no verdict: {{reason}}",
                    "A",
                ),
                query("sum(strangler_shadow_in_flight)", "in flight", "B"),
            )
        )
        .with_row(dashboard.Row("Cutover gate"))
        .with_panel(
            verdict_timeline(
                "Gate verdicts",
                "The gate's last verdict per flag, organization and budget (all: the whole verdict).",
                "max by (flag, organization, budget) (strangler_gate_verdict)",
                "{{flag}} · org {{organization}} · {{budget}}",
            )
        )
        .with_panel(
            graph(
                "Guard rollbacks",
                "Organizations the guard sent back to legacy because a budget broke after cutover.",
                "short",
                query(f"sum by (flag) (increase(strangler_guard_rollbacks_total[{RATE}]))", "{{flag}}", "A"),
            ).span(24)
        )
        .with_row(dashboard.Row("Errors"))
        .with_panel(
            graph(
                "Backend errors",
                "Backends that refused the connection, timed out or broke off an answer.",
                "reqps",
                query(
                    f"sum by (backend, kind) (rate(strangler_backend_errors_total[{RATE}]))",
                    "{{backend}} · {{kind}}",
                    "A",
                ),
            )
        )
        .with_panel(
            graph(
                "Error answers by backend",
                "4xx and 5xx answers the clients got, by the backend that gave them.",
                "reqps",
                query(
                    f'sum by (backend, status) (rate(strangler_requests_total{{status=~"4xx|5xx"}}[{RATE}]))',
                    "{{backend}} · {{status}}",
                    "A",
                ),
            )
        )
    )
