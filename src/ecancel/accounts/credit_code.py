"""统一社会信用代码 (GB 32100-2015): validation, check characters, and codes for demo data.

Layout of the 18 characters:

1. registration authority (登记管理部门码): 9 is market regulation, which registers every company;
2. organisation category (机构类别码) within that authority: 91 is an enterprise, 32 a notary office;
3. characters 3–8: the administrative division of the registering office (GB/T 2260; 100000 national);
4. characters 9–17: the organisation code (GB 11714: 8 characters and a mod-11 check character);
5. character 18: the check character, mod 31 over the first 17 with weights 3^i.

The character set is the digits and the capital letters without I, O, Z, S and V.

A few codes issued in Xiamen before 2016 are known to carry a wrong check character
(e.g. 91350203M0001QKT19); they are refused like any other code that fails its check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import FieldMessage, Text, ValidationFailed
from ecancel.identity.id_numbers import MAINLAND_PROVINCE_CODES, normalise_id_number

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUES = {ch: i for i, ch in enumerate(CREDIT_CODE_CHARSET)}
_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORGANISATION_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authorities of GB 32100-2015 Appendix A (Chinese, English).
AUTHORITIES: dict[str, tuple[str, str]] = {
    "1": ("机构编制", "public-sector establishment office"),
    "2": ("外交", "foreign affairs"),
    "3": ("司法行政", "justice administration"),
    "4": ("文化", "culture"),
    "5": ("民政", "civil affairs"),
    "6": ("旅游", "tourism"),
    "7": ("宗教", "religious affairs"),
    "8": ("工会", "trade unions"),
    "9": ("市场监督管理（工商）", "market regulation"),
    "A": ("中央军委改革和编制办公室", "military establishment office"),
    "N": ("农业", "agriculture"),
    "Y": ("其他", "other"),
}

# The market-regulation categories are a closed list; the other authorities have added categories
# since 2015, so for them only the character class of the category is checked.
MARKET_REGULATION_CATEGORIES: dict[str, str] = {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}


class CreditCodeInvalid(ValidationFailed):
    """A refused credit code, reported on one form field."""

    def __init__(
        self, text: Text, en: str | None = None, *, params: Mapping[str, Any] | None = None, field: str = "credit_code"
    ) -> None:
        super().__init__(text, en, params=params, fields={field: FieldMessage(text, en, params=params)})
        self.field = field


def credit_code_check_char(body17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    if len(body17) != 17 or any(ch not in _VALUES for ch in body17):
        raise ValueError("a credit code body is 17 characters of the GB 32100 set")
    total = sum(_VALUES[ch] * weight for ch, weight in zip(body17, _WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def organisation_code_check_char(body8: str) -> str:
    """The GB 11714 check character of an 8-character organisation code body: a digit or X."""
    if not re.fullmatch(r"[0-9A-Z]{8}", body8):
        raise ValueError("an organisation code body is 8 digits or capital letters")
    total = sum(int(ch, 36) * weight for ch, weight in zip(body8, _ORGANISATION_WEIGHTS, strict=True))
    value = (11 - total % 11) % 11
    return "X" if value == 10 else str(value)


def validate_credit_code(code: str, *, field: str = "credit_code") -> str:
    """The code in upper case without spaces, or ``CreditCodeInvalid`` saying what is wrong."""

    def fail(text: Text, **params: Any) -> CreditCodeInvalid:
        return CreditCodeInvalid(text, params=params, field=field)

    normalised = normalise_id_number(code)
    if not normalised:
        raise fail(_("请填写统一社会信用代码"))
    if len(normalised) != 18:
        raise fail(_("统一社会信用代码应为18位，您填写了%(count)s位"), count=len(normalised))
    for i, ch in enumerate(normalised):
        if ch not in _VALUES:
            shown = ch if ch.isprintable() else f"U+{ord(ch):04X}"
            raise fail(
                _("统一社会信用代码第%(position)s位“%(character)s”不正确：只能是数字或大写字母，且不使用I、O、Z、S、V"),
                position=i + 1,
                character=shown,
            )
    authority, category, region = normalised[0], normalised[1], normalised[2:8]
    if authority not in AUTHORITIES:
        raise fail(_("统一社会信用代码第1位“%(character)s”不是有效的登记管理部门代码"), character=authority)
    if authority == "9":
        if category not in MARKET_REGULATION_CATEGORIES:
            raise fail(
                _(
                    "统一社会信用代码第2位“%(character)s”不是市场监管部门登记的机构类别"
                    "（1企业、2个体工商户、3农民专业合作社）"
                ),
                character=category,
            )
    elif category not in "123456789":
        raise fail(_("统一社会信用代码第2位“%(character)s”不是有效的机构类别代码（1–9）"), character=category)
    if not region.isdigit() or not (region[:2] in MAINLAND_PROVINCE_CODES or region == "100000"):
        raise fail(_("统一社会信用代码第3–8位“%(region)s”不是有效的登记管理机关行政区划代码"), region=region)
    if organisation_code_check_char(normalised[8:16]) != normalised[16]:
        raise fail(
            _("统一社会信用代码第9–17位（组织机构代码）的校验位不正确，可能有输错的字符，请对照营业执照逐位核对")
        )
    if credit_code_check_char(normalised[:17]) != normalised[17]:
        raise fail(_("统一社会信用代码校验位（第18位）不正确，可能有输错的字符，请对照营业执照逐位核对"))
    return normalised


def make_credit_code(*, serial: int, region: str = "442000", authority: str = "9", category: str = "1") -> str:
    """A valid code for demo data: ``serial`` (0–99999999) becomes the organisation code body.

    The defaults give an enterprise registered in Zhongshan (442000); a notary office is
    ``authority="3", category="2"``.
    """
    if not 0 <= serial < 10**8:
        raise ValueError("serial must have at most 8 digits")
    if authority not in AUTHORITIES or category not in CREDIT_CODE_CHARSET or not re.fullmatch(r"\d{6}", region):
        raise ValueError("authority, category or region is not valid")
    organisation = f"{serial:08d}"
    body = authority + category + region + organisation + organisation_code_check_char(organisation)
    return body + credit_code_check_char(body)
