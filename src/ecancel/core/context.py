"""Who did something, from where: passed explicitly from views and tasks into services."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.http import HttpRequest


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    via: str = "system"

    @classmethod
    def of(cls, request: HttpRequest, *, via: str = "web") -> RequestContext:
        return cls(
            ip=client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", "")[:400],
            via=via,
        )

    @classmethod
    def system(cls, via: str = "system") -> RequestContext:
        return cls(via=via)


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR; a proxy in front must set it (gunicorn's --forwarded-allow-ips)."""
    return request.META.get("REMOTE_ADDR") or None
