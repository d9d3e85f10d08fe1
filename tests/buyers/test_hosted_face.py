"""The face check through a hosted flow (Tencent's, against the fake on 127.0.0.1): the page sends the buyer
there, the return URL asks Tencent's server for the result, and the journey moves on only when it passed."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest
from pytest_django import Settings

from ecancel.identity.models import CheckKind, IdentityCheck
from ecancel.notary.models import CaseParty, PartyRole
from tests.buyers.journey import Phone, case_for_buyers, photo, qr, upload
from tests.identity.tencent_fake import Answer, FakeTencent, fake_tencent

__all__ = ["fake_tencent"]

pytestmark = pytest.mark.django_db
HOSTED = "https://faceid.example/h5?token=biz-1"


def test_the_hosted_face_flow_goes_out_and_comes_back(
    office: Any,
    settings: Settings,
    fake_tencent: FakeTencent,
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "tencent"
    case = case_for_buyers(office)
    buyer = CaseParty.objects.get(case=case, role=PartyRole.BUYER, position=1)
    portrait = base64.b64encode(photo()).decode()
    fake_tencent.answers["IDCardOCR"] = Answer(
        {
            "Name": buyer.name,
            "Sex": "男",
            "Nation": "汉",
            "Birth": f"{buyer.id_number[6:10]}/{buyer.id_number[10:12]}/{buyer.id_number[12:14]}",
            "Address": "广东省中山市",
            "IdNum": buyer.id_number,
            "Authority": "",
            "ValidDate": "",
            "AdvancedInfo": json.dumps({"Portrait": portrait}),
        }
    )
    fake_tencent.answers["DetectAuth"] = Answer({"Url": HOSTED, "BizToken": "biz-1"})
    phone = Phone(django_capture_on_commit_callbacks)
    phone.scan(qr(case))
    phone.post("/b/choose/", {"buyer": 1})
    phone.post("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
    phone.post("/b/face/reference/", {"document_front": upload("id.jpg", photo())})
    page = phone.get("/b/face/").content.decode()
    assert f'href="{HOSTED}"' in page and "data-camera-capture" not in page
    detect = next(payload for action, payload, _ in fake_tencent.calls if action == "DetectAuth")
    assert detect["RedirectUrl"] == "http://testserver/b/face/return/" and detect["IdCard"] == buyer.id_number
    # Back from Tencent: the result is asked from Tencent's server (bound to our nonce), never from the browser.
    check = IdentityCheck.objects.get(kind=CheckKind.FACE, case_ref=case.subject_ref)
    fake_tencent.answers["GetDetectInfoEnhanced"] = Answer(
        {
            "Text": {"ErrCode": 0, "ErrMsg": "成功", "LiveStatus": 0, "Comparestatus": 0, "Sim": "93.1"}
            | {"Extra": check.nonce},
            "BestFrame": {"BestFrame": portrait},
        }
    )
    assert phone.post("/b/face/return/").status_code == 405
    with django_capture_on_commit_callbacks(execute=True):
        assert phone.get("/b/face/return/")["Location"] == "/b/face/"
    assert phone.get("/b/face/")["Location"] == "/b/read/"
