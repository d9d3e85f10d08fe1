"""Why a message was refused: a code, Chinese and English, and the HTTP status the endpoint answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import DomainError, Text

if TYPE_CHECKING:
    from ecancel.exchange.models import InboxMessage


class ExchangeRefused(DomainError):
    """A message that is not accepted; it changes nothing and is audited with its reason."""

    def __init__(
        self,
        code: str,
        text: Text,
        en: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        http_status: int = 400,
    ) -> None:
        super().__init__(text, en, params=params, code=code, http_status=http_status)


class DuplicateMessage(ExchangeRefused):
    """The same message again (a retry after a lost answer, or a replay): already received, nothing done."""

    def __init__(self, existing: InboxMessage) -> None:
        super().__init__(
            "duplicate",
            "该消息已接收，不再重复处理",
            "Message already received; nothing was done again",
            http_status=200,
        )
        self.existing = existing


class NoRoute(DomainError):
    def __init__(self, organisation_name: str) -> None:
        super().__init__(
            text=_("尚未配置与「%(organisation_name)s」的消息通道，请联系系统管理员配置对接机构"),
            code="no_route",
            http_status=503,
            params={"organisation_name": organisation_name},
        )
