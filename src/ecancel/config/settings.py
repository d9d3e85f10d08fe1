"""ecancel settings: one module, driven by environment variables.

The embedded default keeps every piece of state under one data directory
(``ECANCEL_DATA_DIR``, ``./var`` unless set). ``ECANCEL_ENV=production`` refuses
to start with anything that is only fit for a demo.
"""

from __future__ import annotations

import ipaddress
import os
from datetime import timedelta
from pathlib import Path
from typing import cast

from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from ecancel.config.secrets import DEFAULT_SECRET_KEY, data_dir_secret_key
from ecancel.config.storage import default_storage_from_env

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


ECANCEL_ENV = os.environ.get("ECANCEL_ENV", "development")
PRODUCTION = ECANCEL_ENV == "production"
DATA_DIR = Path(os.environ.get("ECANCEL_DATA_DIR", "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env_bool("ECANCEL_DEBUG", default=False)
# Demo mode prints demo logins and lets staff skip the second factor behind a banner.
ECANCEL_DEMO = env_bool("ECANCEL_DEMO", default=not PRODUCTION)

SECRET_KEY = os.environ.get("ECANCEL_SECRET_KEY") or (
    DEFAULT_SECRET_KEY if PRODUCTION else data_dir_secret_key(DATA_DIR)
)

if PRODUCTION:
    problems = []
    if SECRET_KEY == DEFAULT_SECRET_KEY or len(SECRET_KEY) < 50:
        problems.append(
            "ECANCEL_SECRET_KEY 须设为至少 50 个字符的随机值 / "
            "ECANCEL_SECRET_KEY must be set to a random value of at least 50 characters"
        )
    if ECANCEL_DEMO:
        problems.append("须关闭 ECANCEL_DEMO / ECANCEL_DEMO must be off")
    if DEBUG:
        problems.append("须关闭 ECANCEL_DEBUG / ECANCEL_DEBUG must be off")
    if problems:
        raise ImproperlyConfigured(
            "生产环境配置不安全，拒绝启动 / refusing to start in production: " + "; ".join(problems)
        )

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ECANCEL_ALLOWED_HOSTS", "*").split(",") if h.strip()]
if PRODUCTION and ALLOWED_HOSTS == ["*"]:
    raise ImproperlyConfigured(
        "生产环境须在 ECANCEL_ALLOWED_HOSTS 中列出主机名 / ECANCEL_ALLOWED_HOSTS must list the host names in production"
    )
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("ECANCEL_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# The public address this deployment is reached at: QR links and the exchange endpoint use it.
ECANCEL_PUBLIC_URL = os.environ.get("ECANCEL_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_htmx",
    "ninja",
    "ecancel.core",
    "ecancel.accounts",
    "ecancel.audit",
    "ecancel.filing",
    "ecancel.cancellation",
    "ecancel.notary",
    "ecancel.buyers",
    "ecancel.identity",
    "ecancel.documents",
    "ecancel.exchange",
    "ecancel.notifications",
    "ecancel.consoles",
    "ecancel.demo",
    "ecancel.selftest",
    "ecancel.operations",
]

MIDDLEWARE = [
    "ecancel.core.logs.RequestIdMiddleware",
    "ecancel.core.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "ecancel.accounts.middleware.StaffSessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ecancel.core.middleware.FriendlyErrorMiddleware",
    "ecancel.api.answers.AnswerCacheMiddleware",
]

ROOT_URLCONF = "ecancel.config.urls"
WSGI_APPLICATION = "ecancel.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ecancel.core.context_processors.deployment",
            ],
        },
    }
]

DATABASE_URL = os.environ.get("ECANCEL_DATABASE_URL", "")


def database_from_url(url: str, *, prepared_statements: bool = True) -> dict[str, object]:
    """Only PostgreSQL is accepted as an external database; SQLite is the embedded default. dj-database-url
    keeps the URL's options (``?sslmode=require``, ``connect_timeout``…) for psycopg.

    With ``prepared_statements`` the parameters travel apart from the query's text (server-side binding), so a
    query a connection has run before is a prepared statement PostgreSQL has already planned: planning the
    application detail's nine-table join took longer than running it. A pooler in transaction mode that cannot
    keep prepared statements (PgBouncer before 1.21) needs ``ECANCEL_DATABASE_PREPARED_STATEMENTS=0``.
    """
    import dj_database_url

    if url.split("://", 1)[0] not in {"postgres", "postgresql"}:
        raise ImproperlyConfigured(
            "ECANCEL_DATABASE_URL 须为 postgresql:// 地址 / ECANCEL_DATABASE_URL must be a postgresql:// URL"
        )
    database = dict(dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True))
    if prepared_statements:
        options = cast(dict[str, object], database.setdefault("OPTIONS", {}))
        options.update(server_side_binding=True, prepare_threshold=2)
    return database


if DATABASE_URL:
    DATABASES = {
        "default": database_from_url(
            DATABASE_URL, prepared_statements=env_bool("ECANCEL_DATABASE_PREPARED_STATEMENTS", default=True)
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "ecancel.sqlite3",
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                    "PRAGMA busy_timeout=20000;"
                ),
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "ecancel.accounts.passwords.MaximumLengthValidator", "OPTIONS": {"max_length": 128}},
]
LOGIN_URL = "consoles:login"
LOGIN_REDIRECT_URL = "consoles:home"

# Failed logins (password or second factor) per user name *and* address before that pair waits out the lock:
# a stranger elsewhere cannot lock the real user out. Any address also waits after many failures, whatever
# user names it tries.
ECANCEL_LOGIN_MAX_FAILURES = 5
ECANCEL_LOGIN_LOCK = timedelta(minutes=30)
ECANCEL_LOGIN_ADDRESS_MAX_FAILURES = 30
ECANCEL_LOGIN_ADDRESS_WINDOW = timedelta(minutes=15)
ECANCEL_STAFF_IDLE = timedelta(minutes=15)
ECANCEL_STAFF_MAX_AGE = timedelta(hours=12)
ECANCEL_BUYER_IDLE = timedelta(minutes=10)

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_AGE = int(ECANCEL_STAFF_MAX_AGE.total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_SECURE = PRODUCTION
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("ECANCEL_HSTS_SECONDS") or 31536000)
    # Off when other sites under the same parent domain are not all on HTTPS yet.
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("ECANCEL_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_SSL_REDIRECT = env_bool("ECANCEL_SSL_REDIRECT", default=True)
    # Preloading is a promise browsers keep for months: only on purpose. Without it, Django's reminder is silenced.
    SECURE_HSTS_PRELOAD = env_bool("ECANCEL_HSTS_PRELOAD", default=False)
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    # Probes and scrapers inside the data centre call the app servers directly, over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
# Every page: scripts only from our own files (no inline script, no eval); styles may sit in attributes.
# Blob and data URLs: the camera preview, the recorded video and the signature pad's picture.
CONTENT_SECURITY_POLICY = {
    # The API's Swagger page starts itself with an inline script of django-ninja's.
    "EXCLUDE_URL_PREFIXES": ["/api/docs"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "frame-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# WhiteNoise warns (an error in tests) when the folder is missing before collectstatic ran.
STATIC_ROOT.mkdir(exist_ok=True)
# Served by WhiteNoise from the package's own files when not collected (tests, development).
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "files"
STORAGES = {
    # Private either way: no stored file has an address; downloads go through permission-checked views. An
    # S3-compatible bucket when ECANCEL_S3_BUCKET is set (ECANCEL_S3_*), otherwise the folder MEDIA_ROOT.
    "default": default_storage_from_env(os.environ, MEDIA_ROOT),
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# A 10 MB power of attorney sent to the API as Base64 is about 13.4 MB of JSON.
DATA_UPLOAD_MAX_MEMORY_SIZE = 16 * 1024 * 1024
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Jobs: SQLite broker for the one-machine default, Redis when ECANCEL_BROKER_URL says so.
CELERY_BROKER_URL = os.environ.get("ECANCEL_BROKER_URL") or f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
if CELERY_BROKER_URL.startswith("sqla+"):
    # The SQLite broker is polled, by default every 1 s: poll every 0.1 s so the relay kicked by a push (and so
    # the QR code) comes well within a second (benchmarks/push_to_qr.py). kombu's SQLAlchemy transport passes
    # transport options to create_engine, so the interval is set on a subclass instead.
    from kombu.transport.sqlalchemy import Transport as _SQLAlchemyTransport

    CELERY_BROKER_URL = CELERY_BROKER_URL.removeprefix("sqla+")
    CELERY_BROKER_TRANSPORT = type("PolledSQLiteTransport", (_SQLAlchemyTransport,), {"polling_interval": 0.1})
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # A job taken by a worker that then died (acks_late: never acknowledged) goes to the next worker after this many
    # seconds. Longer than any job runs, and longer than the furthest countdown a job is queued with.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": int(os.environ.get("ECANCEL_BROKER_VISIBILITY_TIMEOUT") or 900),
    }
# Tests and one-off commands may run tasks inline.
CELERY_TASK_ALWAYS_EAGER = env_bool("ECANCEL_TASKS_EAGER", default=False)
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "core-prune-rate-limits": {"task": "ecancel.core.prune_rate_limits", "schedule": 3600.0},
    "documents-sweep-files": {"task": "ecancel.documents.sweep_files", "schedule": 3600.0},
    "notary-sweep-files": {"task": "ecancel.notary.sweep_files", "schedule": 3600.0},
    "cancellation-sweep-files": {"task": "ecancel.cancellation.sweep_files", "schedule": 3600.0},
    # Accepts cases an intake opened whose queued acceptance (documents, QR, case.accepted) never ran.
    "notary-accept-pending": {"task": "ecancel.notary.accept_pending", "schedule": 60.0},
    "notary-certify-pending": {"task": "ecancel.notary.certify_pending", "schedule": 60.0},
    # Seals submitted buyers' manifests whose queued sealing never ran (and so starts their case's review).
    "buyers-seal-pending": {"task": "ecancel.buyers.seal_pending", "schedule": 60.0},
    # Chains audit rows a crashed process left unchained; normally each commit chains its own rows.
    "audit-chain-extend": {"task": "ecancel.audit.chain_extend", "schedule": 30.0},
    "audit-checkpoint": {"task": "ecancel.exchange.audit_checkpoint", "schedule": 3600.0},
}

# --- exchange ---
# Sides hosted here ("filing", "notary"): their organisations are local and talk in-process.
ECANCEL_HOSTED_SIDES = [
    side.strip() for side in os.environ.get("ECANCEL_HOSTED_SIDES", "filing,notary").split(",") if side.strip()
]
if not ECANCEL_HOSTED_SIDES or not set(ECANCEL_HOSTED_SIDES) <= {"filing", "notary"}:
    raise ImproperlyConfigured(
        "ECANCEL_HOSTED_SIDES 只能列出 filing 和/或 notary / ECANCEL_HOSTED_SIDES must list filing and/or notary"
    )
# Where hosted organisations' exchange signing keys live (exchange/keys.py): files under ECANCEL_KEYS_DIR/exchange,
# or ecancel.exchange.keys.MemoryExchangeKeys (the process only: tests).
ECANCEL_EXCHANGE_KEYS_BACKEND = os.environ.get(
    "ECANCEL_EXCHANGE_KEYS_BACKEND", "ecancel.exchange.keys.FileExchangeKeys"
)
# How long a rotated-out exchange key keeps signing beside the new one, and the peer accepts either.
ECANCEL_EXCHANGE_KEY_OVERLAP = timedelta(days=int(os.environ.get("ECANCEL_EXCHANGE_KEY_OVERLAP_DAYS", "7")))
ECANCEL_EXCHANGE_CLOCK_SKEW = 300  # seconds a signature's timestamp may differ from our clock
ECANCEL_EXCHANGE_RETRY_BASE = 5.0  # seconds before the first retry; doubles per attempt, with jitter
ECANCEL_EXCHANGE_RETRY_CAP = 1800.0
ECANCEL_EXCHANGE_MAX_ATTEMPTS = 25
ECANCEL_EXCHANGE_GIVE_UP_AFTER = timedelta(hours=6)
ECANCEL_EXCHANGE_LEASE = 120.0  # a claimed message is due again after this if its relay died
ECANCEL_EXCHANGE_HTTP_TIMEOUT = 30.0
ECANCEL_EXCHANGE_MAX_BYTES = 40 * 1024 * 1024
ECANCEL_EXCHANGE_RELAY_BATCH = 50
ECANCEL_EXCHANGE_RELAY_BUDGET = 50.0  # seconds one relay task keeps going
# Refusals of /exchange/ posts: each is logged; at most this many per address per minute reach the audit log,
# and an address refused this often per minute is answered 429 before its body is read.
ECANCEL_EXCHANGE_REFUSALS_AUDITED = 5
ECANCEL_EXCHANGE_REFUSALS_MAX = 60
ECANCEL_EXCHANGE_RELAY_EVERY = float(os.environ.get("ECANCEL_EXCHANGE_RELAY_EVERY", "5"))
CELERY_BEAT_SCHEDULE["exchange-relay-outbox"] = {
    "task": "ecancel.exchange.tasks.relay_outbox",
    "schedule": ECANCEL_EXCHANGE_RELAY_EVERY,
    "options": {"expires": ECANCEL_EXCHANGE_RELAY_EVERY},
}

# Any case: operators write "debug" as often as "DEBUG"; a name logging does not know stops start-up here.
LOG_LEVEL = (os.environ.get("ECANCEL_LOG_LEVEL") or "INFO").strip().upper()
if LOG_LEVEL not in {"CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"}:
    raise ImproperlyConfigured(
        "日志级别只能是 DEBUG、INFO、WARNING、ERROR 或 CRITICAL / "
        "ECANCEL_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case)"
    )

# "plain" (the default, for people at a terminal) or "json" (one object per line with the request ID, for a log
# collector). With json every request also logs one line (method, route name, status, time: never the path or query).
LOG_FORMAT = (os.environ.get("ECANCEL_LOG_FORMAT") or "plain").strip().lower()
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("日志格式只能是 plain 或 json / ECANCEL_LOG_FORMAT must be plain or json")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "ecancel.core.logs.RequestIdFilter"},
        "secrets": {"()": "ecancel.core.logs.SecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "ecancel.core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["request_id"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # They log the path of 4xx and 5xx answers, which may hold a hand-off token.
        "django.request": {"filters": ["secrets"]},
        "django.server": {"filters": ["secrets"]},
        # At a terminal gunicorn's access log file already lists requests.
        "ecancel.requests": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
    },
}
# In JSON the worker's own lines go through the handler above too, instead of Celery's plain format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"

# /metrics answers only to "Authorization: Bearer <this>"; unset, /metrics does not exist (404).
ECANCEL_METRICS_TOKEN = os.environ.get("ECANCEL_METRICS_TOKEN", "").strip()
if ECANCEL_METRICS_TOKEN and len(ECANCEL_METRICS_TOKEN) < 32:
    raise ImproperlyConfigured(
        "指标令牌至少 32 个字符，不设置则关闭 /metrics / "
        "ECANCEL_METRICS_TOKEN must be at least 32 characters (or unset to turn /metrics off)"
    )
# Request metrics of all web processes are added up from files here (prometheus-client's multiprocess mode): one
# folder per data directory, whatever a parent process had set. It must be in the environment before prometheus_client
# is first imported, which settings precede; `ecancel up` empties it before the web processes start.
METRICS_DIR = DATA_DIR / "metrics"
METRICS_DIR.mkdir(exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(METRICS_DIR)

NINJA_PAGINATION_PER_PAGE = 20

# Where generated keys, the local CA and the timestamp service's keys live.
# A directory every app server of the deployment shares (a mounted secrets volume) when there are several.
ECANCEL_KEYS_DIR = Path(os.environ.get("ECANCEL_KEYS_DIR") or DATA_DIR / "keys").resolve()
# How many app servers share this deployment: with more than one, nothing may live on one server's disk.
ECANCEL_APP_SERVERS = int(os.environ.get("ECANCEL_APP_SERVERS") or 1)
# Production refuses the local CA and timestamp service unless this says they are meant (a pilot, a closed network).
ECANCEL_ALLOW_LOCAL_PKI = env_bool("ECANCEL_ALLOW_LOCAL_PKI", default=False)
# Signed audit checkpoints (append-only JSON lines); may point at another volume or an append-only mount.
ECANCEL_AUDIT_CHECKPOINT_DIR = Path(os.environ.get("ECANCEL_AUDIT_CHECKPOINT_DIR") or DATA_DIR / "audit-checkpoints")

ADMIN_SITE_HEADER = _("ecancel 系统管理")

# --- documents: signing ---

# How many processes of this host may render, sign or verify PDFs at once (documents/slots.py): by default all
# cores but one, so logins and pages keep a core while pushes sign; 0 turns the cap off.
ECANCEL_SIGNING_SLOTS = int(os.environ.get("ECANCEL_SIGNING_SLOTS") or max(1, len(os.sched_getaffinity(0)) - 1))
ECANCEL_SIGNING_SLOTS_DIR = Path(os.environ.get("ECANCEL_SIGNING_SLOTS_DIR") or DATA_DIR / "signing-slots")
# How much nicer (lower CPU priority, 0–19) than its caller a slot's rendering and signing runs, in a short-lived
# thread of its own (documents/slots.py), so a login's password hash wins the CPU over a PDF; 0 runs it inline.
ECANCEL_SIGNING_NICENESS = int(os.environ.get("ECANCEL_SIGNING_NICENESS") or 10)


def env_json_object(name: str) -> dict[str, object]:
    """A JSON object from the environment; a malformed one stops start-up with the variable's name."""
    import json

    raw = os.environ.get(name, "").strip()
    try:
        value = json.loads(raw) if raw else {}
    except json.JSONDecodeError as exc:
        raise ImproperlyConfigured(f"{name} 须为 JSON 对象 / {name} must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfigured(f"{name} 须为 JSON 对象 / {name} must be a JSON object")
    return value


# Where organisations' signing keys live: the local CA (default), PKCS#12 files, or a PKCS#11 token.
ECANCEL_SIGNING_BACKEND = os.environ.get("ECANCEL_SIGNING_BACKEND", "ecancel.documents.pki.LocalCABackend")
# PKCS#12: {"<organisation id, credit code or notary office code>": "/path/org.p12"
#           or {"path": "/path/org.p12", "passphrase_env": "NAME_OF_VARIABLE_HOLDING_ITS_PASSPHRASE"}}
ECANCEL_SIGNING_KEYS = env_json_object("ECANCEL_SIGNING_KEYS")
ECANCEL_SIGNING_KEYS_PASSPHRASE = os.environ.get("ECANCEL_SIGNING_KEYS_PASSPHRASE", "")
# PKCS#11: the module, the token, its user PIN, and {"<organisation id or code>": "<key and certificate label>"}.
ECANCEL_PKCS11_MODULE = os.environ.get("ECANCEL_PKCS11_MODULE", "")
ECANCEL_PKCS11_TOKEN_LABEL = os.environ.get("ECANCEL_PKCS11_TOKEN_LABEL", "")
ECANCEL_PKCS11_PIN = os.environ.get("ECANCEL_PKCS11_PIN", "")
ECANCEL_PKCS11_KEYS = env_json_object("ECANCEL_PKCS11_KEYS")
# Extra trusted roots (PEM files, separated by ":") for signatures and timestamps from outside the local CA.
ECANCEL_TRUSTED_ROOTS = [p for p in os.environ.get("ECANCEL_TRUSTED_ROOTS", "").split(os.pathsep) if p.strip()]
# The RFC 3161 timestamp authority: the local one (LocalTimestampBackend), or an external one over HTTP at
# ECANCEL_TSA_URL (HttpTimestampBackend, chosen by default when ECANCEL_TSA_URL is set), or a dotted path.
ECANCEL_TSA_URL = os.environ.get("ECANCEL_TSA_URL", "")
ECANCEL_TSA_TIMEOUT = float(os.environ.get("ECANCEL_TSA_TIMEOUT", "10"))
ECANCEL_TSA_BACKEND = os.environ.get("ECANCEL_TSA_BACKEND") or (
    "ecancel.documents.timestamps.HttpTimestampBackend"
    if ECANCEL_TSA_URL
    else "ecancel.documents.timestamps.LocalTimestampBackend"
)
if ECANCEL_TSA_BACKEND == "ecancel.documents.timestamps.HttpTimestampBackend" and not ECANCEL_TSA_URL:
    raise ImproperlyConfigured(
        "使用 HTTP 时间戳服务须设置 ECANCEL_TSA_URL / "
        "ECANCEL_TSA_URL must be set for ecancel.documents.timestamps.HttpTimestampBackend"
    )
# /verify/: largest upload, and wrong verification codes allowed per IP address per window.
ECANCEL_VERIFY_MAX_BYTES = 20 * 1024 * 1024
ECANCEL_VERIFY_MAX_FAILURES = 5
ECANCEL_VERIFY_FAILURE_WINDOW = timedelta(minutes=15)
# /verify/ uploads (checking a large PDF costs real CPU) per address per window.
ECANCEL_VERIFY_MAX_UPLOADS = 30
ECANCEL_VERIFY_UPLOAD_WINDOW = timedelta(minutes=10)
# /h/<token>: look-ups of tokens that do not exist, per address per window. Generous, since many buyers may share
# one carrier-NAT address; only misses count, so a valid QR code always opens.
ECANCEL_HANDOFF_MAX_MISSES = 100
ECANCEL_HANDOFF_MISS_WINDOW = timedelta(minutes=10)
# Buyer sessions (the phone journey): idle limit, the device cookie's life, and guesses allowed on a journey's
# actions per session per window (choosing a buyer, opening documents).
ECANCEL_BUYER_SESSION_IDLE = timedelta(minutes=10)
ECANCEL_BUYER_DEVICE_AGE = timedelta(days=90)
ECANCEL_BUYER_SESSION_COOKIE = "ecancel_buyer"
ECANCEL_BUYER_DEVICE_COOKIE = "ecancel_device"
ECANCEL_BUYER_MAX_CHOICES = 20
ECANCEL_BUYER_CHOICE_WINDOW = timedelta(minutes=10)
ECANCEL_BUYER_SIGNATURE_MAX_BYTES = 1024 * 1024

# --- rate limiting (ecancel.core.ratelimit) ---
# The store every process shares: Redis when ECANCEL_RATE_LIMIT_REDIS_URL is set or the broker is Redis,
# otherwise the database. ECANCEL_RATE_LIMIT_BACKEND names a backend class outright.
ECANCEL_RATE_LIMIT_REDIS_URL = os.environ.get("ECANCEL_RATE_LIMIT_REDIS_URL") or (
    CELERY_BROKER_URL if CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else ""
)
ECANCEL_RATE_LIMIT_BACKEND = os.environ.get("ECANCEL_RATE_LIMIT_BACKEND") or (
    "ecancel.core.ratelimit.RedisBackend" if ECANCEL_RATE_LIMIT_REDIS_URL else "ecancel.core.ratelimit.DatabaseBackend"
)
# --- kept answers of the busiest API reads (ecancel.core.answers) ---
# In the same shared Redis as the rate limiter; without one (the embedded default) every call builds its answer.
ECANCEL_ANSWER_CACHE_BACKEND = os.environ.get("ECANCEL_ANSWER_CACHE_BACKEND") or (
    "ecancel.core.answers.RedisAnswerStore" if ECANCEL_RATE_LIMIT_REDIS_URL else "ecancel.core.answers.NullAnswerStore"
)
# The longest an answer is kept: the bound on staleness when a write's version change was lost (a process killed
# between its commit and the change, or a write made outside ecancel).
ECANCEL_ANSWER_CACHE_SECONDS = int(os.environ.get("ECANCEL_ANSWER_CACHE_SECONDS") or 60)
# Proxies (addresses or networks) whose X-Forwarded-For is believed; from any other peer it is ignored.
ECANCEL_TRUSTED_PROXIES = [
    entry.strip() for entry in os.environ.get("ECANCEL_TRUSTED_PROXIES", "").split(",") if entry.strip()
]
for _proxy in ECANCEL_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError as _exc:
        raise ImproperlyConfigured(
            f"ECANCEL_TRUSTED_PROXIES 中的 {_proxy!r} 不是地址或网段 / "
            f"ECANCEL_TRUSTED_PROXIES: {_proxy!r} is not an address or network"
        ) from _exc

# Identity checks (issue 11). The provider: "local" (offline dlib/rapidocr/PyAV, the default), "tencent",
# "null" (test double) or a dotted path to a class satisfying identity.providers.base.IdentityProvider.
ECANCEL_IDENTITY_PROVIDER = os.environ.get("ECANCEL_IDENTITY_PROVIDER", "local")
# Largest L2 distance of two dlib face embeddings still taken as one person (measured: docs/benchmarks.md).
ECANCEL_FACE_MATCH_THRESHOLD = float(os.environ.get("ECANCEL_FACE_MATCH_THRESHOLD", "0.5"))
# Threads of one OCR reading (0: as many as cores). The worker reads in parallel processes; threads inside one
# reading mostly spin on a busy host: one thread reads with about 40 % less CPU (docs/benchmarks.md).
ECANCEL_OCR_THREADS = int(os.environ.get("ECANCEL_OCR_THREADS", "1"))
# Longest side, in pixels, of the image the OCR's text detector searches (the text is read from the full image).
ECANCEL_OCR_DETECTION_SIDE = int(os.environ.get("ECANCEL_OCR_DETECTION_SIDE", "960"))
if not 320 <= ECANCEL_OCR_DETECTION_SIDE <= 4000:
    raise ImproperlyConfigured(
        "ECANCEL_OCR_DETECTION_SIDE 须在 320 到 4000 像素之间 / "
        "ECANCEL_OCR_DETECTION_SIDE must be between 320 and 4000 pixels"
    )
ECANCEL_FACE_BACKOFF_AFTER = 5  # failed face checks in a row before the subject waits
ECANCEL_FACE_BACKOFF = timedelta(minutes=10)
ECANCEL_FACE_MANUAL_REVIEW_AFTER = int(os.environ.get("ECANCEL_FACE_MANUAL_REVIEW_AFTER", "10"))
ECANCEL_FACE_CHALLENGE_TTL = timedelta(minutes=5)  # a liveness action must be performed within this
ECANCEL_VIDEO_TEXT_TTL = timedelta(minutes=10)  # the text to read aloud is valid this long
# The key ring encrypting personal data at rest (ID numbers, identity evidence; core/keyring.py): JSON
# {"keys": [newest, ..., oldest], "lookup_key": ...}, Base64 of 32 bytes each. ECANCEL_EVIDENCE_KEY (one key) is read
# as a ring of that key alone. Neither: a ring on local disk under ECANCEL_KEYS_DIR, made on first use.
ECANCEL_KEY_RING = os.environ.get("ECANCEL_KEY_RING", "")
ECANCEL_EVIDENCE_KEY = os.environ.get("ECANCEL_EVIDENCE_KEY", "")
# Stored files with personal data are sealed under the ring; one without the seal was written before that (read until
# `ecancel rotate_keys` seals it), or was put there by someone with access to the storage. Once `rotate_keys --dry-run`
# counts no plaintext file, refuse them: a file swapped for an unsealed one is then refused as tampered.
ECANCEL_REFUSE_PLAINTEXT_FILES = env_bool("ECANCEL_REFUSE_PLAINTEXT_FILES", default=False)
# The null provider's outcomes per operation (tests only), e.g. {"face": "failed:mismatch"}.
ECANCEL_IDENTITY_NULL_OUTCOMES: dict[str, str] = {}
# Tencent Cloud faceid/ocr; ECANCEL_TENCENT_ENDPOINT (a URL) points every call at another server.
ECANCEL_TENCENT_SECRET_ID = os.environ.get("ECANCEL_TENCENT_SECRET_ID", "")
ECANCEL_TENCENT_SECRET_KEY = os.environ.get("ECANCEL_TENCENT_SECRET_KEY", "")
ECANCEL_TENCENT_RULE_ID = os.environ.get("ECANCEL_TENCENT_RULE_ID", "")
ECANCEL_TENCENT_REGION = os.environ.get("ECANCEL_TENCENT_REGION", "ap-guangzhou")
ECANCEL_TENCENT_ENDPOINT = os.environ.get("ECANCEL_TENCENT_ENDPOINT", "")
ECANCEL_TENCENT_TIMEOUT = float(os.environ.get("ECANCEL_TENCENT_TIMEOUT", "10"))
if PRODUCTION and ECANCEL_IDENTITY_PROVIDER in ("null", "ecancel.identity.providers.null.NullProvider"):
    raise ImproperlyConfigured(
        "生产环境不能使用测试用的 null 身份核验 / "
        "ECANCEL_IDENTITY_PROVIDER must not be the null test double in production"
    )
if (
    PRODUCTION
    and ECANCEL_IDENTITY_PROVIDER == "tencent"
    and not (ECANCEL_TENCENT_SECRET_ID and ECANCEL_TENCENT_SECRET_KEY and ECANCEL_TENCENT_RULE_ID)
):
    raise ImproperlyConfigured(
        "使用腾讯云须设置 ECANCEL_TENCENT_SECRET_ID、_SECRET_KEY 和 _RULE_ID / "
        "ECANCEL_TENCENT_SECRET_ID, _SECRET_KEY and _RULE_ID must be set for Tencent Cloud"
    )


def env_days(name: str, default: int | None) -> timedelta | None:
    """A retention period in whole days from the environment; "never" (or nothing, with no default) keeps for ever."""
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return None if default is None else timedelta(days=default)
    if raw == "never":
        return None
    if not raw.isdigit():
        raise ImproperlyConfigured(f"{name} 须为天数或 never / {name} must be a number of days or 'never', not {raw!r}")
    return timedelta(days=int(raw))


# --- retention: how long a closed case's files are kept (notary/services/retention.py, `ecancel purge`) ---
# Counted from the day the case closed (结案: certified, refused, revoked or superseded), never while it is open.
# A certified case's evidence and documents are the notarial file (公证档案): kept as long as that is kept,
# by default for ever; set a number of days only if the office's archive keeps its own copy.
ECANCEL_RETAIN_CERTIFIED = env_days("ECANCEL_RETAIN_CERTIFIED_DAYS", None)
# A case closed without a certificate: face captures and statement videos go soon, ID photos and signatures a little
# later (a corrected push usually comes within weeks, and a new case takes its own), the office's generated
# documents after three years (the general limitation period for civil claims, 民法典 第一百八十八条).
ECANCEL_RETAIN_FACES = env_days("ECANCEL_RETAIN_FACES_DAYS", 30)
ECANCEL_RETAIN_VIDEOS = env_days("ECANCEL_RETAIN_VIDEOS_DAYS", 30)
ECANCEL_RETAIN_ID_PHOTOS = env_days("ECANCEL_RETAIN_ID_PHOTOS_DAYS", 180)
ECANCEL_RETAIN_DOCUMENTS = env_days("ECANCEL_RETAIN_DOCUMENTS_DAYS", 1095)
ECANCEL_PURGE_BATCH = int(os.environ.get("ECANCEL_PURGE_BATCH") or 500)  # files per deletion record
CELERY_BEAT_SCHEDULE["notary-purge-expired"] = {
    "task": "ecancel.notary.purge_expired",
    "schedule": crontab(hour=3, minute=30),  # once a night, in TIME_ZONE
}

# --- notifications: buyers' messages (in-app always; SMS and WeChat subscribe messages through adapters) ---
# Backends: "logging" (default: the log, no network), "memory" (tests), "http" (the gateway below), or a dotted path.
ECANCEL_SMS_BACKEND = os.environ.get("ECANCEL_SMS_BACKEND", "logging")
ECANCEL_SMS_GATEWAY_URL = os.environ.get("ECANCEL_SMS_GATEWAY_URL", "")
ECANCEL_SMS_GATEWAY_SECRET = os.environ.get("ECANCEL_SMS_GATEWAY_SECRET", "")  # HMAC key, at least 32 bytes
ECANCEL_WECHAT_BACKEND = os.environ.get("ECANCEL_WECHAT_BACKEND", "logging")
ECANCEL_WECHAT_GATEWAY_URL = os.environ.get("ECANCEL_WECHAT_GATEWAY_URL", "")
ECANCEL_WECHAT_GATEWAY_SECRET = os.environ.get("ECANCEL_WECHAT_GATEWAY_SECRET", "")
ECANCEL_WECHAT_TEMPLATE_ID = os.environ.get("ECANCEL_WECHAT_TEMPLATE_ID", "")
# Which keys of the subscribe-message template receive our title, topic (case reference), time and body.
ECANCEL_WECHAT_TEMPLATE_FIELDS = env_json_object("ECANCEL_WECHAT_TEMPLATE_FIELDS") or {
    "title": "thing1",
    "topic": "character_string2",
    "time": "time3",
    "body": "thing4",
}
ECANCEL_WECHAT_PAGE = os.environ.get("ECANCEL_WECHAT_PAGE", "")  # the mini program page a message opens
ECANCEL_WECHAT_MINIPROGRAM_STATE = os.environ.get("ECANCEL_WECHAT_MINIPROGRAM_STATE", "formal")
ECANCEL_NOTIFY_HTTP_TIMEOUT = float(os.environ.get("ECANCEL_NOTIFY_HTTP_TIMEOUT", "10"))
ECANCEL_NOTIFY_RETRY_BASE = 30.0  # seconds before the first retry; doubles per attempt, with jitter
ECANCEL_NOTIFY_RETRY_CAP = 1800.0
ECANCEL_NOTIFY_MAX_ATTEMPTS = 8
ECANCEL_NOTIFY_LEASE = 120.0  # a delivery being sent is due again after this if its process died
ECANCEL_NOTIFY_SWEEP_BATCH = 50
ECANCEL_NOTIFY_SWEEP_BUDGET = 50.0  # seconds one sweep keeps going
ECANCEL_NOTIFY_SWEEP_EVERY = float(os.environ.get("ECANCEL_NOTIFY_SWEEP_EVERY", "30"))
CELERY_BEAT_SCHEDULE["notifications-send-due"] = {
    "task": "ecancel.notifications.send_due",
    "schedule": ECANCEL_NOTIFY_SWEEP_EVERY,
    "options": {"expires": ECANCEL_NOTIFY_SWEEP_EVERY},
}
# One-time codes for the buyer's 我的 login by phone number.
ECANCEL_OTP_TTL = timedelta(minutes=5)
ECANCEL_OTP_MAX_TRIES = 5
ECANCEL_OTP_RESEND_AFTER = timedelta(seconds=60)  # one code per number per this
ECANCEL_OTP_SEND_WINDOW = timedelta(hours=1)
ECANCEL_OTP_SENDS_PER_PHONE = 5  # codes per number per window
ECANCEL_OTP_SENDS_PER_ADDRESS = 30  # codes per client address per window (carrier NAT: many buyers share one)
for _kind, _backend in (("SMS", ECANCEL_SMS_BACKEND), ("WECHAT", ECANCEL_WECHAT_BACKEND)):
    if PRODUCTION and _backend == "memory":
        raise ImproperlyConfigured(
            f"生产环境不能使用测试用的内存通道 ECANCEL_{_kind}_BACKEND=memory / "
            f"ECANCEL_{_kind}_BACKEND must not be the memory test double in production"
        )
    if _backend == "http" and not (
        os.environ.get(f"ECANCEL_{_kind}_GATEWAY_URL")
        and len(os.environ.get(f"ECANCEL_{_kind}_GATEWAY_SECRET", "")) >= 32
    ):
        raise ImproperlyConfigured(
            f"使用 http 通道须设置 ECANCEL_{_kind}_GATEWAY_URL 和至少 32 字节的 _GATEWAY_SECRET / "
            f"ECANCEL_{_kind}_GATEWAY_URL and _GATEWAY_SECRET (32+ bytes) must be set for http"
        )
