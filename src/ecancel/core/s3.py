"""Files in an S3-compatible bucket (a MinIO in the city's data centre, Ceph, AWS S3), private like the local folder.

A module of its own so that a deployment on the local folder never imports boto3.
"""

from __future__ import annotations

from typing import Any

from botocore.config import Config
from django.core.files.base import ContentFile
from storages.backends.s3 import S3Storage

from ecancel.core.storage import NoFileUrl

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

    def replace(self, name: str, content: bytes) -> None:
        """Write over an existing object: one PUT of the same key, which S3 applies whole or not at all."""
        self._save(name, ContentFile(content))

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
