"""The Tencent Cloud provider against a fake API server on 127.0.0.1: requests, answers, and every
kind of failure mapped to a result or to a retryable / refused error."""

from __future__ import annotations

import base64
import json
from datetime import date

import pytest
from pytest_django import Settings

from ecancel.identity.providers.base import FaceCapture, FaceStart, ProviderRefused, ProviderUnavailable
from ecancel.identity.providers.tencent import TENCENT_SIMILARITY_THRESHOLD, TencentProvider
from tests.identity.tencent_fake import Answer, FakeTencent, fake_tencent

__all__ = ["fake_tencent"]

TODAY = date(2026, 12, 4)
PHOTO = b"\xff\xd8\xff\xe0 fake jpeg"
PHOTO_B64 = base64.b64encode(PHOTO).decode()
ID_NUMBER = "11010519491231002X"
provider = TencentProvider()


def detect_result(nonce: str, **text: object) -> Answer:
    base = {"ErrCode": 0, "ErrMsg": "成功", "LiveStatus": 0, "Comparestatus": 0, "Sim": "93.12", "Extra": nonce}
    return Answer({"Text": {**base, **text}, "BestFrame": {"BestFrame": PHOTO_B64}})


def finish(nonce: str = "n-1") -> object:
    start = FaceStart(nonce=nonce, redirect_url="https://h5", external_ref="biz-1")
    return provider.finish_face_check(start=start, capture=FaceCapture(), reference=None, previous=None)


def test_start_asks_for_the_hosted_flow_bound_to_our_nonce(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["DetectAuth"] = Answer({"Url": "https://faceid.example/h5?token=biz-1", "BizToken": "biz-1"})
    started = provider.start_face_check(
        action="nod", nonce="n-1", return_url="https://ecancel.example/back", name="张三", id_number=ID_NUMBER
    )
    assert started.redirect_url == "https://faceid.example/h5?token=biz-1"
    assert started.external_ref == "biz-1"
    assert started.action is None
    action, payload, headers = fake_tencent.calls[0]
    assert action == "DetectAuth"
    assert payload == {
        "RuleId": "1",
        "IdCard": ID_NUMBER,
        "Name": "张三",
        "RedirectUrl": "https://ecancel.example/back",
        "Extra": "n-1",
    }
    assert headers["Authorization"].startswith("TC3-HMAC-SHA256 Credential=AKIDfake/")
    assert headers["X-TC-Version"] == "2018-03-01"


def test_finish_reads_the_result_from_tencent(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["GetDetectInfoEnhanced"] = detect_result("n-1")
    outcome = finish()
    assert outcome.decision == "passed"
    assert outcome.scores == {"similarity": 93.12}
    assert outcome.threshold == TENCENT_SIMILARITY_THRESHOLD
    assert outcome.portrait == PHOTO
    assert fake_tencent.calls[0][1]["BizToken"] == "biz-1"


@pytest.mark.parametrize(
    ("text", "reasons"),
    [
        ({"ErrCode": -1102, "Comparestatus": -1102, "Sim": "41.0"}, ("mismatch",)),
        ({"ErrCode": -1101, "LiveStatus": -1101}, ("liveness_failed",)),
        ({"Extra": "someone-else"}, ("nonce_mismatch",)),
    ],
)
def test_finish_failures(fake_tencent: FakeTencent, text: dict[str, object], reasons: tuple[str, ...]) -> None:
    fake_tencent.answers["GetDetectInfoEnhanced"] = detect_result("n-1", **text)
    outcome = finish()
    assert outcome.decision == "failed"
    assert outcome.reasons == reasons


def test_an_unfinished_hosted_flow_is_retried(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["GetDetectInfoEnhanced"] = Answer({"Text": {"ErrCode": None}})
    with pytest.raises(ProviderUnavailable) as caught:
        finish()
    assert caught.value.code == "not_finished"
    assert caught.value.retryable


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (Answer(error="RequestLimitExceeded"), "throttled"),
        (Answer(error="FailedOperation.RequestLimitExceeded"), "throttled"),
        (Answer(error="InternalError"), "server_error"),
        (Answer(error="InternalError", status=502), "server_error"),
    ],
)
def test_passing_trouble_is_retryable(fake_tencent: FakeTencent, answer: Answer, code: str) -> None:
    fake_tencent.answers["GetDetectInfoEnhanced"] = answer
    with pytest.raises(ProviderUnavailable) as caught:
        finish()
    assert caught.value.code == code


def test_a_timeout_is_retryable(fake_tencent: FakeTencent, settings: Settings) -> None:
    settings.ECANCEL_TENCENT_TIMEOUT = 0.3
    fake_tencent.answers["GetDetectInfoEnhanced"] = Answer(hang=True)
    with pytest.raises(ProviderUnavailable) as caught:
        finish()
    assert caught.value.code == "timeout"


def test_nothing_listening_is_retryable(settings: Settings) -> None:
    settings.ECANCEL_TENCENT_ENDPOINT = "http://127.0.0.1:9"
    settings.ECANCEL_TENCENT_SECRET_ID, settings.ECANCEL_TENCENT_SECRET_KEY = "AKIDfake", "fake-secret"
    with pytest.raises(ProviderUnavailable) as caught:
        finish()
    assert caught.value.code == "network"


@pytest.mark.parametrize("error", ["AuthFailure.SecretIdNotFound", "UnauthorizedOperation.Nonactivated"])
def test_refusals_are_not_retried(fake_tencent: FakeTencent, error: str) -> None:
    fake_tencent.answers["GetDetectInfoEnhanced"] = Answer(error=error)
    with pytest.raises(ProviderRefused) as caught:
        finish()
    assert not caught.value.retryable


def test_missing_credentials_are_refused_before_any_call(fake_tencent: FakeTencent, settings: Settings) -> None:
    settings.ECANCEL_TENCENT_SECRET_KEY = ""
    with pytest.raises(ProviderRefused, match="not_configured"):
        finish()
    assert fake_tencent.calls == []


def id_card_front(**fields: object) -> Answer:
    body = {
        "Name": "张三",
        "Sex": "男",
        "Nation": "汉",
        "Birth": "1949/12/31",
        "Address": "北京市朝阳区",
        "IdNum": ID_NUMBER,
        "Authority": "",
        "ValidDate": "",
        "AdvancedInfo": json.dumps({"Portrait": PHOTO_B64}),
    }
    return Answer({**body, **fields})


def test_id_card_front_is_read_and_checked(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["IDCardOCR"] = id_card_front()
    outcome = provider.read_document(
        kind="id_card_front", image=PHOTO, today=TODAY, expected_name="张三", expected_number=ID_NUMBER.lower()
    )
    assert outcome.decision == "passed", outcome
    assert outcome.details["fields"]["number"] == ID_NUMBER
    assert outcome.portrait == PHOTO
    payload = fake_tencent.calls[0][1]
    assert payload["CardSide"] == "FRONT"
    assert json.loads(payload["Config"]) == {"CropPortrait": True}
    assert base64.b64decode(payload["ImageBase64"]) == PHOTO


def test_id_card_front_with_another_number(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["IDCardOCR"] = id_card_front()
    outcome = provider.read_document(
        kind="id_card_front", image=PHOTO, today=TODAY, expected_number="110105194912310038"
    )
    assert (outcome.decision, outcome.reasons) == ("failed", ("number_mismatch",))


@pytest.mark.parametrize(("valid", "decision"), [("2015.07.21-2025.07.21", "failed"), ("2016.01.01-长期", "passed")])
def test_id_card_back_validity(fake_tencent: FakeTencent, valid: str, decision: str) -> None:
    fake_tencent.answers["IDCardOCR"] = Answer({"Authority": "北京市公安局朝阳分局", "ValidDate": valid})
    outcome = provider.read_document(kind="id_card_back", image=PHOTO, today=TODAY)
    assert outcome.decision == decision
    assert outcome.reasons == (("document_expired",) if decision == "failed" else ())


def test_a_photo_without_a_card(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["IDCardOCR"] = Answer(error="FailedOperation.ImageNoIdCard")
    outcome = provider.read_document(kind="id_card_front", image=PHOTO, today=TODAY)
    assert (outcome.decision, outcome.reasons) == ("failed", ("no_document",))


def test_passport(fake_tencent: FakeTencent) -> None:
    fake_tencent.answers["PassportOCR"] = Answer(
        {"PassportNo": "E12345678", "Name": "ZHANG SAN", "Nationality": "CHN", "ExpiryDate": "2031-05-01"}
    )
    outcome = provider.read_document(kind="passport", image=PHOTO, today=TODAY, expected_number="E12345678")
    assert outcome.decision == "passed", outcome
    assert fake_tencent.actions() == ["PassportOCR"]


@pytest.mark.parametrize(
    ("kind", "printed", "reasons"),
    [
        ("hk_macau_permit", "港澳居民来往内地通行证", ()),
        ("taiwan_permit", "港澳居民来往内地通行证", ("wrong_document",)),
    ],
)
def test_mainland_permits(fake_tencent: FakeTencent, kind: str, printed: str, reasons: tuple[str, ...]) -> None:
    fake_tencent.answers["MainlandPermitOCR"] = Answer(
        {
            "Name": "陈大文",
            "Number": "H12345678",
            "Type": printed,
            "ValidDate": "2020.01.01-2030.01.01",
            "Profile": PHOTO_B64,
        }
    )
    outcome = provider.read_document(kind=kind, image=PHOTO, today=TODAY)  # type: ignore[arg-type]
    assert outcome.reasons == reasons
    assert outcome.portrait == PHOTO


def test_a_kind_tencent_does_not_read(fake_tencent: FakeTencent) -> None:
    outcome = provider.read_document(kind="foreign_permanent_residence", image=PHOTO, today=TODAY)
    assert (outcome.decision, outcome.reasons) == ("unusable", ("document_kind_unsupported",))
    assert fake_tencent.calls == []


@pytest.mark.parametrize(
    ("answer", "decision", "reasons"),
    [
        (Answer({"Result": "Success", "Sim": 88.5, "Description": "成功"}), "passed", ()),
        (Answer({"Result": "Success", "Sim": 52.0, "Description": "成功"}), "failed", ("face_mismatch",)),
        (Answer(error="FailedOperation.SilentMultiFaceFail"), "failed", ("several_faces",)),
    ],
)
def test_statement_video(fake_tencent: FakeTencent, answer: Answer, decision: str, reasons: tuple[str, ...]) -> None:
    fake_tencent.answers["LivenessCompare"] = answer
    outcome = provider.check_video(video=b"\x1a\x45\xdf\xa3 webm", text="本人自愿…", portrait=PHOTO)
    assert (outcome.decision, outcome.reasons) == (decision, reasons)
    assert fake_tencent.calls[0][1]["LivenessType"] == "SILENT"


def test_statement_video_without_a_portrait(fake_tencent: FakeTencent) -> None:
    outcome = provider.check_video(video=b"webm", text="…", portrait=None)
    assert (outcome.decision, outcome.reasons) == ("unusable", ("no_reference",))
    assert fake_tencent.calls == []
