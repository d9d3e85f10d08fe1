"""``ecancel selftest``: one complete case driven through a running system's public API and pages."""
