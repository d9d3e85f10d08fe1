"""What a buyer is told, per event: a title and a body kept as source strings (msgids) with named parameters.

A notification stores the msgids, the parameters and the language; its text is rendered through gettext when
it is created and again in whatever language a page shows it (``render``). A new kind of message is a new entry
here — its strings then go through "Add a translatable string" in docs/development.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from django.utils import translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import ValidationFailed, field_error

ONE_TIME_CODE = "one_time_code"
MAX_PARAM_LENGTH = 200


@dataclass(frozen=True)
class EventText:
    title: str  # msgid
    body: str  # msgid with %(name)s placeholders
    params: frozenset[str]
    in_app: bool = True  # False: sent only to an external channel, never shown on 我的
    # Parameters that hold a msgid of their own (a label from a list): translated with the text, so a buyer reading
    # in English does not see the Chinese label the notary chose.
    msgid_params: frozenset[str] = frozenset()


EVENTS: dict[str, EventText] = {
    "case.awaiting_buyers": EventText(
        gettext_noop("案件已受理，待买受人认证"),
        gettext_noop("公证处已受理案件 %(case_ref)s，请在手机上完成身份认证、阅读文件和签名。"),
        frozenset({"case_ref"}),
    ),
    "buyer.submitted": EventText(
        gettext_noop("认证材料已提交"),
        gettext_noop("您在案件 %(case_ref)s 中的认证材料已提交，请等待其他买受人和公证处审核。"),
        frozenset({"case_ref"}),
    ),
    "case.under_review": EventText(
        gettext_noop("公证审核中"),
        gettext_noop("案件 %(case_ref)s 的全部买受人已提交材料，公证处正在审核。"),
        frozenset({"case_ref"}),
    ),
    "case.certified": EventText(
        gettext_noop("公证书已出具"),
        gettext_noop("案件 %(case_ref)s 的公证书 %(certificate_no)s 已出具，可在「我的」中查看和下载。"),
        frozenset({"case_ref", "certificate_no"}),
    ),
    "case.refused": EventText(
        gettext_noop("公证处不予办理"),
        # note: what the notary wrote, in their words (may be empty).
        gettext_noop("公证处决定不予办理案件 %(case_ref)s，理由：%(reason)s。%(note)s"),
        frozenset({"case_ref", "reason", "note"}),
        msgid_params=frozenset({"reason"}),
    ),
    "case.revoked": EventText(
        gettext_noop("申请已撤销"),
        gettext_noop("案件 %(case_ref)s 的申请已撤销，原二维码已失效。"),
        frozenset({"case_ref"}),
    ),
    ONE_TIME_CODE: EventText(
        gettext_noop("验证码"),
        gettext_noop("您的验证码为 %(code)s，%(minutes)s 分钟内有效。请勿告诉他人。"),
        frozenset({"code", "minutes"}),
        in_app=False,
    ),
}


def event_text(event: str) -> EventText:
    text = EVENTS.get(event)
    if text is None:
        raise field_error("event", _("未知的通知类型：%(event)s"), params={"event": event})
    return text


def check_params(text: EventText, params: Mapping[str, object]) -> dict[str, str]:
    """Exactly the parameters the event's text names, as short strings without control characters."""
    missing, extra = text.params - set(params), set(params) - text.params
    if missing or extra:
        raise ValidationFailed(
            _("通知参数不符：缺少 %(value)s，多出 %(value2)s"),
            params={"value": sorted(missing), "value2": sorted(extra)},
        )
    checked = {}
    for name, value in params.items():
        value = str(value)
        if len(value) > MAX_PARAM_LENGTH or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise field_error(name, _("通知参数 %(name)s 过长或含有控制字符"), params={"name": name})
        checked[name] = value
    return checked


def excerpt(text: str) -> str:
    """Free text (a notary's explanation) as a parameter: one line, short enough for a text message.

    Line breaks and runs of spaces become one space; a longer text ends in "…" (the whole stays on the case).
    """
    line = " ".join(text.split())
    return line if len(line) <= MAX_PARAM_LENGTH else line[: MAX_PARAM_LENGTH - 1] + "…"


def render(event: str, title: str, body: str, params: Mapping[str, str], language: str) -> tuple[str, str]:
    """The title and body in ``language``, from their msgids and parameters (msgid parameters translated too)."""
    text = EVENTS.get(event)
    translated = text.msgid_params if text is not None else frozenset()
    # A parameter the text gained after a message was queued is empty for that message, not a failed send.
    missing = dict.fromkeys(text.params - set(params), "") if text is not None else {}
    with translation.override(language):
        values = {name: gettext(value) if name in translated else value for name, value in params.items()}
        return gettext(title), (gettext(body) % {**missing, **values}).strip()
