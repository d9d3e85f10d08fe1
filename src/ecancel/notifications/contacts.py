"""Buyers' phone numbers and WeChat openids: checked, normalised, sealed at rest, masked everywhere else.

A contact is stored twice: sealed with AES-256-GCM (to send to it) under the key ring's current data key, which the
sealed value names (``n2:<key id>:…``), and, for phone numbers, as a keyed digest (to find a buyer's subscriptions
and codes by the number they type) with a key derived from the ring's lookup key, which does not rotate. Both live
outside the database (``core.keyring``), so a database copy alone reveals no number. Values sealed before the ring
(``n1:``, under a key derived from the lookup key) still open, and ``reseal_all`` moves them to the current key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import field_error
from ecancel.core.keyring import key_ring
from ecancel.identity.masking import mask_phone

LEGACY_SEAL_PREFIX = "n1:"
SEAL_PREFIX = "n2:"
KEY_ID_CHARS = 16
NONCE_BYTES = 12
_SEPARATORS = re.compile(r"[\s\-()]")
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_INTERNATIONAL = re.compile(r"\+[1-9][0-9]{6,14}")
_OPENID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _derived_key(purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"ecancel notifications " + purpose).derive(
        key_ring().lookup_secret
    )


def normalise_phone(value: str, *, field: str = "phone") -> str:
    """E.164 (``+8613912345678``): a mainland mobile number as typed, or any number with its ``+`` country code."""
    compact = _SEPARATORS.sub("", value or "")
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if compact.startswith("+86"):
        compact = compact[3:]
    if _MAINLAND_MOBILE.fullmatch(compact):
        return "+86" + compact
    if _INTERNATIONAL.fullmatch(compact):
        return compact
    raise field_error(
        field,
        _("手机号码格式不正确：内地手机号填写 11 位数字，境外号码请以 + 和国家或地区代码开头"),
    )


def check_openid(value: str, *, field: str = "wechat_openid") -> str:
    if not _OPENID.fullmatch(value or ""):
        raise field_error(field, _("微信 openid 格式不正确"))
    return value


def phone_digest(phone: str) -> str:
    """A keyed digest of a normalised number: equal numbers meet, the number cannot be read back."""
    return hmac.new(_derived_key(b"phone digest"), phone.encode(), hashlib.sha256).hexdigest()


def code_digest(code: str, *, bound_to: str) -> str:
    """A one-time code kept as a keyed digest bound to its row: a million guesses offline need the key."""
    return hmac.new(_derived_key(b"one-time code"), f"{bound_to}:{code}".encode(), hashlib.sha256).hexdigest()


def seal(value: dict[str, Any], *, bound_to: str) -> str:
    """AES-GCM over the JSON of ``value``, bound to the row that stores it (a copied value fails to open)."""
    ring = key_ring()
    key = ring.current
    nonce = os.urandom(NONCE_BYTES)
    plain = json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
    sealed = AESGCM(ring.subkey(key, "contact seal")).encrypt(nonce, plain, f"{bound_to}|{key.key_id}".encode())
    return f"{SEAL_PREFIX}{key.key_id}:{base64.b64encode(nonce + sealed).decode()}"


def sealed_key_id(sealed: str) -> str | None:
    """The ring key a sealed value is under; None for one sealed before the ring."""
    return sealed[len(SEAL_PREFIX) : len(SEAL_PREFIX) + KEY_ID_CHARS] if sealed.startswith(SEAL_PREFIX) else None


def unseal(sealed: str, *, bound_to: str) -> dict[str, Any]:
    if sealed.startswith(LEGACY_SEAL_PREFIX):
        blob = base64.b64decode(sealed[len(LEGACY_SEAL_PREFIX) :])
        aead, associated = AESGCM(_derived_key(b"contact seal")), bound_to.encode()
    elif (key_id := sealed_key_id(sealed)) is not None:
        ring = key_ring()
        blob = base64.b64decode(sealed[len(SEAL_PREFIX) + KEY_ID_CHARS + 1 :])
        aead, associated = AESGCM(ring.subkey(ring.key(key_id), "contact seal")), f"{bound_to}|{key_id}".encode()
    else:
        raise ValueError("unknown sealing format")
    value: dict[str, Any] = json.loads(aead.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], associated))
    return value


def mask_openid(value: str) -> str:
    return f"{value[:4]}…{value[-2:]}" if len(value) > 6 else "…"


def mask_address(kind: str, address: str) -> str:
    """What screens, logs and the audit log may show of an address."""
    if kind != "sms":
        return mask_openid(address)
    return mask_phone(address[3:] if address.startswith("+86") else address)
