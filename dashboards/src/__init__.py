"""The dashboards' builders. Each module's `dashboard()` returns one dashboard builder."""
