"""A throw-away S3 (moto's server) on 127.0.0.1 for the tests of the S3 storage, and settings that point at it."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from ecancel.config.storage import default_storage_from_env

ACCESS_KEY = "ecancel-test-access"
SECRET_KEY = "ecancel-test-secret"  # moto's server accepts any key
REGION = "cn-south-1"


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
        )

    def new_bucket(self) -> str:
        """A fresh private bucket, so no test sees another's files."""
        name = f"ecancel-{uuid.uuid4().hex[:20]}"
        self.client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        return name

    def environ(self, bucket: str, **extra: str) -> dict[str, str]:
        """The ``ECANCEL_S3_*`` variables a deployment on this server would set."""
        return {
            "ECANCEL_S3_ENDPOINT_URL": self.endpoint_url,
            "ECANCEL_S3_BUCKET": bucket,
            "ECANCEL_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "ECANCEL_S3_SECRET_ACCESS_KEY": SECRET_KEY,
            "ECANCEL_S3_REGION": REGION,
            **extra,
        }

    def storage_setting(self, bucket: str, **extra: str) -> dict[str, Any]:
        """``STORAGES["default"]`` as the settings would build it from ``environ``."""
        return default_storage_from_env(self.environ(bucket, **extra), Path("/nonexistent-media-root"))

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [entry["Key"] for page in pages for entry in page.get("Contents", ())]


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 in a thread of this process, on 127.0.0.1 and a free port; stopped afterwards."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(endpoint_url=f"http://{host}:{port}")
    finally:
        server.stop()
