"""What the dashboards share: the Prometheus data source, the budgets' lines, the flag-change
annotation, and panel builders with this project's defaults.

PromQL here may use Grafana's `$__rate_interval` (and nothing else of Grafana's): the
tests put a range in its place before they hand an expression to Prometheus.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard, prometheus, stat, statetimeline, timeseries
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    DynamicConfigValue,
    Threshold,
    ThresholdsMode,
    ValueMap,
    ValueMappingResult,
)

from proxy.gate.budgets import Budgets

DATASOURCE_UID = "prometheus"  # provisioning/datasources.yml gives Prometheus this uid
DATASOURCE = DataSourceRef(type_val="prometheus", uid=DATASOURCE_UID)
RATE = "$__rate_interval"
# The gate's default budgets; a proxy configured otherwise (STRANGLER_GATE_*) is judged by its own.
LATENCY_BUDGET = Budgets().latency_ratio
MEMORY_BUDGET = Budgets().memory_ratio
BUDGET_COLOR = "red"
TAGS = ["strangler"]
# What the verdict gauge's values mean (strangler_gate_verdict).
VERDICTS = {"1": ("pass", "green"), "0": ("fail", "red"), "-1": ("inconclusive", "yellow")}

FLAG_CHANGES = "max by (flag) (increase(strangler_flag_changes_total[1m])) > 0"


def new_dashboard(uid: str, title: str, description: str) -> dashboard.Dashboard:
    return (
        dashboard.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(TAGS)
        .refresh("10s")
        .time("now-30m", "now")
        .timezone("browser")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .annotation(
            dashboard.AnnotationQuery()
            .name("Flag changes")
            .datasource(DATASOURCE)
            .expr(FLAG_CHANGES)
            .icon_color("purple")
            .enable(True)
        )
    )


def query(expr: str, legend: str, ref: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend).ref_id(ref).range()


def graph(title: str, description: str, unit: str, *queries: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(12)
        .height(8)
        .line_width(2)
        .fill_opacity(8)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["lastNotNull", "max"])
        )
    )
    for q in queries:
        panel = panel.with_target(q)
    return panel


def stacked(panel: timeseries.Panel) -> timeseries.Panel:
    return panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL)).fill_opacity(40)


def budget_line(panel: timeseries.Panel, ref: str) -> timeseries.Panel:
    """Draw query `ref` as the budget: a dashed red line."""
    return panel.override_by_query(
        ref,
        [
            DynamicConfigValue(id_val="color", value={"mode": "fixed", "fixedColor": BUDGET_COLOR}),
            DynamicConfigValue(id_val="custom.lineStyle", value={"fill": "dash", "dash": [10, 10]}),
            DynamicConfigValue(id_val="custom.fillOpacity", value=0),
        ],
    )


def threshold_line(panel: timeseries.Panel, limit: float) -> timeseries.Panel:
    """A dashed red line at `limit` (a ratio's budget), the area above it tinted."""
    return panel.thresholds(
        dashboard.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color="green"), Threshold(value=limit, color=BUDGET_COLOR)])
    ).thresholds_style(
        common_builders.GraphThresholdsStyleConfig().mode(common.GraphTresholdsStyleMode.DASHED_AND_AREA)
    )


def verdict_timeline(title: str, description: str, expr: str, legend: str) -> statetimeline.Panel:
    return (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(24)
        .height(8)
        .with_target(query(expr, legend, "A"))
        .mappings([_verdict_mapping()])
        .merge_values(True)
    )


def verdict_stat(title: str, description: str, expr: str, legend: str) -> stat.Panel:
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(24)
        .height(5)
        .with_target(query(expr, legend, "A"))
        .mappings([_verdict_mapping()])
        .color_mode(common.BigValueColorMode.BACKGROUND)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def _verdict_mapping() -> ValueMap:
    return ValueMap(
        options={
            value: ValueMappingResult(text=text, color=color, index=index)
            for index, (value, (text, color)) in enumerate(VERDICTS.items())
        }
    )
