"""Message bodies: complete examples of each type fit; documents must match their attachments."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ecancel.exchange.messages import MESSAGE_TYPES, BodyProblem, MaterialsPushed, MaterialsRepushed, check_body

FORM = b"%PDF-1.7 application form"
AGREEMENT = b"%PDF-1.7 termination agreement"
POA = b"%PDF-1.7 power of attorney"


def doc(kind: str, name: str, data: bytes) -> dict[str, str]:
    return {"kind": kind, "title": kind, "attachment": name, "sha256": hashlib.sha256(data).hexdigest()}


def pushed_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "application_ref": str(uuid.uuid4()),
        "version": 1,
        "application_no": "ZX2026-000001",
        "seller": {
            "organisation_id": str(uuid.uuid4()),
            "name": "中山测试置业有限公司",
            "credit_code": "91442000MA4UXXXX1X",
            "legal_representative": "张建国",
        },
        "contract": {
            "contract_no": "ZS2026000001",
            "filing_no": "BA2026000001",
            "project_name": "测试花园一期",
            "building": "3幢",
            "room_no": "1502",
            "location": "中山市东区测试路1号3幢1502房",
            "floor_area": "98.36",
            "total_price": "1580000.00",
            "signed_on": "2026-03-02",
            "filed_on": "2026-03-05",
        },
        "applicants": [
            {"position": 1, "name": "李明", "id_type": "mainland_id", "id_number": "442000198803140012"},
            {"position": 2, "name": "陈芳", "id_type": "hk_macao_permit", "id_number": "H12345678", "region": "香港"},
        ],
        "reason": {"code": "other", "label": "其他", "text": "家庭原因"},
        "notary_office_id": str(uuid.uuid4()),
        "documents": [
            doc("application_form", "application_form.pdf", FORM),
            doc("termination_agreement", "termination_agreement.pdf", AGREEMENT),
        ],
        "pushed_at": datetime.now(UTC).isoformat(),
        "pushed_by": "陈经办",
    }
    body.update(overrides)
    return body


FILES = {"application_form.pdf": FORM, "termination_agreement.pdf": AGREEMENT}


def hashes(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


def test_every_type_has_a_chinese_label_and_a_direction() -> None:
    assert set(MESSAGE_TYPES) >= {
        "materials.pushed",
        "case.accepted",
        "revoke.requested",
        "case.revoked",
        "materials.repushed",
        "case.refused",
        "buyers.submitted",
        "certificate.issued",
    }
    for name, model in MESSAGE_TYPES.items():
        assert name == model.TYPE
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(model.LABEL)), name
        assert model.SENDER_KINDS and model.RECIPIENT_KINDS
        # From whichever side a deployment hosts to its peer on the other.
        if name in {"audit.checkpoint", "exchange.key.announced"}:
            assert model.SENDER_KINDS == model.RECIPIENT_KINDS
            continue
        assert not model.SENDER_KINDS & model.RECIPIENT_KINDS, "messages cross between the sides"


def test_materials_pushed_round_trips_through_json() -> None:
    parsed = check_body("materials.pushed", pushed_body(), hashes(FILES))
    assert isinstance(parsed, MaterialsPushed)
    again = check_body("materials.pushed", parsed.model_dump(mode="json"), hashes(FILES))
    assert again == parsed
    assert str(parsed.contract.floor_area) == "98.36"


def test_documents_must_match_attachments() -> None:
    assert isinstance(check_body("materials.pushed", pushed_body(), {}), BodyProblem)
    wrong = {**hashes(FILES), "application_form.pdf": hashlib.sha256(b"other").hexdigest()}
    problem = check_body("materials.pushed", pushed_body(), wrong)
    assert isinstance(problem, BodyProblem) and "application_form.pdf" in problem.en
    only_form = pushed_body(documents=[doc("application_form", "application_form.pdf", FORM)])
    problem = check_body("materials.pushed", only_form, hashes({"application_form.pdf": FORM}))
    assert isinstance(problem, BodyProblem) and "termination_agreement" in problem.en


def test_agent_needs_a_listed_power_of_attorney_and_real_principals() -> None:
    agent = {
        "name": "王代理",
        "id_type": "mainland_id",
        "id_number": "442000199001010011",
        "phone": "13900000000",
        "acts_for": [2],
        "power_of_attorney": "power_of_attorney.pdf",
    }
    files = {**FILES, "power_of_attorney.pdf": POA}
    without_doc = pushed_body(agent=agent)
    assert isinstance(check_body("materials.pushed", without_doc, hashes(files)), BodyProblem)
    with_doc = pushed_body(
        agent=agent, documents=[*pushed_body()["documents"], doc("power_of_attorney", "power_of_attorney.pdf", POA)]
    )
    assert isinstance(check_body("materials.pushed", with_doc, hashes(files)), MaterialsPushed)
    stranger = pushed_body(agent={**agent, "acts_for": [7]}, documents=with_doc["documents"])
    assert isinstance(check_body("materials.pushed", stranger, hashes(files)), BodyProblem)


def test_repush_lists_what_changed() -> None:
    body = pushed_body(version=2)
    problem = check_body("materials.repushed", body, hashes(FILES))
    assert isinstance(problem, BodyProblem)
    body.update(
        previous_version=1,
        changes=[{"field": "applicants.1.name", "label": "申请人姓名", "before": "李名", "after": "李明"}],
    )
    assert isinstance(check_body("materials.repushed", body, hashes(FILES)), MaterialsRepushed)


@pytest.mark.parametrize("position", [[1, 1]])
def test_applicant_positions_are_unique(position: list[int]) -> None:
    applicants = [
        {"position": p, "name": f"买受人{i}", "id_type": "mainland_id", "id_number": f"4420001988031400{i}X"}
        for i, p in enumerate(position)
    ]
    assert isinstance(check_body("materials.pushed", pushed_body(applicants=applicants), hashes(FILES)), BodyProblem)


def test_a_refused_body_names_the_field_but_never_echoes_its_value() -> None:
    """Refusals are audited and answered to the sender: an ID number typed into them would leak."""
    number = "4420001988031400121234567890123456"
    applicant = {"position": 1, "name": "李明", "id_type": "mainland_id", "id_number": number}
    problem = check_body("materials.pushed", pushed_body(applicants=[applicant]), hashes(FILES))
    assert isinstance(problem, BodyProblem)
    assert "applicants.0.id_number" in problem.en and "applicants.0.id_number" in problem.zh
    assert number not in problem.zh and number not in problem.en
    assert "input_value" not in problem.en
