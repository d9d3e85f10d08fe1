"""Figures read from the database and the broker when Prometheus scrapes: right whichever process did the work.

Each is one aggregate query over an indexed or small set of rows. Counts of rows that are never changed again
(certificates issued, decided identity checks, received messages, audited refusals) are exposed as counters,
the rest as gauges. Labels are statuses and kinds: bounded, and no personal data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from celery import Celery
from django.db.models import Count, Min, QuerySet
from django.utils import timezone
from kombu.exceptions import ChannelError
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ecancel.audit.models import AuditEvent
from ecancel.buyers.models import Manifest
from ecancel.config.celery import app as celery_app
from ecancel.exchange.models import InboxMessage, OutboxMessage
from ecancel.exchange.transitions import InboxStatus, OutboxStatus
from ecancel.identity.models import CheckKind, IdentityCheck
from ecancel.identity.transitions import CheckStatus
from ecancel.notary.models import NotaryCase
from ecancel.notary.transitions import CaseStatus

logger = logging.getLogger(__name__)

# The audit tag of a post to /exchange/ refused before it was stored (bad signature, unknown sender, garbage...).
REFUSED_POST_TAG = "exchange.message.refused"
DECIDED_CHECK_STATUSES = (CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.UNUSABLE, CheckStatus.ERROR)


def _count_by_status(rows: QuerySet[Any]) -> dict[str, int]:
    return dict(rows.order_by().values_list("status").annotate(count=Count("pk")).values_list("status", "count"))


class BusinessFigures(Collector):
    """The exchange's backlog and refusals, identity check outcomes, buyers' evidence waiting to be sealed and
    certificates issued, as of ``now()``."""

    def __init__(self, now: Callable[[], datetime] = timezone.now) -> None:
        self.now = now

    def collect(self) -> Iterable[Metric]:
        yield from self.outbox()
        yield from self.inbox()
        yield from self.identity_checks()
        yield self.manifests()
        yield self.certificates()

    def outbox(self) -> Iterable[Metric]:
        by_status = _count_by_status(OutboxMessage.objects.all())
        messages = GaugeMetricFamily(
            "ecancel_exchange_outbox_messages", "Messages in the exchange outbox, by status", labels=["status"]
        )
        for status in OutboxStatus:
            messages.add_metric([status.value], by_status.get(status.value, 0))
        yield messages
        yield GaugeMetricFamily(
            "ecancel_exchange_outbox_oldest_pending_age_seconds",
            "Age of the oldest message still waiting to be delivered (0 when none waits)",
            value=self._oldest_age(OutboxMessage.objects.filter(status=OutboxStatus.PENDING)),
        )

    def manifests(self) -> Metric:
        return GaugeMetricFamily(
            "ecancel_buyers_manifest_unsealed_oldest_age_seconds",
            "Age of the oldest submitted buyer evidence not yet sealed by the worker (0 when none waits)",
            value=self._oldest_age(Manifest.objects.filter(sealed_at__isnull=True)),
        )

    def _oldest_age(self, rows: QuerySet[Any]) -> float:
        oldest = rows.aggregate(oldest=Min("created_at"))["oldest"]
        return max(0.0, (self.now() - oldest).total_seconds()) if oldest is not None else 0.0

    def inbox(self) -> Iterable[Metric]:
        by_status = _count_by_status(InboxMessage.objects.all())
        received = CounterMetricFamily(
            "ecancel_exchange_inbox_messages",
            "Messages received and stored, by how they were handled (rejected: refused by the business rules)",
            labels=["status"],
        )
        for status in InboxStatus:
            received.add_metric([status.value], by_status.get(status.value, 0))
        yield received
        yield CounterMetricFamily(
            "ecancel_exchange_refused_posts_audited",
            "Posts to /exchange/ refused before being stored, as audited (at most a few per address per minute)",
            value=AuditEvent.objects.filter(tag=REFUSED_POST_TAG).count(),
        )

    def identity_checks(self) -> Iterable[Metric]:
        rows = IdentityCheck.objects.order_by().values_list("kind", "status").annotate(count=Count("id"))
        counts = {(kind, status): count for kind, status, count in rows}
        decided = CounterMetricFamily(
            "ecancel_identity_checks",
            "Identity checks decided, by kind (face, document, video) and outcome",
            labels=["kind", "outcome"],
        )
        processing = GaugeMetricFamily(
            "ecancel_identity_checks_processing", "Identity checks submitted and not yet decided", labels=["kind"]
        )
        for kind in CheckKind:
            for status in DECIDED_CHECK_STATUSES:
                decided.add_metric([kind.value, status.value], counts.get((kind.value, status.value), 0))
            processing.add_metric([kind.value], counts.get((kind.value, CheckStatus.PROCESSING.value), 0))
        yield decided
        yield processing

    def certificates(self) -> Metric:
        return CounterMetricFamily(
            "ecancel_notary_certificates_issued",
            "Notarial certificates issued (signed and sent to the seller)",
            value=NotaryCase.objects.filter(status=CaseStatus.CERTIFIED).count(),
        )


class BrokerQueues(Collector):
    """Tasks waiting in each Celery queue: Redis LLEN, or the SQLite broker's visible kombu_message rows.

    Read through kombu's passive queue declaration, which asks the transport for the queue's size; a broker that
    does not answer leaves the figure out (``/readyz`` says why) rather than hold the scrape.
    """

    def __init__(self, app: Celery = celery_app) -> None:
        self.app = app

    def collect(self) -> Iterable[Metric]:
        depth = GaugeMetricFamily(
            "ecancel_celery_queue_length", "Tasks waiting in the broker's queue", labels=["queue"]
        )
        try:
            with self.app.connection_for_read() as conn:
                conn.ensure_connection(max_retries=0, timeout=2)
                # Every kombu channel has queue_declare, though kombu's type hints for StdChannel do not declare it.
                channel: Any = conn.default_channel
                for queue in sorted(self.app.amqp.queues):
                    try:
                        waiting = channel.queue_declare(queue=queue, passive=True).message_count
                    except ChannelError:  # Redis has no key for an empty queue
                        waiting = 0
                    depth.add_metric([queue], waiting)
        except Exception:  # the other figures are still worth a scrape
            logger.warning("metrics: the broker's queue length could not be read", exc_info=True)
            return
        yield depth
