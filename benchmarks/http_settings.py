"""The product's settings with the benchmark's URL conf (``benchmarks/http_urls.py``: the bare endpoint added)."""

from ecancel.config.settings import *  # noqa: F403

ROOT_URLCONF = "benchmarks.http_urls"
