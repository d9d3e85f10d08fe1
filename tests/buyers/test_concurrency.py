"""Two phones choosing the same buyer at the same moment: one takes the journey, the other is refused (409).

Row locks only exist on PostgreSQL (``ECANCEL_TEST_POSTGRES=1``); on SQLite this skips.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from ecancel.buyers.models import Journey
from ecancel.buyers.services.journey import journey_choose
from ecancel.buyers.services.sessions import session_open
from ecancel.core.errors import InvalidTransition
from tests.buyers.journey import CTX, case_for_buyers, qr
from tests.cancellation.test_concurrency import race

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def postgres_only() -> Iterator[None]:
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL (select_for_update is a no-op on SQLite)")
    yield


def test_two_phones_choosing_one_buyer_at_once(office: Any) -> None:
    handoff = qr(case_for_buyers(office))
    now = timezone.now()
    sessions = [session_open(token=handoff.raw, device="", now=now, ctx=CTX).session for _ in range(2)]
    won, refused = race(
        [
            lambda s=session: journey_choose(session=s, buyer_position=1, as_agent=False, now=now, ctx=CTX)
            for session in sessions
        ]
    )
    assert len(won) == 1 and len(refused) == 1, refused
    assert isinstance(refused[0], InvalidTransition) and refused[0].code == "other_device"
    assert Journey.objects.filter(buyer__case=handoff.token.case).count() == 1
