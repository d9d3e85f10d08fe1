"""Peers and keys: identity export and import, sealed HMAC secrets, private keys kept 0600."""

from __future__ import annotations

import json
import stat
from io import StringIO
from pathlib import Path

import pydantic
import pytest
from cryptography.exceptions import InvalidTag
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from ecancel.accounts.models import Organisation
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import ValidationFailed
from ecancel.documents.pki import organisation_signing_pins
from ecancel.documents.signing import sign_pdf
from ecancel.documents.verification import verify_pdf
from ecancel.exchange import keys
from ecancel.exchange.errors import NoRoute
from ecancel.exchange.models import Peer, Signing, Transport
from ecancel.exchange.pins import document_signing_pins
from ecancel.exchange.routing import route_to, verifier_for
from ecancel.exchange.services import peer_set
from tests.documents.signing_support import make_pdf
from tests.exchange.conftest import put

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_private_keys_are_files_readable_by_the_owner_only(developer: Organisation) -> None:
    public = keys.public_key_b64(developer.pk)
    path = keys.keys_dir() / f"{developer.pk}.ed25519"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.keys_dir().stat().st_mode) == 0o700
    assert keys.public_key_b64(developer.pk) == public, "created once, then reused"


def test_identity_export_and_import(developer: Organisation, notary_office: Organisation, tmp_path: Path) -> None:
    with override_settings(ECANCEL_HOSTED_SIDES=["notary"]):
        exported = json.loads(run("exchange_identity", "--endpoint", "https://notary.example/exchange/"))
    assert exported["endpoint"] == "https://notary.example/exchange/"
    assert [o["id"] for o in exported["organisations"]] == [str(notary_office.pk)]
    assert exported["organisations"][0]["ed25519_public_key"] == keys.public_key_b64(notary_office.pk)
    # The pin of the key the office signs with: what a verifier reads off a document it signed.
    signed_by_office = verify_pdf(sign_pdf(make_pdf(), organisation=notary_office)).signatures[0]
    assert exported["organisations"][0]["document_signing_pins"] == [signed_by_office.signer_key_sha256]

    identity = tmp_path / "notary.json"
    identity.write_text(json.dumps(exported))
    with override_settings(ECANCEL_HOSTED_SIDES=["filing"]):
        with pytest.raises(NoRoute):
            route_to(notary_office)
        run("exchange_peer", "import", str(identity))
        route = route_to(notary_office)
        verifier = verifier_for(notary_office, now=timezone.now())
    assert (route.transport, route.endpoint_url, route.signing) == (
        Transport.HTTP,
        "https://notary.example/exchange/",
        Signing.ED25519,
    )
    assert verifier is not None and len(verifier.public_keys) == 1
    listed = run("exchange_peer", "list")
    assert "https://notary.example/exchange/" in listed and signed_by_office.signer_key_sha256 in listed
    assert Peer.objects.get(organisation=notary_office).document_signing_pins == [signed_by_office.signer_key_sha256]


def test_the_pins_of_a_peer_come_from_its_identity_and_change_with_set(
    notary_office: Organisation, tmp_path: Path
) -> None:
    old, new, spare = "a" * 64, "B" * 64, ":".join(["cd"] * 32)
    identity = tmp_path / "notary.json"
    entry = {"id": str(notary_office.pk), "ed25519_public_key": keys.public_key_b64(notary_office.pk)}

    def identity_with(pins: object = None) -> None:
        stated = entry if pins is None else {**entry, "document_signing_pins": pins}
        identity.write_text(json.dumps({"endpoint": "https://n/exchange/", "organisations": [stated]}))

    identity_with()
    with override_settings(ECANCEL_HOSTED_SIDES=["filing"]):
        run("exchange_peer", "import", str(identity))
        assert document_signing_pins(notary_office) == frozenset(), "an older identity file brings no pins"

        identity_with([old])
        run("exchange_peer", "import", str(identity))
        assert document_signing_pins(notary_office) == {old}

        run("exchange_peer", "set", str(notary_office.pk), "--add-pin", new, "--add-pin", spare)
        assert document_signing_pins(notary_office) == {old, "b" * 64, "cd" * 32}, "both keys while rotating"
        run("exchange_peer", "set", str(notary_office.pk), "--remove-pin", old, "--remove-pin", spare)
        assert Peer.objects.get(organisation=notary_office).document_signing_pins == ["b" * 64]

        with pytest.raises(CommandError, match="没有登记"):
            run("exchange_peer", "set", str(notary_office.pk), "--remove-pin", old)
        with pytest.raises(CommandError, match="64 位十六进制"):
            run("exchange_peer", "set", str(notary_office.pk), "--add-pin", "not-a-pin")
        identity_with("x")
        with pytest.raises(CommandError, match="exchange_identity"):
            run("exchange_peer", "import", str(identity))
        identity_with([])
        run("exchange_peer", "import", str(identity))
        assert document_signing_pins(notary_office) == frozenset(), "the identity file is the other side's word"
    changes = AuditEvent.objects.filter(tag="exchange.peer.pins_changed")
    assert {(tuple(e.data["added"]), tuple(e.data["removed"])) for e in changes} == {
        (("b" * 64, "cd" * 32), ()),
        ((), ("a" * 64, "cd" * 32)),
    }


def test_pins_need_a_peer_and_an_organisation_hosted_here_is_pinned_to_its_own_key(
    notary_office: Organisation, other_notary_office: Organisation
) -> None:
    with pytest.raises(CommandError, match="不是对接机构"):
        run("exchange_peer", "set", str(notary_office.pk), "--add-pin", "a" * 64)
    assert document_signing_pins(notary_office) == frozenset(organisation_signing_pins(notary_office))
    assert document_signing_pins(notary_office) != document_signing_pins(other_notary_office)
    with override_settings(ECANCEL_HOSTED_SIDES=["filing"]):
        assert document_signing_pins(notary_office) == frozenset(), "hosted elsewhere and not a peer: nothing"


@pytest.mark.parametrize(
    "content",
    ["not json", '{"endpoint": "https://x/exchange/"}', '{"endpoint": "https://x/exchange/", "organisations": [{}]}'],
)
def test_import_of_a_wrong_file_says_so(content: str, tmp_path: Path) -> None:
    identity = tmp_path / "identity.json"
    identity.write_text(content)
    with pytest.raises(CommandError, match="exchange_identity"):
        run("exchange_peer", "import", str(identity))
    with pytest.raises(CommandError, match="exchange_identity"):
        run("exchange_peer", "import", str(tmp_path / "missing.json"))
    assert not Peer.objects.exists()


def test_unknown_or_malformed_organisation_ids_are_refused_clearly() -> None:
    for value in ("not-a-uuid", "6f1c2a52-8d1e-4c55-9a57-0e5c1d3a7b10"):
        with pytest.raises(CommandError, match="未找到机构"):
            run("exchange_peer", "deactivate", value)


def test_hmac_secret_is_sealed_and_never_listed(notary_office: Organisation, tmp_path: Path) -> None:
    secret = "0123456789abcdef0123456789abcdef-secret"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret + "\n")
    run(
        "exchange_peer",
        "set",
        str(notary_office.pk),
        "--url",
        "https://notary.example/exchange/",
        "--hmac-secret-file",
        str(secret_file),
    )
    peer = Peer.objects.get(organisation=notary_office)
    assert peer.signing == Signing.HMAC_SHA256
    assert secret not in peer.hmac_secret_sealed
    assert secret not in run("exchange_peer", "list")
    assert secret not in repr(route_to(notary_office))
    assert route_to(notary_office).hmac_secret == secret.encode()

    with pytest.raises(InvalidTag):
        keys.open_secret(peer.hmac_secret_sealed, bound_to="another organisation")


def test_peer_rules(notary_office: Organisation, tmp_path: Path) -> None:
    ctx = RequestContext.system("test")
    with pytest.raises(ValidationFailed, match="32"):
        peer_set(
            organisation=notary_office,
            transport="http",
            endpoint_url="https://x/",
            hmac_secret=b"short",
            actor=None,
            ctx=ctx,
        )
    with pytest.raises(ValidationFailed, match="公钥"):
        peer_set(
            organisation=notary_office,
            transport="http",
            endpoint_url="https://x/",
            public_key="bm9wZQ==",
            actor=None,
            ctx=ctx,
        )
    with pytest.raises(ValidationFailed, match="地址"):
        peer_set(organisation=notary_office, transport="http", hmac_secret=b"x" * 32, actor=None, ctx=ctx)
    with override_settings(PRODUCTION=True), pytest.raises(ValidationFailed, match="HTTPS"):
        peer_set(
            organisation=notary_office,
            transport="http",
            endpoint_url="http://notary.example/exchange/",
            hmac_secret=b"x" * 32,
            actor=None,
            ctx=ctx,
        )
    short = tmp_path / "short.txt"
    short.write_text("too short")
    with pytest.raises(CommandError, match="32"):
        run("exchange_peer", "set", str(notary_office.pk), "--url", "https://x/", "--hmac-secret-file", str(short))


def test_deactivated_peer_is_neither_reached_nor_trusted(developer: Organisation, notary_office: Organisation) -> None:
    with override_settings(ECANCEL_HOSTED_SIDES=["filing"]):
        peer_set(
            organisation=notary_office,
            transport="http",
            endpoint_url="https://notary.example/exchange/",
            public_key=keys.public_key_b64(notary_office.pk),
            actor=None,
            ctx=RequestContext.system("test"),
        )
        assert verifier_for(notary_office, now=timezone.now()) is not None
        run("exchange_peer", "deactivate", str(notary_office.pk))
        assert verifier_for(notary_office, now=timezone.now()) is None
        with pytest.raises(NoRoute) as caught:
            put(developer, notary_office, "revoke.requested", _revoke_body())
    assert "尚未配置" in caught.value.zh


def test_outbox_refuses_bodies_that_do_not_fit(developer: Organisation, notary_office: Organisation) -> None:
    with pytest.raises(pydantic.ValidationError, match="surprise"):
        put(developer, notary_office, "revoke.requested", {**_revoke_body(), "surprise": 1})
    with pytest.raises(ValidationFailed, match="不能由"):
        put(notary_office, developer, "revoke.requested", _revoke_body())
    with pytest.raises(ValidationFailed, match="附件"):
        put(developer, notary_office, "revoke.requested", _revoke_body(), {"stray.pdf": b"%PDF"})


def _revoke_body() -> dict[str, object]:
    return {
        "application_ref": "6c8b7f0e-3d4e-4a55-9f0a-1b2c3d4e5f60",
        "version": 1,
        "reason": "买受人姓名有误",
        "requested_at": "2026-11-24T05:00:00Z",
        "requested_by": "陈经办",
    }
