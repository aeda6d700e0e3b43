"""Generate the dashboards' JSON from their builders (dashboards/src/).

    python -m dashboards.build           write dashboards/*.json
    python -m dashboards.build --check   exit 1 if a committed file differs from a fresh build
    strangler dashboards [--check]       the same

The output is stable (sorted keys, panels numbered in order), so a diff shows what changed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.builders.dashboard import Dashboard
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from dashboards.src import budgets, migration

DASHBOARD_DIR = Path(__file__).resolve().parent
BUILDERS: dict[str, Callable[[], Dashboard]] = {
    "migration.json": migration.dashboard_builder,
    "budgets.json": budgets.dashboard_builder,
}
# Prometheus annotation fields the SDK's (data-source neutral) AnnotationQuery lacks.
ANNOTATION_FIELDS = {"titleFormat": "{{flag}} changed", "tagKeys": "flag", "step": "15s"}


def render(builder: Callable[[], Dashboard]) -> str:
    document = json.loads(json.dumps(builder().build(), cls=JSONEncoder))
    for number, panel in enumerate(_panels(document), start=1):
        panel["id"] = number
    for annotation in document.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            annotation.update(ANNOTATION_FIELDS)
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_all() -> dict[str, str]:
    return {name: render(builder) for name, builder in BUILDERS.items()}


def write_all(directory: Path = DASHBOARD_DIR) -> list[Path]:
    written = []
    for name, text in build_all().items():
        path = directory / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def stale(directory: Path = DASHBOARD_DIR) -> list[str]:
    """Names of the committed files that differ from a fresh build (or are missing)."""
    found = []
    for name, text in build_all().items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            found.append(name)
    return found


def expressions(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every query of a dashboard: its panels' targets and annotations."""
    found = []
    for panel in _panels(document):
        for target in panel.get("targets") or []:
            if target.get("expr"):
                found.append((f"{panel.get('title')} [{target.get('refId')}]", target["expr"]))
    for annotation in document.get("annotations", {}).get("list", []):
        if annotation.get("expr"):
            found.append((f"annotation {annotation.get('name')}", annotation["expr"]))
    return found


def _panels(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in document.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []  # a collapsed row keeps its panels inside


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a committed dashboard is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for name in out_of_date:
            print(f"dashboards/{name} is out of date: run `python -m dashboards.build`", file=sys.stderr)
        return 1 if out_of_date else 0
    for path in write_all():
        print(f"wrote {path.relative_to(DASHBOARD_DIR.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
