"""Exchange throughput on the one-machine default: SQLite, in-process transport, signed Ed25519.

    uv run python benchmarks/exchange.py [--messages 500] [--runs 5]

Each run writes N ``case.refused`` messages (one transaction each, as a service would), then
relays them with ``relay_due`` until none is due; the receiving handler writes one audit event,
like a small real effect. Prints the median, best and worst of the runs as a table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
os.environ["ECANCEL_DATA_DIR"] = tempfile.mkdtemp(prefix="ecancel-bench-exchange-")
os.environ["ECANCEL_TASKS_EAGER"] = "false"
os.environ["ECANCEL_BROKER_URL"] = "memory://"  # the on-commit kicks go nowhere: the benchmark relays itself
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")
os.environ.setdefault("ECANCEL_LOG_LEVEL", "ERROR")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402

from ecancel.accounts.models import Organisation, OrganisationKind  # noqa: E402
from ecancel.audit.services import record_event  # noqa: E402
from ecancel.exchange import handlers  # noqa: E402
from ecancel.exchange.handlers import ReceivedMessage  # noqa: E402
from ecancel.exchange.messages import CaseRefused  # noqa: E402
from ecancel.exchange.models import OutboxMessage  # noqa: E402
from ecancel.exchange.services import outbox_put, relay_due  # noqa: E402
from ecancel.exchange.transitions import OutboxStatus  # noqa: E402


def effect(message: ReceivedMessage) -> None:
    record_event("bench.exchange.effect", organisation=message.recipient, data={"message": str(message.id)})


def one_run(sender: Organisation, recipient: Organisation, count: int) -> tuple[float, float]:
    """(messages written per second, messages relayed per second)"""
    started = time.perf_counter()
    for _ in range(count):
        with transaction.atomic():
            outbox_put(
                sender=sender,
                recipient=recipient,
                body=CaseRefused(
                    application_ref=uuid.uuid4(),
                    version=1,
                    reason="材料不全，请补正后重新推送",
                    refused_at=datetime.now(UTC),
                    refused_by="王公证员",
                ),
            )
    written = time.perf_counter() - started
    started = time.perf_counter()
    delivered = 0
    while True:
        done = relay_due(limit=50)
        if done == 0:
            break
        delivered += done
    relayed = time.perf_counter() - started
    pending = OutboxMessage.objects.filter(status=OutboxStatus.PENDING).count()
    if delivered != count or pending:
        raise SystemExit(f"expected {count} delivered, got {delivered} ({pending} pending)")
    return count / written, count / relayed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    handlers.HANDLERS["case.refused"] = effect
    notary = Organisation.objects.create(kind=OrganisationKind.NOTARY_OFFICE, name="基准测试公证处")
    developer = Organisation.objects.create(kind=OrganisationKind.DEVELOPER, name="基准测试置业有限公司")
    one_run(notary, developer, 20)  # warm-up: keys, caches, first-query costs

    results = [one_run(notary, developer, args.messages) for _ in range(args.runs)]
    writes = [w for w, _ in results]
    relays = [r for _, r in results]
    print(f"exchange, one-machine default (SQLite, in-process, Ed25519): {args.messages} messages x {args.runs} runs")
    print(f"{'measure':<38}{'median':>10}{'best':>10}{'worst':>10}")
    for label, values in [("outbox_put, 1 transaction each (msg/s)", writes), ("relay_due to applied (msg/s)", relays)]:
        print(f"{label:<38}{statistics.median(values):>10.0f}{max(values):>10.0f}{min(values):>10.0f}")


if __name__ == "__main__":
    main()
