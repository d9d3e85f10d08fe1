"""``/metrics``: request metrics from ``core.metrics`` and business figures read from the database at scrape time.

On the top floor because the figures read both sides and the shared services (read-only, aggregate queries).
"""
