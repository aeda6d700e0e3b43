"""The cutover gate and the guard (design.md, "Budgets and the gate").

budgets.py      the budgets and how each is judged
bootstrap.py    confidence intervals of latency quantile ratios
verdict.py      verdicts per budget and per flag + organization
observations.py what a source observed over a window
sources.py      the interface, and the proxy's own source
prometheus.py   the Prometheus source
sampling.py     the proxy's periodic samples (apps' memory, its counters)
recorder.py     the shadow mirror's observer: per-organization pairs and answers
metrics.py      strangler_gate_* and strangler_guard_rollbacks_total
evaluation.py   the gate for one flag + organization
guard.py        the background rollback of organizations whose budgets break
runtime.py      all of the above as one proxy process holds them
"""
