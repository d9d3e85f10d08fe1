"""One contract, every storage backend: the private local folder and an S3 bucket (moto's server on 127.0.0.1).

What the app relies on: a file saved under a server-chosen name comes back byte for byte (streamed too), a taken
name is never written over, delete/exists/size behave, no file has an address of its own, no name leaves the
storage's root, identity evidence stays encrypted at rest, the readiness check tells a broken storage, and the
sweepers find orphans by listing a few day folders — never the whole storage. Files kept through
``EncryptedStorage`` are sealed in the backend and come back whole under any key of the ring.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import pickle
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone, translation
from pytest_django import Settings

from ecancel.audit.checkpoints import signing_key
from ecancel.config.storage import LOCAL_BACKEND, S3_BACKEND, default_storage_from_env
from ecancel.core.keyring import key_ring
from ecancel.core.sealing import HEADER_BYTES
from ecancel.core.storage import (
    FILE_SEAL,
    NoFileUrl,
    Rewritten,
    StoredFileUnreadable,
    dated_name,
    encrypted_storage,
    folder_names,
    storage_check_ready,
    storage_rewrite,
)
from ecancel.documents.services import document_files_sweep
from ecancel.exchange.keys import secrets_box
from ecancel.identity.evidence import (
    EvidenceUnreadable,
    evidence_get,
    evidence_key_id,
    evidence_put,
    evidence_rekey,
)
from ecancel.notary.models import MATERIALS_FOLDER
from ecancel.notary.services.files import material_files_sweep
from ecancel.operations.checks import production_faults
from tests.s3_server import S3Server

SECRET = b"\xff\xd8\xff a face picture of 440101199003070011"
PREFIX = "deployment-a"


@dataclass
class Backend:
    kind: str
    fetch_without_asking: Callable[[str], int]  # status of a plain GET of a stored file's natural address
    broken: dict[str, Any]  # a STORAGES["default"] that cannot work


def use(settings: Settings, default: dict[str, Any]) -> None:
    settings.STORAGES = {**settings.STORAGES, "default": default}


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, settings: Settings, tmp_path: Path) -> Iterator[Backend]:
    settings.ECANCEL_KEYS_DIR = tmp_path / "keys"
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(os.urandom(32)).decode()
    if request.param == "local":
        use(settings, default_storage_from_env({}, tmp_path / "files"))
        not_a_folder = tmp_path / "a-file"
        not_a_folder.write_bytes(b"not a folder")

        def local_fetch(name: str) -> int:
            client = Client()
            return max(client.get(f"/{name}").status_code, client.get(f"/files/{name}").status_code)

        yield Backend("local", local_fetch, default_storage_from_env({}, not_a_folder))
        return
    server: S3Server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    use(settings, server.storage_setting(bucket, ECANCEL_S3_PREFIX=PREFIX))

    def s3_fetch(name: str) -> int:
        return httpx.get(f"{server.endpoint_url}/{bucket}/{PREFIX}/{name}").status_code

    yield Backend("s3", s3_fetch, server.storage_setting(f"{bucket}-missing"))


def test_a_saved_file_comes_back_whole_and_streamed(backend: Backend) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    name = default_storage.save("contract/2026/a.bin", ContentFile(content))
    assert name == "contract/2026/a.bin"
    assert default_storage.exists(name) and default_storage.size(name) == len(content)
    with default_storage.open(name, "rb") as handle:
        assert handle.read() == content
    with default_storage.open(name, "rb") as handle:
        chunks = list(handle.chunks(chunk_size=1024 * 1024))
    assert len(chunks) > 1 and b"".join(chunks) == content


def test_a_taken_name_is_never_written_over(backend: Backend) -> None:
    first = default_storage.save("documents/x.pdf", ContentFile(b"first"))
    second = default_storage.save("documents/x.pdf", ContentFile(b"second"))
    assert first != second and second.startswith("documents/x")
    with default_storage.open(first, "rb") as handle:
        assert handle.read() == b"first"


def test_delete_removes_and_deleting_again_is_harmless(backend: Backend) -> None:
    name = default_storage.save("notary/received/gone.pdf", ContentFile(b"%PDF-"))
    default_storage.delete(name)
    assert not default_storage.exists(name)
    default_storage.delete(name)
    with pytest.raises(FileNotFoundError):
        default_storage.open(name, "rb")
    with pytest.raises(FileNotFoundError):
        default_storage.size(name)


def test_no_stored_file_has_an_address(backend: Backend) -> None:
    name = default_storage.save("certificates/private.pdf", ContentFile(b"%PDF- private"))
    with pytest.raises(NoFileUrl):
        default_storage.url(name)
    assert backend.fetch_without_asking(name) in {403, 404}
    assert backend.fetch_without_asking("certificates/no-such-file.pdf") in {403, 404}


@pytest.mark.parametrize("name", ["../outside.txt", "a/../../outside.txt", "documents/../../../etc/passwd"])
def test_a_name_cannot_leave_the_storage(backend: Backend, name: str) -> None:
    with pytest.raises(SuspiciousOperation):
        default_storage.save(name, ContentFile(b"x"))
    for operation in (default_storage.open, default_storage.exists, default_storage.delete, default_storage.size):
        with pytest.raises(SuspiciousOperation):
            operation(name)


def test_an_absolute_name_is_refused_on_save(backend: Backend) -> None:
    with pytest.raises(SuspiciousOperation):
        default_storage.save("/etc/cron.d/evil", ContentFile(b"x"))


def test_what_the_sweepers_rely_on(backend: Backend) -> None:
    before = timezone.now().replace(microsecond=0) - dt.timedelta(seconds=1)
    for name in ("sweep/2026/12/05/a.pdf", "sweep/2026/12/05/b.pdf", "sweep/2026/12/06/c.pdf", "sweep/2026/12/055.pdf"):
        default_storage.save(name, ContentFile(b"%PDF-"))
    after = timezone.now() + dt.timedelta(seconds=1)

    assert sorted(folder_names("sweep/2026/12/05")) == ["sweep/2026/12/05/a.pdf", "sweep/2026/12/05/b.pdf"]
    assert folder_names("sweep/2026/11/30") == []
    assert sorted(folder_names("sweep/2026/12")) == [
        "sweep/2026/12/05/a.pdf",
        "sweep/2026/12/05/b.pdf",
        "sweep/2026/12/055.pdf",
        "sweep/2026/12/06/c.pdf",
    ]
    modified = default_storage.get_modified_time("sweep/2026/12/05/a.pdf")
    assert timezone.is_aware(modified) and before <= modified <= after


@pytest.mark.django_db
def test_evidence_is_encrypted_at_rest_and_read_back(backend: Backend) -> None:
    stored = evidence_put(SECRET, purpose="face_photo")
    with default_storage.open(stored.name, "rb") as handle:
        at_rest = handle.read()
    assert SECRET not in at_rest and b"440101199003070011" not in at_rest
    assert evidence_get(stored.name, actor=None, organisation=None, ctx=None) == SECRET

    default_storage.delete(stored.name)
    assert default_storage.save(stored.name, ContentFile(at_rest[:-1] + bytes([at_rest[-1] ^ 1]))) == stored.name
    with pytest.raises(EvidenceUnreadable) as refused:
        evidence_get(stored.name, actor=None, organisation=None, ctx=None)
    assert refused.value.code == "evidence_tampered"


@pytest.mark.django_db
def test_evidence_re_encrypted_under_a_new_key_replaces_the_file_in_place(backend: Backend, settings: Settings) -> None:
    """``rotate_keys`` rewrites evidence where it is: its name is bound into its encryption and kept by its rows."""
    old_key = settings.ECANCEL_EVIDENCE_KEY
    stored = evidence_put(SECRET, purpose="face_photo")
    settings.ECANCEL_EVIDENCE_KEY = ""
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [base64.b64encode(os.urandom(32)).decode(), old_key]})
    assert evidence_rekey(stored.name) is True
    assert evidence_key_id(stored.name) == key_ring().current.key_id
    assert evidence_get(stored.name, actor=None, organisation=None, ctx=None) == SECRET
    assert evidence_rekey(stored.name) is False, "already under the current key"
    assert default_storage.listdir(stored.name.rsplit("/", 1)[0])[1] == [stored.name.rsplit("/", 1)[1]]


def opened(name: str) -> bytes:
    with encrypted_storage.open(name, "rb") as handle:
        content: bytes = handle.read()
    return content


def test_an_encrypted_file_is_sealed_at_rest_and_opens_under_any_key_of_the_ring(
    backend: Backend, settings: Settings
) -> None:
    name = encrypted_storage.save("certificates/7/certificate.pdf", ContentFile(SECRET))
    assert name == "certificates/7/certificate.pdf"
    stored = encrypted_storage.stored_bytes(name)
    assert stored.startswith(b"EF1") and SECRET not in stored and b"440101199003070011" not in stored
    assert default_storage.size(name) == len(SECRET) + FILE_SEAL.overhead
    assert encrypted_storage.size(name) == len(SECRET) and opened(name) == SECRET
    with encrypted_storage.open(name, "rb") as handle:
        assert b"".join(handle.chunks(chunk_size=8)) == SECRET
    old_key, old_id = settings.ECANCEL_EVIDENCE_KEY, key_ring().current.key_id
    new_key = base64.b64encode(os.urandom(32)).decode()

    settings.ECANCEL_EVIDENCE_KEY = ""
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key, old_key]})
    new_id = key_ring().current.key_id
    assert encrypted_storage.key_id(name) == old_id and opened(name) == SECRET
    written_now = encrypted_storage.save("certificates/8/certificate.pdf", ContentFile(SECRET))
    assert encrypted_storage.key_id(written_now) == new_id
    assert encrypted_storage.rekey(name) is True and encrypted_storage.rekey(name) is False
    assert encrypted_storage.key_id(name) == new_id and opened(name) == SECRET
    assert default_storage.listdir("certificates/7")[1] == ["certificate.pdf"], "replaced in place"

    settings.ECANCEL_KEY_RING = json.dumps({"keys": [new_key]})
    assert opened(name) == SECRET and opened(written_now) == SECRET
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [old_key]})
    with pytest.raises(StoredFileUnreadable) as refused:
        opened(name)
    assert refused.value.code == "file_other_key" and refused.value.http_status == 409


def replaced_by(content: bytes) -> Callable[[bytes], bytes]:
    return lambda _stored: content


def test_an_encrypted_file_altered_cut_or_moved_is_refused(backend: Backend) -> None:
    name = encrypted_storage.save("notary/received/2026/12/05/m.pdf", ContentFile(SECRET))
    stored = encrypted_storage.stored_bytes(name)
    moved = default_storage.save("notary/received/2026/12/05/other.pdf", ContentFile(stored))
    flipped = stored[:-1] + bytes([stored[-1] ^ 1])
    for altered in (flipped, stored[:30], b"EF1" + stored[3:13] + stored[14:]):
        assert storage_rewrite(name, replaced_by(altered)) is Rewritten.DONE
        with pytest.raises(StoredFileUnreadable) as refused:
            opened(name)
        assert refused.value.code == "file_tampered"
    with pytest.raises(StoredFileUnreadable) as refused:
        opened(moved)
    assert "已被改动" in refused.value.zh
    with translation.override("en"):
        assert "altered" in refused.value.message


def test_a_file_written_before_encryption_reads_as_itself_until_sealed(backend: Backend) -> None:
    legacy = b"%PDF-1.7 written before files were encrypted, 440101199003070011"
    name = default_storage.save("documents/2026/01/02/legacy.pdf", ContentFile(legacy))
    assert encrypted_storage.key_id(name) is None
    assert opened(name) == legacy and encrypted_storage.size(name) == len(legacy)
    assert encrypted_storage.rekey(name) is True
    assert encrypted_storage.key_id(name) == key_ring().current.key_id
    assert b"%PDF" not in encrypted_storage.stored_bytes(name) and opened(name) == legacy
    assert encrypted_storage.rekey(name) is False


def test_once_every_file_is_sealed_an_unsealed_one_is_refused_as_altered(backend: Backend, settings: Settings) -> None:
    sealed = encrypted_storage.save("documents/2026/01/02/kept.pdf", ContentFile(b"%PDF-1.7 the real one"))
    settings.ECANCEL_REFUSE_PLAINTEXT_FILES = True
    assert opened(sealed) == b"%PDF-1.7 the real one"
    swapped = b"%PDF-1.7 put in its place by someone with access to the storage"
    default_storage.delete(sealed)
    default_storage.save(sealed, ContentFile(swapped))
    with pytest.raises(StoredFileUnreadable) as refused:
        opened(sealed)
    assert refused.value.code == "file_tampered" and refused.value.http_status == 409
    assert encrypted_storage.rekey(sealed) is True, "rotate_keys can still seal a file an upgrade left behind"
    assert opened(sealed) == swapped


def test_rewriting_a_file_that_is_not_there_writes_nothing(backend: Backend) -> None:
    assert storage_rewrite("identity/2026/none.bin", lambda _stored: b"x") is Rewritten.GONE
    assert not default_storage.exists("identity/2026/none.bin")


def test_a_file_deleted_while_it_is_re_encrypted_stays_deleted(backend: Backend, settings: Settings) -> None:
    """A retention purge deleting a file while ``rotate_keys`` re-encrypts it: the file must not come back."""
    name = encrypted_storage.save("documents/2026/12/06/purged.pdf", ContentFile(SECRET))
    old_key = settings.ECANCEL_EVIDENCE_KEY
    settings.ECANCEL_EVIDENCE_KEY = ""
    settings.ECANCEL_KEY_RING = json.dumps({"keys": [base64.b64encode(os.urandom(32)).decode(), old_key]})
    deleting = threading.Event()

    def purge() -> None:
        deleting.set()
        default_storage.delete(name)

    purger = threading.Thread(target=purge)

    class SealingWhileThePurgeRuns:
        def __getattr__(self, attribute: str) -> Any:
            return getattr(FILE_SEAL, attribute)

        def seal(self, *args: Any, **kwargs: Any) -> bytes:
            purger.start()  # after the file was read, before the new one is written
            if backend.kind == "s3":
                purger.join()  # nothing holds an object: the deletion lands before the write
            else:
                deleting.wait()  # the deletion waits for the file's lock, held by the rewrite
            return FILE_SEAL.seal(*args, **kwargs)

    with mock.patch("ecancel.core.storage.FILE_SEAL", SealingWhileThePurgeRuns()):
        rekeyed = encrypted_storage.rekey(name)
    purger.join()
    assert not default_storage.exists(name), "the purged file was written back"
    assert rekeyed is False or backend.kind == "local", "on S3 the conditional write is refused"


def test_the_readiness_check_tells_a_working_storage_from_a_broken_one(backend: Backend, settings: Settings) -> None:
    storage_check_ready()
    assert folder_names("readiness") == []
    use(settings, backend.broken)
    with pytest.raises(Exception):  # noqa: B017 - whatever the backend raises makes the instance not ready
        storage_check_ready()


@pytest.mark.django_db
def test_readyz_names_a_broken_storage(backend: Backend, settings: Settings) -> None:
    assert Client().get("/readyz").json()["checks"]["storage"] == "ok"
    use(settings, backend.broken)
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["storage"]


@pytest.mark.django_db
def test_the_sweeps_list_only_recent_day_folders(backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    now = timezone.now()
    orphan = default_storage.save(dated_name("documents", ".pdf", at=now), ContentFile(b"%PDF- orphan"))
    material = default_storage.save(dated_name(MATERIALS_FOLDER, ".pdf", at=now), ContentFile(b"%PDF- material"))
    old = default_storage.save(dated_name("documents", ".pdf", at=now - dt.timedelta(days=40)), ContentFile(b"old"))
    evidence = evidence_put(SECRET, purpose="face_photo")
    listed: list[str] = []
    real_listdir = default_storage.listdir

    def listdir(folder: str) -> tuple[list[str], list[str]]:
        listed.append(folder)
        return real_listdir(folder)

    monkeypatch.setattr(default_storage._wrapped, "listdir", listdir)  # type: ignore[attr-defined]

    assert document_files_sweep(now=now) == [], "younger than an hour: may belong to a transaction still running"
    later = now + dt.timedelta(hours=2)
    assert document_files_sweep(now=later) == [orphan]
    assert material_files_sweep(now=later, ctx=_ctx()) == [material]

    assert listed and all(re.fullmatch(r"(documents|notary/received)/\d{4}/\d{2}/\d{2}", f) for f in listed), listed
    assert len(listed) <= 3 * 9
    assert default_storage.exists(old) and default_storage.exists(evidence.name)
    assert document_files_sweep(now=later, lookback=dt.timedelta(days=60)) == [old]


def _ctx() -> Any:
    from ecancel.core.context import RequestContext

    return RequestContext.system("test")


# --- S3 only: the requests, the objects' settings, the configuration ----------------------------------------


@pytest.fixture
def bucket(s3_server: S3Server, settings: Settings) -> str:
    name = s3_server.new_bucket()
    use(settings, s3_server.storage_setting(name, ECANCEL_S3_SERVER_SIDE_ENCRYPTION="AES256"))
    return name


@pytest.mark.django_db
def test_on_s3_a_sweep_asks_for_day_prefixes_only(s3_server: S3Server, bucket: str) -> None:
    prefixes: list[str] = []
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    client.meta.events.register(
        "before-parameter-build.s3.ListObjects", lambda params, **_: prefixes.append(params.get("Prefix", ""))
    )
    default_storage.save("identity/face_photo/elsewhere.bin", ContentFile(b"never listed by a sweep"))
    document_files_sweep(now=timezone.now() + dt.timedelta(hours=2))
    material_files_sweep(now=timezone.now() + dt.timedelta(hours=2), ctx=_ctx())
    assert prefixes and all(re.fullmatch(r"(documents|notary/received)/\d{4}/\d{2}/\d{2}/", p) for p in prefixes)


def test_on_s3_a_files_key_and_size_are_read_from_its_header_alone(bucket: str, settings: Settings) -> None:
    """``rotate_keys --dry-run`` asks every file for its key: a bucket's worth of downloads otherwise."""
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(os.urandom(32)).decode()
    big = os.urandom(2 * 1024 * 1024)
    document = encrypted_storage.save("documents/2026/12/06/big.pdf", ContentFile(big))
    evidence = evidence_put(big, purpose="video").name
    empty = default_storage.save("documents/2026/12/06/empty.pdf", ContentFile(b""))
    ranges: list[str] = []
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    client.meta.events.register(
        "before-parameter-build.s3.GetObject", lambda params, **_: ranges.append(params["Range"])
    )
    backend_class = type(default_storage._wrapped)  # type: ignore[attr-defined]
    with mock.patch.object(backend_class, "_open", side_effect=AssertionError("a whole download")):
        assert encrypted_storage.key_id(document) == evidence_key_id(evidence) == key_ring().current.key_id
        assert encrypted_storage.size(document) == len(big)
        assert encrypted_storage.key_id(empty) is None and encrypted_storage.size(empty) == 0
    assert ranges == [f"bytes=0-{HEADER_BYTES - 1}"] * 5


def test_on_s3_the_storage_pickles_after_a_probe(bucket: str) -> None:
    storage_check_ready()
    copy = pickle.loads(pickle.dumps(default_storage._wrapped))  # type: ignore[attr-defined]  # noqa: S301 - our own bytes
    copy.check_ready()
    assert copy.exists(default_storage.save("documents/p.pdf", ContentFile(b"%PDF- p")))


def test_on_s3_objects_are_private_and_encrypted_by_the_server(s3_server: S3Server, bucket: str) -> None:
    name = default_storage.save("documents/2026/12/05/d.pdf", ContentFile(b"%PDF- d"))
    client = s3_server.client()
    head = client.head_object(Bucket=bucket, Key=name)
    assert head["ServerSideEncryption"] == "AES256"
    grants = client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert grants[0]["Grantee"]["Type"] == "CanonicalUser"
    assert httpx.get(f"{s3_server.endpoint_url}/{bucket}/{name}").status_code == 403


def test_settings_choose_the_backend_from_the_environment(s3_server: S3Server, tmp_path: Path) -> None:
    local = default_storage_from_env({}, tmp_path)
    assert local == {"BACKEND": LOCAL_BACKEND, "OPTIONS": {"location": tmp_path}}
    chosen = default_storage_from_env(s3_server.environ("city-files", ECANCEL_S3_PREFIX="/notary/"), tmp_path)
    assert chosen["BACKEND"] == S3_BACKEND
    options = chosen["OPTIONS"]
    assert options["bucket_name"] == "city-files" and options["location"] == "notary"
    assert (options["addressing_style"], options["default_acl"], options["verify"]) == ("path", "private", None)
    assert options["object_parameters"] == {}
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    tuned = default_storage_from_env(
        s3_server.environ(
            "city-files",
            ECANCEL_S3_ACL="none",
            ECANCEL_S3_ADDRESSING_STYLE="virtual",
            ECANCEL_S3_CA_BUNDLE=str(bundle),
            ECANCEL_S3_SERVER_SIDE_ENCRYPTION="aws:kms",
            ECANCEL_S3_KMS_KEY_ID="key-1",
        ),
        tmp_path,
    )["OPTIONS"]
    assert (tuned["default_acl"], tuned["addressing_style"], tuned["verify"]) == (None, "virtual", str(bundle))
    assert tuned["object_parameters"] == {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key-1"}


@pytest.mark.parametrize(
    ("wrong", "named"),
    [
        ({"ECANCEL_S3_SECRET_ACCESS_KEY": ""}, "ECANCEL_S3_ACCESS_KEY_ID and ECANCEL_S3_SECRET_ACCESS_KEY"),
        ({"ECANCEL_S3_ADDRESSING_STYLE": "dns"}, "ECANCEL_S3_ADDRESSING_STYLE"),
        ({"ECANCEL_S3_ACL": "public-read"}, "ECANCEL_S3_ACL"),
        ({"ECANCEL_S3_SERVER_SIDE_ENCRYPTION": "rot13"}, "ECANCEL_S3_SERVER_SIDE_ENCRYPTION"),
        ({"ECANCEL_S3_KMS_KEY_ID": "key-1"}, "ECANCEL_S3_KMS_KEY_ID"),
        ({"ECANCEL_S3_CA_BUNDLE": "/nonexistent/ca.pem"}, "ECANCEL_S3_CA_BUNDLE"),
    ],
)
def test_a_wrong_storage_setting_stops_start_up_naming_it(
    s3_server: S3Server, tmp_path: Path, wrong: dict[str, str], named: str
) -> None:
    with pytest.raises(ImproperlyConfigured, match=named):
        default_storage_from_env(s3_server.environ("city-files", **wrong), tmp_path)


@pytest.mark.django_db
def test_s3_passes_the_several_servers_check_and_plain_http_is_warned(
    s3_server: S3Server, settings: Settings, tmp_path: Path
) -> None:
    settings.PRODUCTION = True
    settings.ECANCEL_ALLOW_LOCAL_PKI = True
    settings.ECANCEL_EVIDENCE_KEY = base64.b64encode(os.urandom(32)).decode()
    settings.ECANCEL_PUBLIC_URL = "https://ecancel.example.gov.cn"
    settings.SECURE_HSTS_SECONDS = 3600
    settings.ECANCEL_REFUSE_PLAINTEXT_FILES = True
    settings.ECANCEL_KEYS_DIR = tmp_path
    settings.ECANCEL_APP_SERVERS = 2
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    secrets_box()
    signing_key()
    use(settings, default_storage_from_env({}, tmp_path / "files"))
    assert [fault.id for fault in production_faults()] == ["ecancel.E020"]

    use(settings, s3_server.storage_setting("city-files"))
    (warning,) = production_faults()
    assert warning.id == "ecancel.W022" and s3_server.endpoint_url in warning.msg
    without_endpoint = {**s3_server.environ("city-files"), "ECANCEL_S3_ENDPOINT_URL": ""}
    use(settings, default_storage_from_env(without_endpoint, tmp_path))
    assert production_faults() == []
