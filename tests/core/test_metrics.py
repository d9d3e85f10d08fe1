"""Request metrics: counted by route name, method and status class (never the path), added up across processes,
and readable only with the metrics token."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from ecancel.core.metrics import exposition

TOKEN = "m" * 40
HANDOFF_TOKEN = "T0k3nFromAQrCodeNeverInAMetric"


def requests_counted() -> dict[tuple[str, str, str], float]:
    counted: dict[tuple[str, str, str], float] = {}
    for family in text_string_to_metric_families(exposition().decode()):
        for sample in family.samples:
            if sample.name == "ecancel_http_requests_total":
                key = (sample.labels["method"], sample.labels["view"], sample.labels["status"])
                counted[key] = sample.value
    return counted


def counted_since(before: dict[tuple[str, str, str], float]) -> dict[tuple[str, str, str], float]:
    after = requests_counted()
    return {key: value - before.get(key, 0) for key, value in after.items() if value != before.get(key, 0)}


@pytest.mark.django_db
def test_requests_are_counted_by_route_name_and_status_class(client: Client) -> None:
    before = requests_counted()
    client.get("/healthz")
    client.get("/healthz")
    client.post("/healthz")
    client.get(f"/h/{HANDOFF_TOKEN}")
    client.get("/no-such-page-110101199003074514")
    assert counted_since(before) == {
        ("GET", "healthz", "2xx"): 2,
        ("POST", "healthz", "4xx"): 1,
        ("GET", "buyers:handoff", "4xx"): 1,
        ("GET", "<unmatched>", "4xx"): 1,
    }
    text = exposition().decode()
    assert HANDOFF_TOKEN not in text
    assert "110101199003074514" not in text
    assert 'ecancel_http_request_duration_seconds_count{status="2xx",view="healthz"}' in text


def test_counts_of_other_processes_are_added() -> None:
    """Another web worker writes its counts to the shared folder; a scrape in this one sees them."""
    before = requests_counted()
    other_worker = (
        "from ecancel.core.metrics import HTTP_REQUESTS; "
        "HTTP_REQUESTS.labels(method='GET', view='healthz', status='2xx').inc(3)"
    )
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"]  # set by the settings, inherited by the other process
    subprocess.run([sys.executable, "-c", other_worker], check=True, timeout=60)
    assert counted_since(before) == {("GET", "healthz", "2xx"): 3}


@pytest.mark.parametrize(
    ("configured", "authorization"),
    [
        ("", ""),
        ("", "Bearer "),
        (TOKEN, ""),
        (TOKEN, "Bearer " + "x" * 40),
        (TOKEN, "Basic " + TOKEN),
        (TOKEN, TOKEN),
        (TOKEN, "Bearer " + TOKEN[:-1]),
    ],
)
@pytest.mark.django_db
def test_metrics_do_not_exist_without_the_token(client: Client, configured: str, authorization: str) -> None:
    with override_settings(ECANCEL_METRICS_TOKEN=configured):
        response = client.get("/metrics", headers={"Authorization": authorization} if authorization else {})
    assert response.status_code == 404
    assert b"ecancel_http_requests_total" not in response.content


@pytest.mark.django_db
def test_metrics_are_served_with_the_token(client: Client) -> None:
    with override_settings(ECANCEL_METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    assert response["Cache-Control"].startswith("max-age=0")
    names = {family.name for family in text_string_to_metric_families(response.content.decode())}
    assert {"ecancel_http_requests", "ecancel_http_request_duration_seconds"} <= names
