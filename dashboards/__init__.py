"""Grafana dashboards as code (grafana-foundation-sdk).

src/          the builders: one module per dashboard, and the pieces they share
build.py      `python -m dashboards.build` (or `strangler dashboards`): writes *.json here
*.json        the generated dashboards, committed; tests/test_dashboards.py checks they
              equal a fresh build and that every PromQL expression in them works
provisioning/ Grafana's provisioning files (compose mounts them with the JSON)
"""
