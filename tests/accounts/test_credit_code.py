"""统一社会信用代码: published codes, generated codes, single-character typos, messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecancel.accounts.credit_code import (
    AUTHORITIES,
    CREDIT_CODE_CHARSET,
    CreditCodeInvalid,
    credit_code_check_char,
    make_credit_code,
    organisation_code_check_char,
    validate_credit_code,
)
from ecancel.core.errors import ValidationFailed
from ecancel.identity.id_numbers import MAINLAND_PROVINCE_CODES

PROVINCES = sorted(MAINLAND_PROVINCE_CODES)
REPLACEMENTS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-*中"


def refusal(code: str) -> CreditCodeInvalid:
    with pytest.raises(CreditCodeInvalid) as caught:
        validate_credit_code(code)
    return caught.value


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y43",  # the example in GB 32100-2015
        "91110000600037341L",  # an enterprise registered in Beijing
        "12440600MB2C07549J",  # a public institution (事业单位) in Foshan
    ],
)
def test_published_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code
    assert credit_code_check_char(code[:17]) == code[17]
    assert organisation_code_check_char(code[8:16]) == code[16]


def test_input_is_normalised() -> None:
    assert validate_credit_code(" 9135 0100 m000 100y 43 ") == "91350100M000100Y43"
    assert validate_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") == "91350100M000100Y43"


def test_check_helpers_refuse_malformed_bodies() -> None:
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100Y")
    with pytest.raises(ValueError):
        credit_code_check_char("91350100M000100YI")
    with pytest.raises(ValueError):
        organisation_code_check_char("M000-00Y")


@st.composite
def credit_codes(draw: st.DrawFn) -> str:
    authority = draw(st.sampled_from(sorted(AUTHORITIES)))
    category = draw(st.sampled_from("123" if authority == "9" else "123456789"))
    region = draw(st.sampled_from([*PROVINCES, "10"]))
    region += "0000" if region == "10" else f"{draw(st.integers(0, 9999)):04d}"
    organisation = draw(st.text(CREDIT_CODE_CHARSET, min_size=8, max_size=8))
    body = authority + category + region + organisation + organisation_code_check_char(organisation)
    return body + credit_code_check_char(body)


@settings(max_examples=300, deadline=None)
@given(credit_codes())
def test_generated_codes_pass(code: str) -> None:
    assert validate_credit_code(code) == code


@settings(max_examples=500, deadline=None)
@given(credit_codes(), st.data())
def test_any_single_character_change_is_caught(code: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, 17), label="position")
    replacement = data.draw(st.sampled_from(REPLACEMENTS).filter(lambda ch: ch != code[position]), label="new")
    with pytest.raises(CreditCodeInvalid):
        validate_credit_code(code[:position] + replacement + code[position + 1 :])


@settings(max_examples=100, deadline=None)
@given(credit_codes(), st.data())
def test_a_wrong_check_character_never_reveals_the_right_one(code: str, data: st.DataObject) -> None:
    replacement = data.draw(st.sampled_from(CREDIT_CODE_CHARSET).filter(lambda ch: ch != code[17]))
    exc = refusal(code[:17] + replacement)
    assert exc.zh == "统一社会信用代码校验位（第18位）不正确，可能有输错的字符，请对照营业执照逐位核对"


def test_make_credit_code() -> None:
    developer = make_credit_code(serial=1)
    assert developer.startswith("91442000")
    assert validate_credit_code(developer) == developer
    notary = make_credit_code(serial=12345678, authority="3", category="2", region="442000")
    assert notary.startswith("32442000")
    assert validate_credit_code(notary) == notary
    with pytest.raises(ValueError):
        make_credit_code(serial=10**8)
    with pytest.raises(ValueError):
        make_credit_code(serial=1, authority="B")


def test_refusals_are_validation_failures_on_the_credit_code_field() -> None:
    exc = refusal("123")
    assert isinstance(exc, ValidationFailed)
    assert exc.as_payload()["fields"]["credit_code"]["message"] == exc.zh
    with pytest.raises(CreditCodeInvalid) as caught:
        validate_credit_code("123", field="code")
    assert set(caught.value.fields) == {"code"}


@pytest.mark.parametrize(
    ("code", "zh", "en"),
    [
        ("", "请填写统一社会信用代码", "Enter"),
        ("91350100M000100Y4", "应为18位，您填写了17位", "this one has 17"),
        (
            "91350100M0001OOY43",
            "第14位“O”不正确：只能是数字或大写字母，且不使用I、O、Z、S、V",
            "except I, O, Z, S and V",
        ),
        ("B1350100M000100Y43", "第1位“B”不是有效的登记管理部门代码", "not a registration authority"),
        ("95350100M000100Y43", "第2位“5”不是市场监管部门登记的机构类别", "market-regulation category"),
        ("3A350100M000100Y43", "第2位“A”不是有效的机构类别代码", "organisation category"),
        ("91990100M000100Y43", "第3–8位“990100”不是有效的登记管理机关行政区划代码", "administrative division"),
        ("9135A100M000100Y43", "第3–8位“35A100”", "administrative division"),
        ("91350100M000101Y43", "第9–17位（组织机构代码）的校验位不正确", "organisation code"),
        ("91350100M000100Y44", "校验位（第18位）不正确", "check character"),
        # Issued in Xiamen before 2016 with a wrong check character: refused like any other.
        ("91350203M0001QKT19", "校验位（第18位）不正确", "check character"),
    ],
)
def test_messages(code: str, zh: str, en: str) -> None:
    exc = refusal(code)
    assert zh in exc.zh
    assert en in exc.en
