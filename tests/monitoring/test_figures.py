"""Business figures on /metrics are read from the database and the broker at scrape time: what a test creates shows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.test import Client, override_settings
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from ecancel.accounts.models import Organisation
from ecancel.audit.services import record_event
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.transitions import InboxStatus
from ecancel.identity.models import CheckKind, IdentityCheck
from ecancel.identity.transitions import CheckStatus
from ecancel.monitoring.figures import REFUSED_POST_TAG, BrokerQueues, BusinessFigures
from ecancel.notary.models import NotaryCase
from ecancel.notary.transitions import CaseStatus
from tests.factories import DeveloperFactory, NotaryOfficeFactory
from tests.notary.helpers import make_case
from tests.redis_server import MISSING, redis_server, redis_server_binary

TOKEN = "s" * 40
CREATED = datetime(2026, 3, 2, 9, 30, tzinfo=timezone.get_default_timezone())
Sample = tuple[str, tuple[tuple[str, str], ...]]


def samples(text: str) -> dict[Sample, float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def collected(collector: Collector) -> dict[Sample, float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return samples(generate_latest(registry).decode())


def pending_outbox_message(sender: Organisation, recipient: Organisation) -> OutboxMessage:
    row = OutboxMessage.objects.create(
        message_type="case.accepted",
        sender=sender,
        recipient=recipient,
        stream="stream-1",
        raw=b"{}",
        body_sha256="0" * 64,
        next_attempt_at=CREATED,
    )
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=CREATED)
    return row


@pytest.fixture
def seller(db: None) -> Organisation:
    return DeveloperFactory().organisation


@pytest.fixture
def office_organisation(db: None) -> Organisation:
    return NotaryOfficeFactory().organisation


def test_empty_outbox_has_no_backlog(db: None) -> None:
    figures = collected(BusinessFigures(now=lambda: CREATED))
    assert figures[("ecancel_exchange_outbox_messages", (("status", "pending"),))] == 0
    assert figures[("ecancel_exchange_outbox_oldest_pending_age_seconds", ())] == 0


def test_outbox_backlog_and_the_age_of_its_oldest_message(
    seller: Organisation, office_organisation: Organisation
) -> None:
    pending_outbox_message(seller, office_organisation)
    figures = collected(BusinessFigures(now=lambda: CREATED + timedelta(minutes=12, seconds=30)))
    assert figures[("ecancel_exchange_outbox_messages", (("status", "pending"),))] == 1
    assert figures[("ecancel_exchange_outbox_messages", (("status", "delivered"),))] == 0
    assert figures[("ecancel_exchange_outbox_oldest_pending_age_seconds", ())] == 750


def test_refusals_outcomes_and_certificates(seller: Organisation, office_organisation: Organisation) -> None:
    InboxMessage.objects.create(
        message_type="application.pushed",
        sender=seller,
        recipient=office_organisation,
        stream="stream-1",
        raw=b"{}",
        raw_sha256="1" * 64,
        signature="sig",
        signed_at=CREATED,
        status=InboxStatus.REJECTED,
        reason="合同已注销",
    )
    record_event(REFUSED_POST_TAG, result="refused", data={"code": "bad_signature"})
    for kind, status in [
        (CheckKind.FACE, CheckStatus.FAILED),
        (CheckKind.FACE, CheckStatus.FAILED),
        (CheckKind.VIDEO, CheckStatus.PASSED),
        (CheckKind.DOCUMENT, CheckStatus.PROCESSING),
    ]:
        IdentityCheck.objects.create(
            case_ref="case-1", party=1, kind=kind, status=status, provider="null", started_at=CREATED
        )
    certified = make_case(NotaryOfficeFactory(), seller)
    NotaryCase.objects.filter(pk=certified.pk).update(status=CaseStatus.CERTIFIED)
    make_case(NotaryOfficeFactory(), seller)  # still awaiting its buyers

    figures = collected(BusinessFigures())
    assert figures[("ecancel_exchange_inbox_messages_total", (("status", "rejected"),))] == 1
    assert figures[("ecancel_exchange_inbox_messages_total", (("status", "applied"),))] == 0
    assert figures[("ecancel_exchange_refused_posts_audited_total", ())] == 1
    assert figures[("ecancel_identity_checks_total", (("kind", "face"), ("outcome", "failed")))] == 2
    assert figures[("ecancel_identity_checks_total", (("kind", "video"), ("outcome", "passed")))] == 1
    assert figures[("ecancel_identity_checks_total", (("kind", "document"), ("outcome", "passed")))] == 0
    assert figures[("ecancel_identity_checks_processing", (("kind", "document"),))] == 1
    assert figures[("ecancel_notary_certificates_issued_total", ())] == 1


@pytest.mark.django_db
def test_the_endpoint_serves_the_figures(
    client: Client, seller: Organisation, office_organisation: Organisation
) -> None:
    pending_outbox_message(seller, office_organisation)
    with override_settings(ECANCEL_METRICS_TOKEN=TOKEN):
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    figures = samples(response.content.decode())
    assert figures[("ecancel_exchange_outbox_messages", (("status", "pending"),))] == 1
    # Created on a fixed day in the past: older than a day whenever the test runs.
    assert figures[("ecancel_exchange_outbox_oldest_pending_age_seconds", ())] > 86400
    assert ("ecancel_celery_queue_length", (("queue", "celery"),)) in figures
    assert ("ecancel_notary_certificates_issued_total", ()) in figures
    assert ("ecancel_identity_checks_total", (("kind", "face"), ("outcome", "passed"))) in figures


@pytest.fixture(params=["sqlite", "redis"])
def broker_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqla+sqlite:///{tmp_path / 'broker.sqlite3'}"
        return
    if redis_server_binary() is None:
        pytest.skip(MISSING)
    with redis_server() as url:
        yield url


def test_queue_length_is_read_from_the_broker(broker_url: str) -> None:
    """The SQLite broker's visible kombu_message rows, or Redis LLEN; an empty Redis queue has no key at all."""
    app = Celery("queue-length", broker=broker_url, set_as_current=False)
    queue_length = ("ecancel_celery_queue_length", (("queue", "celery"),))
    assert collected(BrokerQueues(app))[queue_length] == 0
    for _ in range(3):
        app.send_task("ecancel.never_run")
    assert collected(BrokerQueues(app))[queue_length] == 3


def test_an_unreachable_broker_leaves_the_figure_out() -> None:
    app = Celery("queue-length", broker="redis://127.0.0.1:1/0", set_as_current=False)
    assert collected(BrokerQueues(app)) == {}
