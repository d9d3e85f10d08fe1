"""Input checks and the figures documents print (大写金额, 中文日期)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecancel.core.errors import ValidationFailed
from ecancel.documents.samples import SampleDocument
from ecancel.documents.schemas import CertificateData, date_cn_numerals, rmb_upper, validate_data


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("1580000", "壹佰伍拾捌万元整"),
        ("474000.00", "肆拾柒万肆仟元整"),
        ("100010000", "壹亿零壹万元整"),
        ("100500", "壹拾万零伍佰元整"),
        ("1005", "壹仟零伍元整"),
        ("1010101", "壹佰零壹万零壹佰零壹元整"),
        ("1.05", "壹元零伍分"),
        ("0.5", "伍角"),
        ("0", "零元整"),
        ("123456789.12", "壹亿贰仟叁佰肆拾伍万陆仟柒佰捌拾玖元壹角贰分"),
    ],
)
def test_rmb_upper(amount: str, words: str) -> None:
    assert rmb_upper(Decimal(amount)) == words


_VALUES = dict(zip("零壹贰叁肆伍陆柒捌玖", range(10), strict=True))
_UNITS = {"拾": 10, "佰": 100, "仟": 1000}


def _parse_upper(words: str) -> int:
    """Reads 大写 back into cents, to check rmb_upper against the number it was given."""
    yuan_part, _, rest = words.partition("元") if "元" in words else ("", "", words)
    total, section, digit = 0, 0, 0
    for char in yuan_part:
        if char in _VALUES:
            digit = _VALUES[char]
        elif char in _UNITS:
            section += digit * _UNITS[char]
            digit = 0
        elif char == "万":
            total += (section + digit) * 10_000
            section = digit = 0
        elif char == "亿":
            total = (total + section + digit) * 100_000_000
            section = digit = 0
    cents = (total + section + digit) * 100
    jiao = re.search(r"(.)角", rest)
    fen = re.search(r"(.)分", rest)
    return cents + (_VALUES[jiao.group(1)] * 10 if jiao else 0) + (_VALUES[fen.group(1)] if fen else 0)


@given(st.integers(min_value=1, max_value=999_999_999_999))
def test_rmb_upper_reads_back_to_the_amount(cents: int) -> None:
    words = rmb_upper(Decimal(cents) / 100)
    assert _parse_upper(words) == cents
    assert "零零" not in words


def test_date_in_chinese_numerals() -> None:
    assert date_cn_numerals(dt.date(2026, 4, 10)) == "二〇二六年四月十日"
    assert date_cn_numerals(dt.date(2026, 12, 31)) == "二〇二六年十二月三十一日"
    assert date_cn_numerals(dt.date(2030, 1, 20)) == "二〇三〇年一月二十日"


def test_certificate_buyers_must_be_the_contracts(samples: dict[str, SampleDocument]) -> None:
    data = dict(samples["certificate"].data)
    data["buyers"] = data["buyers"][:1]
    with pytest.raises(ValidationFailed) as refused:
        validate_data("certificate", data)
    assert "须与所附合同的买受人一致" in refused.value.zh


def test_certificate_needs_both_sides_of_a_mainland_id(samples: dict[str, SampleDocument]) -> None:
    data = dict(samples["certificate"].data)
    data["buyers"] = [dict(b) for b in data["buyers"]]
    data["buyers"][1]["id_back_image"] = None
    with pytest.raises(ValidationFailed) as refused:
        validate_data("certificate", data)
    assert "王堃的身份证背面照片" in refused.value.zh


def test_a_schema_instance_is_accepted_as_is(samples: dict[str, SampleDocument]) -> None:
    model = CertificateData.model_validate(samples["certificate"].data)
    assert validate_data("certificate", model) is model
    with pytest.raises(ValidationFailed):
        validate_data("contract", model)


def test_unknown_fields_and_bad_formats_are_named(samples: dict[str, SampleDocument]) -> None:
    data = dict(samples["intake_record"].data)
    data["materials"] = [dict(data["materials"][0], sha256="not-a-hash")]
    data["colour"] = "red"
    data["received_at"] = "2026-04-08T10:31:07"
    with pytest.raises(ValidationFailed) as refused:
        validate_data("intake_record", data)
    fields = refused.value.fields
    assert "materials.0.sha256" in fields and "收到材料第1项·SHA-256" in fields["materials.0.sha256"].zh
    assert "colour" in fields and "不是该文书的字段" in fields["colour"].zh
    assert "必须带时区" in refused.value.zh
