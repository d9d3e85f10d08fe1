"""Every timestamp authority backend through the ``TimestampAuthority`` protocol: the local one, and an external
authority over HTTP (another party's, served on 127.0.0.1 and trusted through ``ECANCEL_TRUSTED_ROOTS``). Then what
only the HTTP backend does: its settings, an authority that is down or refuses."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pyhanko.sign.timestamps import TimeStamper, TimestampRequestError
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data
from pyhanko.sign.validation.status import TimestampSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pytest_django import Settings

from ecancel.accounts.models import Organisation
from ecancel.documents.pki import trust_roots
from ecancel.documents.pki.local_ca import LocalCA
from ecancel.documents.signing import sign_pdf
from ecancel.documents.timestamps import (
    HttpTimestampBackend,
    LocalTimestampAuthority,
    LocalTimeStamper,
    TimestampAuthority,
    local_authority,
    timestamp_authority,
    timestamp_token,
    timestamper,
)
from ecancel.documents.verification import verify_pdf
from tests.documents.signing_support import make_pdf, write_root_pem
from tests.documents.tsa_server import TimestampServer, timestamp_server

pytestmark = pytest.mark.django_db

LOCAL = "ecancel.documents.timestamps.LocalTimestampBackend"
HTTP = "ecancel.documents.timestamps.HttpTimestampBackend"
DIGEST = hashlib.sha256(b"audit checkpoint 1234").digest()


@pytest.fixture
def other_partys_authority(tmp_path: Path) -> tuple[LocalTimestampAuthority, LocalCA]:
    """A timestamp authority under a CA this deployment has nothing to do with, as a commercial TSA would be."""
    ca = LocalCA(tmp_path / "tsa-ca")
    return LocalTimestampAuthority(ca.timestamp_authority()), ca


@pytest.fixture
def tsa_server(
    settings: Settings, tmp_path: Path, other_partys_authority: tuple[LocalTimestampAuthority, LocalCA]
) -> Iterator[TimestampServer]:
    """The other party's authority over HTTP, configured as this deployment's, its root trusted."""
    authority, ca = other_partys_authority
    with timestamp_server(authority) as server:
        settings.ECANCEL_TSA_BACKEND = HTTP
        settings.ECANCEL_TSA_URL = server.url
        settings.ECANCEL_TRUSTED_ROOTS = [str(write_root_pem(ca, tmp_path / "tsa-root.pem"))]
        yield server


@pytest.fixture(params=["local", "http"])
def authority(request: pytest.FixtureRequest, settings: Settings) -> TimestampAuthority:
    if request.param == "local":
        settings.ECANCEL_TSA_BACKEND = LOCAL
    else:
        request.getfixturevalue("tsa_server")
    return timestamp_authority()


def token_status(token: bytes, digest: bytes) -> tuple[TimestampSignatureStatus, tsp.TSTInfo]:
    """pyHanko's judgement of a token over ``digest``, against every root this deployment trusts."""
    signed_data = cms.ContentInfo.load(token)["content"]
    status = asyncio.run(
        validate_tst_signed_data(
            signed_data, ValidationContext(trust_roots=trust_roots()), expected_tst_imprint=lambda _: digest
        )
    )
    return TimestampSignatureStatus(**status), signed_data["encap_content_info"]["content"].parsed


def assert_tokens_are_sound(authority: TimestampAuthority) -> None:
    """The contract: a token over exactly the digest asked for, signed now, by a certificate for timestamping
    that chains to a root this deployment trusts; a new serial number every time."""
    before = dt.datetime.now(dt.UTC)
    first, second = timestamp_token(DIGEST), timestamp_token(DIGEST)
    after = dt.datetime.now(dt.UTC)
    status, info = token_status(first, DIGEST)
    assert status.intact and status.valid, status
    assert status.trusted, f"the token's certificate chains to no trusted root: {status}"
    assert info["message_imprint"]["hash_algorithm"]["algorithm"].native == "sha256"
    assert info["message_imprint"]["hashed_message"].native == DIGEST
    assert before - dt.timedelta(seconds=1) <= info["gen_time"].native <= after + dt.timedelta(seconds=1)
    assert "time_stamping" in status.signing_cert.extended_key_usage_value.native
    _, other = token_status(second, DIGEST)
    assert other["serial_number"].native != info["serial_number"].native
    roots = {root.sha256 for root in trust_roots()}
    assert all(root.sha256 in roots for root in authority.trust_roots()), "the backend's own roots are trusted"


def test_tokens_cover_the_digest_and_chain_to_a_trusted_root(authority: TimestampAuthority) -> None:
    assert_tokens_are_sound(authority)


def test_the_timestamper_is_made_once_per_process(authority: TimestampAuthority) -> None:
    assert isinstance(authority.timestamper(), TimeStamper)
    assert timestamp_authority() is authority
    assert timestamper() is authority.timestamper()


def test_a_document_signed_with_its_timestamps_verifies(authority: TimestampAuthority, developer: Organisation) -> None:
    report = verify_pdf(sign_pdf(make_pdf(), organisation=developer, level="B-LTA"))

    assert report.valid, report.problems
    [signature] = report.signatures
    assert signature.timestamp_trusted and signature.timestamp_authority == "ecancel 本地时间戳服务"
    [archive] = report.document_timestamps
    assert archive.valid and archive.trusted


class UntrustedTimestampBackend:
    """Tokens from an authority nobody configured as trusted: the contract must catch it."""

    def __init__(self) -> None:
        ca = LocalCA(Path(settings.ECANCEL_KEYS_DIR) / "untrusted-tsa-ca")
        self._timestamper = LocalTimeStamper(LocalTimestampAuthority(ca.timestamp_authority()))

    def timestamper(self) -> TimeStamper:
        return self._timestamper

    def trust_roots(self) -> list[asn1_x509.Certificate]:
        return []


def test_the_contract_catches_an_authority_nobody_trusts(settings: Settings) -> None:
    settings.ECANCEL_TSA_BACKEND = f"{__name__}.UntrustedTimestampBackend"

    with pytest.raises(AssertionError, match="chains to no trusted root"):
        assert_tokens_are_sound(timestamp_authority())


# --- the HTTP backend ---


def test_http_requests_are_rfc_3161_queries(tsa_server: TimestampServer) -> None:
    timestamp_token(DIGEST)
    assert tsa_server.requests == ["application/timestamp-query"]


def test_an_authority_that_is_down_or_fails_stops_the_signature(
    settings: Settings, tsa_server: TimestampServer, developer: Organisation
) -> None:
    tsa_server.answers.append(500)
    with pytest.raises(TimestampRequestError, match="answered 500"):
        sign_pdf(make_pdf(), organisation=developer)
    tsa_server.answers.append(b"<html>maintenance</html>")
    with pytest.raises(TimestampRequestError, match="not RFC 3161"):
        timestamp_token(DIGEST)
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        settings.ECANCEL_TSA_URL = f"http://127.0.0.1:{probe.getsockname()[1]}/tsa"
    with pytest.raises(TimestampRequestError, match="ConnectError"):
        timestamp_token(DIGEST)


def test_a_refusal_from_the_authority_is_an_error_not_a_token(
    settings: Settings, tsa_server: TimestampServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An authority that refuses the hash algorithm answers a rejection, which gives no token."""
    monkeypatch.setattr("ecancel.documents.timestamps.SUPPORTED_IMPRINTS", set())
    with pytest.raises(TimestampRequestError, match=r"refused: rejection \['bad_alg'\] \['unsupported message imprint"):
        timestamp_token(DIGEST)


@pytest.mark.parametrize("request_body", [b"", b"\x30\x03garbage", b"not asn.1 at all"])
def test_the_local_authority_rejects_a_malformed_request_as_a_server_would(request_body: bytes) -> None:
    answer = local_authority().respond_der(request_body)

    status = tsp.PKIStatusInfo.load(core.Sequence.load(answer).contents)
    assert status["status"].native == "rejection"
    assert status["fail_info"].native == {"bad_request"}


def test_the_http_backend_needs_its_url(settings: Settings) -> None:
    settings.ECANCEL_TSA_URL = ""
    with pytest.raises(ImproperlyConfigured, match="ECANCEL_TSA_URL"):
        HttpTimestampBackend()


@pytest.mark.parametrize(
    ("env", "chosen"),
    [
        ({}, LOCAL),
        ({"ECANCEL_TSA_URL": "https://tsa.example.gov.cn/rfc3161"}, HTTP),
        ({"ECANCEL_TSA_URL": "https://tsa.example.gov.cn/rfc3161", "ECANCEL_TSA_BACKEND": LOCAL}, LOCAL),
        ({"ECANCEL_TSA_BACKEND": HTTP}, "须设置 ECANCEL_TSA_URL / ECANCEL_TSA_URL must be set"),
    ],
)
def test_the_url_chooses_the_http_backend_unless_a_backend_is_named(
    tmp_path: Path, env: dict[str, str], chosen: str
) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ECANCEL_", "DJANGO_"))}
    result = subprocess.run(
        [sys.executable, "-c", "from ecancel.config import settings; print(settings.ECANCEL_TSA_BACKEND)"],
        env={**clean, "ECANCEL_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert chosen in result.stdout + result.stderr, result.stderr
