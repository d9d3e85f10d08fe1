"""Files in an S3-compatible bucket (a MinIO in the city's data centre, Ceph, AWS S3), private like the local folder.

A module of its own so that a deployment on the local folder never imports boto3.
"""

from __future__ import annotations

from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage, _filter_download_params
from storages.utils import clean_name

from ecancel.core.storage import NoFileUrl, Rewritten

# What a conditional PUT answers when its object was deleted (404) or replaced (412; 409 for a concurrent write).
SUPERSEDED = (HTTPStatus.NOT_FOUND, HTTPStatus.PRECONDITION_FAILED, HTTPStatus.CONFLICT)
# The readiness probe asks once and briefly: a slow bucket makes the instance not ready, not a hung probe.
PROBE_CONFIG = Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1, "mode": "standard"})


class PrivateS3Storage(S3Storage):
    """Objects written with a private ACL (unless the bucket has ACLs disabled) and never given an address.

    ``file_overwrite`` is off so a name already taken is never written over: documents and evidence are
    immutable, and evidence binds its name into its encryption.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"file_overwrite": False, "querystring_auth": True, **options})
        self._probe_client: Any = None

    def __getstate__(self) -> dict[str, Any]:
        state: dict[str, Any] = super().__getstate__()
        state["_probe_client"] = None  # a client does not pickle; made again on the next probe
        return state

    def url(self, name: str | None, parameters: Any = None, expire: Any = None, http_method: Any = None) -> str:
        raise NoFileUrl

    def head(self, name: str, size: int) -> bytes:
        """The object's first ``size`` bytes, in one ranged GET (``open`` would fetch the whole object)."""
        key = self.bucket.Object(self._normalize_name(clean_name(name)))
        try:
            read = key.get(Range=f"bytes=0-{size - 1}", **_filter_download_params(self.get_object_parameters(name)))
        except ClientError as error:
            if _status(error) == HTTPStatus.NOT_FOUND:
                raise FileNotFoundError(name) from error
            if _status(error) == HTTPStatus.REQUESTED_RANGE_NOT_SATISFIABLE:
                return b""  # an empty object has no first byte to range from
            raise
        head: bytes = read["Body"].read()
        return head

    def rewrite(self, name: str, rewrite: Callable[[bytes], bytes | None]) -> Rewritten:
        """One GET, then one PUT only if the object is still the one read (``If-Match`` its ETag), which S3 applies
        whole or not at all: an object deleted or replaced meanwhile is not written back."""
        key = self.bucket.Object(self._normalize_name(clean_name(name)))
        try:
            read = key.get(**_filter_download_params(self.get_object_parameters(name)))
        except ClientError as error:
            if _status(error) == HTTPStatus.NOT_FOUND:
                return Rewritten.GONE
            raise
        content = rewrite(read["Body"].read())
        if content is None:
            return Rewritten.UNCHANGED
        try:
            key.put(Body=content, IfMatch=read["ETag"], **self._get_write_parameters(name, ContentFile(content)))
        except ClientError as error:
            if _status(error) in SUPERSEDED:
                return Rewritten.GONE
            raise
        return Rewritten.DONE

    def check_ready(self) -> None:
        """One HEAD of the bucket: the address answers, the credentials hold and the bucket exists."""
        if self._probe_client is None:
            self._probe_client = self._create_session().client(
                "s3",
                region_name=self.region_name,
                use_ssl=self.use_ssl,
                endpoint_url=self.endpoint_url,
                config=self.client_config.merge(PROBE_CONFIG),
                verify=self.verify,
            )
        self._probe_client.head_bucket(Bucket=self.bucket_name)


def _status(error: ClientError) -> int:
    status: int = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status
