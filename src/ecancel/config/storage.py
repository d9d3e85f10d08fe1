"""Where files live, from the environment: an S3-compatible bucket when ``ECANCEL_S3_BUCKET`` is set, otherwise the
private local folder ``MEDIA_ROOT``. Both backends are private (``ecancel.core.storage``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

LOCAL_BACKEND = "ecancel.core.storage.PrivateFileSystemStorage"
S3_BACKEND = "ecancel.core.s3.PrivateS3Storage"
ADDRESSING_STYLES = ("path", "virtual", "auto")
ENCRYPTIONS = ("AES256", "aws:kms")


def default_storage_from_env(environ: Mapping[str, str], media_root: Path) -> dict[str, Any]:
    """The ``STORAGES["default"]`` entry the environment asks for; a wrong value stops start-up naming it."""
    bucket = environ.get("ECANCEL_S3_BUCKET", "").strip()
    if not bucket:
        return {"BACKEND": LOCAL_BACKEND, "OPTIONS": {"location": media_root}}
    problems = []
    options: dict[str, Any] = {
        "bucket_name": bucket,
        "endpoint_url": environ.get("ECANCEL_S3_ENDPOINT_URL", "").strip() or None,
        "region_name": environ.get("ECANCEL_S3_REGION", "").strip() or "us-east-1",
        "location": environ.get("ECANCEL_S3_PREFIX", "").strip().strip("/"),
        "signature_version": "s3v4",
        # Reads are kept in memory, never in a temporary file: a file from before encryption may be plaintext.
        "max_memory_size": 0,
    }
    access_key = environ.get("ECANCEL_S3_ACCESS_KEY_ID", "").strip()
    secret_key = environ.get("ECANCEL_S3_SECRET_ACCESS_KEY", "").strip()
    if bool(access_key) != bool(secret_key):
        problems.append("ECANCEL_S3_ACCESS_KEY_ID and ECANCEL_S3_SECRET_ACCESS_KEY go together")
    options.update(access_key=access_key or None, secret_key=secret_key or None)
    style = environ.get("ECANCEL_S3_ADDRESSING_STYLE", "").strip().lower() or "path"
    if style not in ADDRESSING_STYLES:
        problems.append(f"ECANCEL_S3_ADDRESSING_STYLE must be one of {', '.join(ADDRESSING_STYLES)}")
    options["addressing_style"] = style
    ca_bundle = environ.get("ECANCEL_S3_CA_BUNDLE", "").strip()
    if ca_bundle and not Path(ca_bundle).is_file():
        problems.append(f"ECANCEL_S3_CA_BUNDLE is not a file: {ca_bundle}")
    options["verify"] = ca_bundle or None
    acl = environ.get("ECANCEL_S3_ACL", "").strip() or "private"
    if acl not in ("private", "none"):
        problems.append("ECANCEL_S3_ACL must be private or none (a bucket with ACLs disabled)")
    options["default_acl"] = None if acl == "none" else acl
    encryption = environ.get("ECANCEL_S3_SERVER_SIDE_ENCRYPTION", "").strip()
    kms_key = environ.get("ECANCEL_S3_KMS_KEY_ID", "").strip()
    parameters: dict[str, str] = {}
    if encryption:
        if encryption not in ENCRYPTIONS:
            problems.append(f"ECANCEL_S3_SERVER_SIDE_ENCRYPTION must be empty or one of {', '.join(ENCRYPTIONS)}")
        parameters["ServerSideEncryption"] = encryption
    if kms_key:
        if encryption != "aws:kms":
            problems.append("ECANCEL_S3_KMS_KEY_ID needs ECANCEL_S3_SERVER_SIDE_ENCRYPTION=aws:kms")
        parameters["SSEKMSKeyId"] = kms_key
    options["object_parameters"] = parameters
    if problems:
        raise ImproperlyConfigured("对象存储配置有误 / object storage settings are wrong: " + "; ".join(problems))
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}
