"""The buyer journey through its pages, on the null identity provider with pictures and videos made here."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from pytest_django import Settings

from ecancel.buyers.manifest import manifest_verify
from ecancel.buyers.models import Consent, DocumentOpening, Journey, JourneyUpload, Manifest
from ecancel.exchange.models import OutboxMessage
from ecancel.notary.models import CaseParty, NotaryCase, PartyRole
from ecancel.notary.transitions import CaseStatus
from tests.buyers.journey import (
    Phone,
    capture,
    case_for_buyers,
    hidden,
    mainland_to_done,
    make_foreign,
    passport_to_done,
    photo,
    qr,
    read_documents,
    signature_data_url,
    step_of,
    upload,
)
from tests.identity import makers

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]  # row locks with joins: PostgreSQL too

Capture = Callable[..., AbstractContextManager[Any]]


@pytest.fixture(autouse=True)
def null_identity(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}


def test_mainland_buyer_reaches_success_and_is_sealed(office: Any, django_capture_on_commit_callbacks: Capture) -> None:
    case = case_for_buyers(office)
    handoff = qr(case)
    journey = mainland_to_done(Phone(django_capture_on_commit_callbacks), handoff)
    assert journey.status == "submitted" and journey.path == "face"
    assert CaseParty.objects.get(pk=journey.buyer_id).submitted_at is not None
    assert Consent.objects.filter(journey=journey, given=True).count() == 2
    assert DocumentOpening.objects.filter(journey=journey).values("document").distinct().count() == 4
    assert set(JourneyUpload.objects.filter(journey=journey).values_list("slot", flat=True)) == {
        "document_front",
        "document_back",
        "holding",
        "signature",
    }
    manifest = Manifest.objects.get(journey=journey)
    assert manifest_verify(bytes(manifest.content), bytes(manifest.signature)).valid
    # One buyer of two: the seller hears of it, the case still waits for the other.
    assert OutboxMessage.objects.filter(message_type="buyer.submitted").exists()
    assert NotaryCase.objects.get(pk=case.pk).status == CaseStatus.AWAITING_BUYERS


def test_non_mainland_buyer_with_video_and_then_the_case_goes_to_review(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    make_foreign(CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=2))
    handoff = qr(case)
    mainland_to_done(Phone(django_capture_on_commit_callbacks), handoff, position=1)

    passport_to_done(Phone(django_capture_on_commit_callbacks, ip="198.51.100.7"), handoff, position=2)
    journey = Journey.objects.get(buyer__case=case, buyer__position=2)
    assert journey.status == "submitted" and journey.path == "document_video"
    assert NotaryCase.objects.get(pk=case.pk).status == CaseStatus.UNDER_REVIEW
    assert OutboxMessage.objects.filter(message_type="buyers.submitted").exists()


def test_choose_page_masks_names_and_numbers_and_shows_status(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    page = phone.follow(qr(case).url.split("testserver")[-1].replace("http://127.0.0.1:8000", "")).content.decode()
    for party in CaseParty.objects.filter(case=case):
        assert party.name not in page and party.id_number not in page
        assert f"{party.id_number[:4]}**********{party.id_number[-4:]}" in page
        assert f"{party.name[0]}*" in page
    assert page.count("未核验") == 2


def test_after_submission_every_change_answers_409(office: Any, django_capture_on_commit_callbacks: Capture) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    mainland_to_done(phone, qr(case))
    for url, data in (
        ("/b/signature/", {"signature": signature_data_url()}),
        ("/b/uploads/", {"holding": upload("h.jpg", photo())}),
        ("/b/read/", {"agree": "yes"}),
        ("/b/consent/", {"transfer": "yes", "face_processing": "yes"}),
    ):
        refused = phone.post(url, data)
        assert refused.status_code == 409, url
        assert "已提交" in refused.content.decode()
    refused = phone.post("/b/choose/", {"buyer": 1})
    assert refused.status_code == 409
    assert JourneyUpload.objects.filter(journey__buyer__case=case).count() == 4


def test_second_device_is_refused_and_a_copied_cookie_reaches_nothing(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    handoff = qr(case)
    first = Phone(django_capture_on_commit_callbacks)
    first.scan(handoff)
    first.post("/b/choose/", {"buyer": 1})
    first.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})

    second = Phone(django_capture_on_commit_callbacks, ip="198.51.100.9")
    assert second.scan(handoff)["Location"] == "/b/"
    refused = second.post("/b/choose/", {"buyer": 1})
    assert refused.status_code == 409 and "已在其他设备上办理" in refused.content.decode()
    # The other buyer is free for the second phone.
    assert second.post("/b/choose/", {"buyer": 2})["Location"] == "/b/consent/"
    # A copied session cookie without the device cookie reaches nothing.
    thief = Phone(django_capture_on_commit_callbacks)
    thief.client.cookies["ecancel_buyer"] = first.client.cookies["ecancel_buyer"].value
    assert thief.get("/b/").status_code == 401


def test_expired_session_asks_to_scan_again_and_resumes_at_the_step(
    office: Any, django_capture_on_commit_callbacks: Capture, settings: Settings
) -> None:
    case = case_for_buyers(office)
    handoff = qr(case)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(handoff)
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    settings.ECANCEL_BUYER_SESSION_IDLE = settings.ECANCEL_BUYER_SESSION_IDLE * 0  # every session is now idle too long
    expired = phone.get("/b/face/")
    assert expired.status_code == 401 and "重新扫描二维码" in expired.content.decode()
    settings.ECANCEL_BUYER_SESSION_IDLE = type(settings.ECANCEL_BUYER_SESSION_IDLE)(minutes=10)
    assert phone.scan(handoff)["Location"] == "/b/"
    assert phone.get("/b/")["Location"] == "/b/face/"


def test_a_session_reaches_only_its_own_case_documents(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    mine, theirs = case_for_buyers(office), case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(mine))
    phone.post("/b/choose/", {"buyer": 1})
    other = Phone(django_capture_on_commit_callbacks, ip="198.51.100.2")
    other.scan(qr(theirs))
    other.post("/b/choose/", {"buyer": 1})
    other.get("/b/doc/termination_agreement/")
    # Document keys are per case: mine opens my case's files and records nothing on theirs.
    shown = phone.get("/b/doc/termination_agreement/")
    assert shown.status_code == 200
    assert DocumentOpening.objects.filter(journey__case=theirs).count() == 1
    assert DocumentOpening.objects.filter(journey__case=mine).count() == 1
    assert phone.get("/b/doc/not-a-document/").status_code == 404
    # Without a session nothing is served at all.
    assert Phone(django_capture_on_commit_callbacks).get("/b/doc/termination_agreement/").status_code == 401


def test_mainland_buyer_declining_face_processing_goes_the_document_and_video_way(
    office: Any, django_capture_on_commit_callbacks: Capture
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    assert phone.post("/b/consent/", {"face_processing": "no", "transfer": "yes"})["Location"] == "/b/document-read/"
    page = phone.get("/b/document-read/")
    assert step_of(page) == (2, 8) and 'name="back"' in page.content.decode()
    assert Consent.objects.get(journey__case=case, kind="face_processing").given is False


def test_refusals_keep_the_page_and_change_nothing(
    office: Any, django_capture_on_commit_callbacks: Capture, settings: Settings
) -> None:
    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    assert phone.post("/b/consent/", {"face_processing": "yes"}).status_code == 422
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    # A file of the wrong type, answered as JSON for the page script.
    wrong = phone.post(
        "/b/face/reference/",
        {"document_front": upload("id.jpg", b"%PDF-1.4 not a photo", "image/jpeg")},
        HTTP_X_REQUESTED_WITH="XMLHttpRequest",
    )
    assert wrong.status_code == 422 and wrong.json()["ok"] is False and "JPEG" in wrong.json()["message"]
    phone.post("/b/face/reference/", {"document_front": upload("id.jpg", photo())})
    # A face mismatch: the reasons in plain words and the tries left; the step stays.
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {"face": "failed:mismatch"}
    camera = phone.get("/b/face/").content.decode()
    phone.post("/b/face/", capture(camera, 3))
    poll = phone.get("/b/poll/face/").json()
    assert poll["done"] is True and poll["next"] is None
    assert "不是同一人" in poll["html"] and "还可以再试" in poll["html"]
    failed = phone.get("/b/face/").content.decode()
    assert "不是同一人" in failed and "?again=1" in failed
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {}
    camera = phone.get("/b/face/?again=1").content.decode()
    phone.post("/b/face/", capture(camera, 4))
    assert phone.get("/b/poll/face/").json()["next"] == "/b/read/"


def test_signature_must_be_a_drawn_png(office: Any, django_capture_on_commit_callbacks: Capture) -> None:
    from ecancel.buyers.services.journey import signature_png
    from ecancel.core.errors import ValidationFailed

    assert signature_png(signature_data_url()).startswith(b"\x89PNG")
    for bad in ("", signature_data_url(drawn=False), "data:image/png;base64,AAAA", "data:image/jpeg;base64,AAAA"):
        with pytest.raises(ValidationFailed):
            signature_png(bad)


def test_a_silent_or_short_video_is_explained_and_can_be_recorded_again(
    office: Any, django_capture_on_commit_callbacks: Capture, settings: Settings
) -> None:
    case = case_for_buyers(office)
    make_foreign(CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=1))
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    phone.post("/b/document-kind/", {"kind": "passport"})
    phone.post("/b/document-read/", {"front": upload("p.jpg", photo())})
    phone.get("/b/document-read/")
    read_documents(phone)
    phone.post(
        "/b/uploads/", {slot: upload(f"{slot}.jpg", photo()) for slot in ("document_front", "document_back", "holding")}
    )
    phone.post("/b/signature/", {"signature": signature_data_url()})
    settings.ECANCEL_IDENTITY_NULL_OUTCOMES = {"video": "failed:too_short,silent"}
    recorder = phone.get("/b/video/").content.decode()
    video = upload("v.webm", makers.make_video(5, silent=True), "video/webm")
    phone.post("/b/video/", {"check": hidden(recorder, "check"), "nonce": hidden(recorder, "nonce"), "video": video})
    again = phone.get("/b/video/").content.decode()
    assert "视频太短" in again and "data-recorder-again" in again
    assert hidden(again, "check") != hidden(recorder, "check")  # a fresh text to read for the new recording
    # Earlier steps are kept: the photos and the signature are still there.
    assert JourneyUpload.objects.filter(journey__case=case).count() == 4


def test_both_sides_of_the_id_card_are_waited_for(office: Any, django_capture_on_commit_callbacks: Capture) -> None:
    from django.utils import timezone

    from ecancel.buyers.models import JourneyCheck
    from ecancel.identity.services import document_check_run

    case = case_for_buyers(office)
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "no", "transfer": "yes"})
    # Posted without running what the commit queues: both readings wait for the worker.
    phone.client.post("/b/document-read/", {"front": upload("f.jpg", photo()), "back": upload("b.jpg", photo())})
    checks = {jc.check_run.document_kind: jc.check_run for jc in JourneyCheck.objects.filter(journey__case=case)}
    assert set(checks) == {"id_card_front", "id_card_back"}
    now = timezone.now()
    document_check_run(check_id=checks["id_card_back"].pk, now=now, today=now.date())
    assert "data-poll" in phone.get("/b/document-read/").content.decode()
    document_check_run(check_id=checks["id_card_front"].pk, now=now, today=now.date())
    assert phone.get("/b/document-read/")["Location"] == "/b/read/"
