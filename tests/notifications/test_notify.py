"""notify: the in-app message always, one delivery per subscribed channel, once per dedupe key; reading it."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation

from ecancel.audit.models import AuditEvent
from ecancel.core.errors import NotFound, ValidationFailed
from ecancel.notifications.channels import OutgoingMessage
from ecancel.notifications.events import EVENTS, render
from ecancel.notifications.models import Delivery, Notification, Subscription
from ecancel.notifications.selectors import (
    notifications_for,
    notifications_unread_count,
    subscription_get,
    subscriptions_for_phone,
)
from ecancel.notifications.services import notification_mark_read, notify, subscription_cancel
from ecancel.notifications.transitions import DeliveryStatus
from tests.notifications.helpers import CASE, CTX, OPENID, status_changed, subscribe

pytestmark = pytest.mark.django_db


def test_a_status_change_reaches_every_subscribed_channel_after_commit(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        notification = status_changed()
        assert sent == [], "nothing leaves before the caller's transaction commits"
    assert {m.kind for m in sent} == {"sms", "wechat"}
    by_kind = {m.kind: m for m in sent}
    assert by_kind["sms"].address == "+8613912345678"
    assert by_kind["wechat"].address == OPENID
    assert by_kind["sms"].body == f"案件 {CASE} 的全部买受人已提交材料，公证处正在审核。"
    assert notification.title == "公证审核中"
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.SENT}
    assert set(Delivery.objects.values_list("payload_sealed", flat=True)) == {""}, "contacts wiped once sent"
    assert AuditEvent.objects.filter(tag="notifications.delivery.sent").count() == 2


def test_in_app_is_always_on_without_a_subscription(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        notification = status_changed()
    assert sent == []
    assert Delivery.objects.count() == 0
    assert notifications_for("party-1") == [notification]


def test_only_chosen_channels_are_used(sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any) -> None:
    subscribe(channels=("wechat",))
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    assert [m.kind for m in sent] == ["wechat"]


def test_the_same_change_never_makes_two_messages(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe()
    with django_capture_on_commit_callbacks(execute=True):
        first = status_changed()
    with django_capture_on_commit_callbacks(execute=True):
        again = status_changed()
    assert again.pk == first.pk
    assert Notification.objects.count() == 1
    assert Delivery.objects.count() == 2
    assert len(sent) == 2
    with django_capture_on_commit_callbacks(execute=True):
        status_changed(key="case-1:revoked", event="case.revoked")
    assert Notification.objects.count() == 2
    assert len(sent) == 4


def test_a_rolled_back_change_sends_nothing(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe()

    class Rollback(Exception):
        pass

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(Rollback), transaction.atomic():
        status_changed()
        raise Rollback
    assert sent == []
    assert Notification.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_notify_needs_the_callers_transaction() -> None:
    with pytest.raises(AssertionError, match="inside the caller's transaction"):
        notify(recipient="p", topic=CASE, event="case.revoked", params={"case_ref": CASE}, dedupe_key="k", ctx=CTX)


@pytest.mark.parametrize(
    ("event", "params"),
    [
        ("case.unknown", {"case_ref": CASE}),
        ("case.refused", {"case_ref": CASE}),
        ("case.revoked", {"case_ref": CASE, "extra": "x"}),
        ("case.revoked", {"case_ref": "a\x00b"}),
        ("one_time_code", {"code": "123456", "minutes": "5"}),
    ],
)
def test_bad_input_changes_nothing(event: str, params: dict[str, str]) -> None:
    with pytest.raises(ValidationFailed) as refused, transaction.atomic():
        notify(recipient="party-1", topic=CASE, event=event, params=params, dedupe_key="k", ctx=CTX)
    assert refused.value.zh and refused.value.en
    assert Notification.objects.count() == 0


def test_text_renders_in_the_recipients_language_and_again_in_another(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe(language="en", channels=("sms",))
    with django_capture_on_commit_callbacks(execute=True):
        notification = status_changed()
    assert notification.language == "en"
    assert notification.title == "Under notarial review"
    assert sent[0].body.startswith(f"Every buyer of case {CASE}")
    assert notification.rendered("zh-hant")[0] == "公證審核中"
    assert notification.rendered("zh-hans")[0] == "公证审核中"
    with translation.override("zh-hant"):
        assert notification.display_title == "公證審核中"
        assert CASE in notification.display_body


def test_a_label_parameter_is_translated_and_a_message_queued_before_a_new_parameter_still_renders() -> None:
    text = EVENTS["case.refused"]
    label = "身份证件无效或已过期"  # a refusal reason's msgid, as the notary service passes it
    _title, body = render("case.refused", text.title, text.body, {"case_ref": CASE, "reason": label, "note": ""}, "en")
    assert body.endswith("Reason: ID document invalid or expired.") and label not in body
    _title, queued = render("case.refused", text.title, text.body, {"case_ref": CASE, "reason": label}, "zh-hans")
    assert queued.endswith("理由：身份证件无效或已过期。"), "sent before the text named the note: rendered without it"


def test_the_callers_language_wins(sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any) -> None:
    subscribe(language="en", channels=("sms",))
    with django_capture_on_commit_callbacks(execute=True):
        notification = status_changed(language="zh-hant")
    assert notification.title == "公證審核中"
    assert sent[0].language == "zh-hant"


def test_inbox_lists_newest_first_in_one_query_and_marks_read() -> None:
    status_changed(key="a", event="buyer.submitted")
    status_changed(key="b")
    status_changed("someone-else", key="a")
    with CaptureQueriesContext(connection) as queries:
        inbox = notifications_for("party-1")
    assert len(queries) == 1
    assert [n.event for n in inbox] == ["case.under_review", "buyer.submitted"]
    assert notifications_unread_count("party-1") == 2

    now = timezone.now()
    read = notification_mark_read(recipient="party-1", notification_id=inbox[0].pk, now=now, ctx=CTX)
    assert read.read_at == now
    again = notification_mark_read(recipient="party-1", notification_id=inbox[0].pk, now=timezone.now(), ctx=CTX)
    assert again.read_at == now, "the first reading stays"
    assert notifications_unread_count("party-1") == 1
    assert AuditEvent.objects.filter(tag="notifications.notification.read").count() == 1


def test_another_recipients_notification_is_not_found() -> None:
    theirs = status_changed("someone-else")
    with pytest.raises(NotFound):
        notification_mark_read(recipient="party-1", notification_id=theirs.pk, now=timezone.now(), ctx=CTX)
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_subscription_keeps_contacts_sealed_and_finds_the_buyer_by_phone() -> None:
    subscription = subscribe(channels=("sms",))
    row = Subscription.objects.values().get(pk=subscription.pk)
    stored = " ".join(str(value) for value in row.values())
    assert "13912345678" not in stored and OPENID not in stored
    assert subscription.phone_masked == "139****5678"
    assert subscriptions_for_phone("+86 139-1234-5678") == [subscription]
    assert subscriptions_for_phone("13800000000") == []
    assert subscription_get(recipient="party-1", topic=CASE) == subscription

    event = AuditEvent.objects.get(tag="notifications.subscription.set")
    assert event.data["phone"] == "139****5678"
    assert "13912345678" not in str(event.data) and OPENID not in str(event.data)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": ""}, "phone"),
        ({"wechat_openid": "not an openid"}, "wechat_openid"),
        ({"channels": ("sms", "pigeon")}, "channels"),
        ({"language": "fr"}, "language"),
    ],
)
def test_bad_subscriptions_are_refused(changes: dict[str, Any], field: str) -> None:
    values: dict[str, Any] = {"channels": ("sms", "wechat")}
    values.update(changes)
    with pytest.raises(ValidationFailed) as refused:
        subscribe(**values)
    assert field in refused.value.fields
    assert Subscription.objects.count() == 0


def test_a_subscription_can_change_and_stop(
    sent: list[OutgoingMessage], django_capture_on_commit_callbacks: Any
) -> None:
    subscribe()
    subscribe(channels=("sms",), phone="+852 6123 4567")
    assert Subscription.objects.count() == 1
    assert subscriptions_for_phone("+85261234567") != []
    subscription_cancel(recipient="party-1", topic=CASE, ctx=CTX)
    assert subscriptions_for_phone("+85261234567") == []
    with django_capture_on_commit_callbacks(execute=True):
        status_changed()
    assert sent == [] and Notification.objects.count() == 1
    with pytest.raises(NotFound):
        subscription_cancel(recipient="party-1", topic=CASE, ctx=CTX)
