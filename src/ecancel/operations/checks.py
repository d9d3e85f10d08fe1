"""``ecancel check --deploy`` in production: each fault that would make the deployment unsafe or unreliable.

Settings already refuse to load with a default secret key, demo mode, DEBUG or open allowed hosts (their one
error names every such fault). These checks need more than the settings module can know: which keys exist on disk,
which organisations are hosted, how many app servers share the deployment. Outside production they stay silent.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, storages
from django.db import DatabaseError

LOCAL_CA_BACKEND = "ecancel.documents.pki.LocalCABackend"
LOCAL_TSA_BACKEND = "ecancel.documents.timestamps.LocalTimestampBackend"
MEMORY_EXCHANGE_KEYS = "ecancel.exchange.keys.MemoryExchangeKeys"


@register(Tags.security, deploy=True)
def production_faults(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[CheckMessage]:
    if not settings.PRODUCTION:
        return []
    return [*_pki(), *_keys(), *_storage(), *_object_storage(), *_https()]


def _pki() -> list[CheckMessage]:
    if settings.ECANCEL_ALLOW_LOCAL_PKI:
        return []
    faults: list[CheckMessage] = []
    if settings.ECANCEL_SIGNING_BACKEND == LOCAL_CA_BACKEND:
        faults.append(
            Error(
                "生产环境使用了本地证书机构签章 / documents are signed by the local CA in production",
                hint="将 ECANCEL_SIGNING_BACKEND 设为 PKCS#12 或 PKCS#11 签章后端（见 docs/operations.md）；"
                "确需本地证书机构时设 ECANCEL_ALLOW_LOCAL_PKI=1 / "
                "Set ECANCEL_SIGNING_BACKEND to the PKCS#12 or PKCS#11 backend (see docs/operations.md), or "
                "ECANCEL_ALLOW_LOCAL_PKI=1 if a local CA is intended.",
                id="ecancel.E001",
            )
        )
    if settings.ECANCEL_TSA_BACKEND == LOCAL_TSA_BACKEND:
        faults.append(
            Error(
                "生产环境使用了本地时间戳服务 / timestamps come from the local timestamp service in production",
                hint="将 ECANCEL_TSA_URL 设为可信的 RFC 3161 时间戳服务，或设 ECANCEL_ALLOW_LOCAL_PKI=1 / Set "
                "ECANCEL_TSA_URL to a trusted RFC 3161 timestamp authority (ECANCEL_TSA_BACKEND then defaults to "
                "ecancel.documents.timestamps.HttpTimestampBackend), or ECANCEL_ALLOW_LOCAL_PKI=1.",
                id="ecancel.E002",
            )
        )
    return faults


def _keys() -> list[CheckMessage]:
    from ecancel.audit.checkpoints import signing_key_path
    from ecancel.core.keyring import key_ring, ring_configured
    from ecancel.exchange.keys import exchange_keys, secrets_box_path

    faults: list[CheckMessage] = []
    if not ring_configured():
        faults.append(
            Error(
                "数据加密密钥环将在首次使用时生成在本机磁盘上 / the data encryption key ring would be made on first "
                "use on local disk",
                hint="从本部署的密钥管理系统设置 ECANCEL_KEY_RING（JSON，见 docs/operations.md） / "
                "Set ECANCEL_KEY_RING (JSON, see docs/operations.md) from the deployment's secret store.",
                id="ecancel.E010",
            )
        )
    else:
        try:
            key_ring()
        except ImproperlyConfigured as exc:
            faults.append(
                Error(
                    f"数据加密密钥环配置有误 / the data encryption key ring is malformed: {exc}",
                    hint="更正 ECANCEL_KEY_RING（见 deploy/ecancel.env.example） / Fix ECANCEL_KEY_RING (see "
                    "deploy/ecancel.env.example).",
                    id="ecancel.E013",
                )
            )
    if not settings.ECANCEL_REFUSE_PLAINTEXT_FILES:
        faults.append(
            Warning(
                "仍接受未加密的存储文件 / stored files without encryption are still accepted",
                hint="运行 ecancel rotate_keys；待 rotate_keys --dry-run 不再统计到 plaintext 文件后，设置 "
                "ECANCEL_REFUSE_PLAINTEXT_FILES=1 / Run ecancel rotate_keys; once rotate_keys --dry-run counts no "
                "plaintext file, set ECANCEL_REFUSE_PLAINTEXT_FILES=1, so a file swapped for an unencrypted one is "
                "refused.",
                id="ecancel.W014",
            )
        )
    if settings.ECANCEL_EXCHANGE_KEYS_BACKEND == MEMORY_EXCHANGE_KEYS:
        faults.append(
            Error(
                "交换签名密钥只保存在进程内存中 / exchange signing keys are kept in process memory only",
                hint="删除 ECANCEL_EXCHANGE_KEYS_BACKEND 设置（密钥文件保存在 ECANCEL_KEYS_DIR/exchange 下） / Unset "
                "ECANCEL_EXCHANGE_KEYS_BACKEND (key files under ECANCEL_KEYS_DIR/exchange).",
                id="ecancel.E012",
            )
        )
    missing = [_relative(path) for path in (secrets_box_path(), signing_key_path()) if not path.exists()]
    backend = exchange_keys()
    try:
        missing += [
            _relative(Path(backend.location(pk))) for pk in _hosted_organisation_ids() if not backend.exists(pk)
        ]
    except DatabaseError as failure:
        faults.append(
            Warning(
                "无法读取本部署承载的机构，未检查其交换密钥 / could not read the hosted organisations, so their "
                f"exchange keys were not checked ({failure.__class__.__name__})",
                hint="在能连接数据库的机器上重新运行检查 / Run the check again where the database is reachable.",
                id="ecancel.W011",
            )
        )
    if missing:
        faults.append(
            Error(
                "交换或审计密钥将在首次使用时生成在本机磁盘上 / exchange or audit keys would be made on first use "
                f"on local disk: {', '.join(missing)}",
                hint="将 ECANCEL_KEYS_DIR 放在每台应用服务器都挂载的卷上，运行一次 `ecancel keys_init` / Run "
                "`ecancel keys_init` once with ECANCEL_KEYS_DIR on the volume every app server mounts.",
                id="ecancel.E011",
            )
        )
    return faults


def _hosted_organisation_ids() -> list[Any]:
    from ecancel.accounts.models import Organisation
    from ecancel.exchange.routing import hosted_kinds

    return list(Organisation.objects.filter(kind__in=hosted_kinds()).values_list("pk", flat=True))


def _storage() -> list[CheckMessage]:
    if settings.ECANCEL_APP_SERVERS <= 1:
        return []
    faults: list[CheckMessage] = []
    if _local_files():
        faults.append(
            Error(
                f"{settings.ECANCEL_APP_SERVERS} 台应用服务器却把文件存放在本机磁盘 / files are kept on one "
                f"server's disk while {settings.ECANCEL_APP_SERVERS} app servers are declared",
                hint="设置 ECANCEL_S3_BUCKET 等 ECANCEL_S3_* 配置，把文件存放在兼容 S3 的存储桶中（见 "
                "docs/operations.md“文件存储”），或设 ECANCEL_APP_SERVERS=1 / "
                "Set ECANCEL_S3_BUCKET and the other ECANCEL_S3_* "
                'settings to keep files in an S3-compatible bucket (docs/operations.md, "File storage"), or '
                "ECANCEL_APP_SERVERS=1.",
                id="ecancel.E020",
            )
        )
    if settings.CELERY_BROKER_URL.startswith(("sqlite", "sqla+")):
        faults.append(
            Error(
                "多台应用服务器却使用本机 SQLite 任务队列 / several app servers with the local SQLite job queue",
                hint="将 ECANCEL_BROKER_URL 设为本部署的 Redis / Set ECANCEL_BROKER_URL to the deployment's Redis.",
                id="ecancel.E021",
            )
        )
    return faults


def _object_storage() -> list[CheckMessage]:
    options = settings.STORAGES["default"].get("OPTIONS", {})
    endpoint = str(options.get("endpoint_url") or "")
    if _local_files() or not endpoint.startswith("http://"):
        return []
    return [
        Warning(
            f"对象存储地址不是 HTTPS / the object storage is reached without TLS: {endpoint}",
            hint="ECANCEL_S3_ENDPOINT_URL 请使用 https:// 地址（私有证书机构用 ECANCEL_S3_CA_BUNDLE），否则存取密钥和"
            "文件名以明文传输 / Use an https:// ECANCEL_S3_ENDPOINT_URL (ECANCEL_S3_CA_BUNDLE for a private CA): "
            "requests travel unencrypted otherwise (files holding personal data are encrypted by ecancel either way).",
            id="ecancel.W022",
        )
    ]


def _local_files() -> bool:
    return isinstance(storages["default"], FileSystemStorage)


def _https() -> list[CheckMessage]:
    faults: list[CheckMessage] = []
    if not settings.ECANCEL_PUBLIC_URL.startswith("https://"):
        faults.append(
            Error(
                f"公开地址不是 HTTPS / the public address is not HTTPS: {settings.ECANCEL_PUBLIC_URL}",
                hint="将 ECANCEL_PUBLIC_URL 设为手机和对端系统访问的 https:// 地址 / Set ECANCEL_PUBLIC_URL to the "
                "https:// address phones and the peer reach.",
                id="ecancel.E030",
            )
        )
    if not settings.SECURE_HSTS_SECONDS:
        faults.append(
            Error(
                "未启用 HSTS / HSTS is off",
                hint="不设置 ECANCEL_HSTS_SECONDS 或设为正数 / Leave ECANCEL_HSTS_SECONDS unset or positive.",
                id="ecancel.E031",
            )
        )
    return faults


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(settings.ECANCEL_KEYS_DIR))
    except ValueError:
        return str(path)
