"""Why a message was refused: a code, its message, and the HTTP status the endpoint answers.

Between deployments a refusal travels as its code and an English machine reason; what a person reads is
rendered from the code through gettext, in the language of the page it is shown on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import DomainError, Text

if TYPE_CHECKING:
    from ecancel.exchange.models import InboxMessage


# Every refusal code a receiving deployment answers with -> what it means to the sender's staff.
REFUSALS: dict[str, Text] = {
    "length_required": _("缺少消息长度"),
    "too_large": _("消息过大"),
    "missing_headers": _("缺少消息签名头"),
    "malformed_headers": _("消息签名头格式错误"),
    "bad_timestamp": _("消息时间戳格式错误"),
    "malformed": _("消息格式错误"),
    "id_mismatch": _("消息编号与签名头不一致"),
    "wrong_recipient": _("收件机构不由本系统托管"),
    "unknown_sender": _("发件机构未登记为对接机构"),
    "bad_signature": _("消息签名无效"),
    "stale_timestamp": _("消息时间戳超出允许范围，请检查双方服务器时钟"),
    "body_hash_mismatch": _("消息内容摘要不符"),
    "attachment_mismatch": _("附件与其摘要不符"),
    "invalid_body": _("消息内容不符合该类消息的格式"),
    "wrong_direction": _("该类消息不能在这两类机构之间发送"),
    "no_handler": _("对方系统不处理该类消息"),
    "busy": _("该消息正在处理中，请稍后重试"),
    "id_conflict": _("消息编号已被另一条消息使用"),
    "duplicate": _("该消息已接收，不再重复处理"),
    "rate_limited": _("被拒绝的消息过多"),
    "internal_error": _("接收方处理失败，请稍后重试"),
}

# How a delivery failure is recorded: "code: reason" from the in-process transport, "HTTP 401 code: reason" over HTTP.
_CODED_FAILURE = re.compile(r"^(?:HTTP \d{3} )?([a-z_]+):")


class ExchangeRefused(DomainError):
    """A message that is not accepted; it changes nothing and is audited with its reason.

    ``detail`` is a technical English note (which header, how many seconds off) added to the machine reason
    that goes back to the sender; the message itself comes from ``REFUSALS`` unless one is given.
    """

    def __init__(
        self,
        code: str,
        text: Text | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        http_status: int = 400,
        detail: str = "",
    ) -> None:
        super().__init__(text or REFUSALS[code], params=params, code=code, http_status=http_status)
        self.detail = detail

    @property
    def en(self) -> str:
        """The machine reason sent back to the sender: the English message and its technical detail."""
        return f"{self.message_en}: {self.detail}" if self.detail else self.message_en


class DuplicateMessage(ExchangeRefused):
    """The same message again (a retry after a lost answer, or a replay): already received, nothing done."""

    def __init__(self, existing: InboxMessage) -> None:
        super().__init__("duplicate", http_status=200)
        self.existing = existing


def delivery_failure_shown(error: str) -> str:
    """A recorded delivery failure for a person: a refusal's reason in the active language, from its code.

    A failure without a refusal code (the connection, the peer's server) is a transport diagnostic and is
    shown as recorded.
    """
    coded = _CODED_FAILURE.match(error)
    if coded is not None and coded.group(1) in REFUSALS:
        return str(REFUSALS[coded.group(1)])
    return error


class NoRoute(DomainError):
    def __init__(self, organisation_name: str) -> None:
        super().__init__(
            text=_("尚未配置与「%(organisation_name)s」的消息通道，请联系系统管理员配置对接机构"),
            code="no_route",
            http_status=503,
            params={"organisation_name": organisation_name},
        )
