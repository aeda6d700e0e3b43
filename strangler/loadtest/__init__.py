"""`strangler loadtest`: locust against the proxy, and a report of each side's latency and
memory against the cutover gate's budgets.

    plan.py       the run's settings, checked before anything starts
    sampling.py   resident memory of each process, read from its /metrics during the run
    locust.py     locust headless in a subprocess, and its statistics
    figures.py    latency per side (the proxy's paired samples) and memory, judged by the
                  gate's own budgets (proxy.gate.budgets)
    charts.py     inline SVG charts
    report.py     report.html, summary.json and summary.csv
"""
