"""The sealed per-buyer manifest: signed by the notary office, checked offline by ``ecancel verify_manifest``."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from pytest_django import Settings

from ecancel.buyers.manifest import canonical, manifest_sign, manifest_verify
from ecancel.buyers.models import Manifest
from tests.buyers.journey import Phone, case_for_buyers, qr
from tests.buyers.test_journey_pages import mainland_to_done
from tests.factories import NotaryOfficeFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sealed(
    office: Any, settings: Settings, django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]]
) -> Manifest:
    settings.ECANCEL_IDENTITY_PROVIDER = "null"
    journey = mainland_to_done(Phone(django_capture_on_commit_callbacks), qr(case_for_buyers(office)))
    return Manifest.objects.get(journey=journey)


def write(folder: Path, content: bytes, signature: bytes) -> Path:
    path = folder / "manifest.json"
    path.write_bytes(content)
    (folder / "manifest.json.p7s").write_bytes(signature)
    return path


def test_manifest_holds_every_hash_and_verifies_offline(sealed: Manifest, tmp_path: Path, capsys: Any) -> None:
    content = json.loads(bytes(sealed.content))
    assert content["format"] == "ecancel.buyer-manifest/1"
    assert {c["kind"] for c in content["consents"]} == {"face_processing", "transfer_to_notary"}
    assert all(len(c["text_sha256"]) == 64 for c in content["consents"])
    assert [d["key"] for d in content["documents"]] == [
        "termination_agreement",
        "notarization_application",
        "notarization_notice",
        "intake_record",
    ]
    assert all(d["opened"] and d["opened"][0]["ip"] == "203.0.113.20" for d in content["documents"])
    assert {u["slot"] for u in content["uploads"]} == {"document_front", "document_back", "holding", "signature"}
    assert {c["purpose"] for c in content["checks"]} >= {"face", "face_again"}
    assert all(c["user_agent"].startswith("Mozilla/5.0") and c["evidence"] for c in content["checks"])
    path = write(tmp_path, bytes(sealed.content), bytes(sealed.signature))
    call_command("verify_manifest", str(path))
    assert "VALID" in capsys.readouterr().out


def test_a_tampered_manifest_is_refused_with_the_reason(sealed: Manifest, tmp_path: Path) -> None:
    content = json.loads(bytes(sealed.content))
    content["uploads"][0]["sha256"] = "0" * 64
    path = write(tmp_path, canonical(content), bytes(sealed.signature))
    with pytest.raises(CommandError, match="INVALID: the signature does not match") as refused:
        call_command("verify_manifest", str(path))
    assert refused.value.returncode == 1
    edited = bytes(sealed.content).replace(b'"format"', b'"format" ')
    with pytest.raises(CommandError, match="canonical"):
        call_command("verify_manifest", str(write(tmp_path, edited, bytes(sealed.signature))))


def test_a_manifest_signed_by_another_office_is_refused(sealed: Manifest) -> None:
    stranger = NotaryOfficeFactory().organisation
    content = bytes(sealed.content)
    result = manifest_verify(content, manifest_sign(content, office=stranger))
    assert not result.valid and "not by the office" in result.reason
