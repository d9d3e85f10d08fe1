"""Who did something, from where: passed explicitly from views and tasks into services."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_ipv46_address
from django.http import HttpRequest
from django.utils.ipv6 import clean_ipv6_address

from ecancel.core.logs import current_request_id, new_request_id

# A header holds no control characters legitimately, and PostgreSQL cannot store NUL: the audit row would fail.
_HEADER_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    # The request's X-Request-ID (core.logs) when there is one, so its audit rows and log lines share the ID.
    request_id: str = field(default_factory=lambda: current_request_id() or new_request_id())
    via: str = "system"

    @classmethod
    def of(cls, request: HttpRequest, *, via: str = "web") -> RequestContext:
        return cls(
            ip=client_ip(request),
            user_agent=_HEADER_CONTROL_CHARACTERS.sub("\ufffd", request.META.get("HTTP_USER_AGENT", ""))[:400],
            via=via,
        )

    @classmethod
    def system(cls, via: str = "system") -> RequestContext:
        return cls(via=via)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the direct peer, or, when that peer is a trusted proxy, the X-Forwarded-For hop
    nearest to us that is not one.

    Anyone can write X-Forwarded-For, so it is read only from ``ECANCEL_TRUSTED_PROXIES``: otherwise a client
    could pick a fresh address for every request and walk past every per-address limit.
    """
    peer = canonical_ip(request.META.get("REMOTE_ADDR"))
    proxies = _trusted_networks(tuple(settings.ECANCEL_TRUSTED_PROXIES))
    if peer is None or not _is_listed(peer, proxies):
        return peer
    for hop in reversed(request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")):
        address = canonical_ip(hop.strip())
        if address is None:
            # A hop no proxy of ours would write: trust nothing further out than the proxy itself.
            return peer
        if not _is_listed(address, proxies):
            return address
    return peer


@cache
def _trusted_networks(entries: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(entry, strict=False) for entry in entries)


def _is_listed(address: str, networks: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    parsed = ip_address(address)
    return any(parsed in network for network in networks)


def canonical_ip(value: str | None) -> str | None:
    """The address as the database stores it (IPv6 compressed, lower case, no zone), None if it is none.

    The audit chain hashes what it stores: an address hashed as written and read back normalised
    would make an untouched row look altered.
    """
    if not value:
        return None
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return clean_ipv6_address(value) if ":" in value else value
