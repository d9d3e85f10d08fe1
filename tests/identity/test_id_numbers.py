"""Identity-document numbers: fixed vectors, generated valid numbers, single-character typos, messages."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.migrations.serializer import serializer_factory
from hypothesis import given, settings
from hypothesis import strategies as st

from ecancel.core.errors import ValidationFailed
from ecancel.identity.id_numbers import (
    MAINLAND_PROVINCE_CODES,
    PASSPORT_FORMATS,
    IdNumberInvalid,
    IdNumberValidator,
    IdType,
    gb11643_check_char,
    hkid_check_char,
    id_type_label,
    is_mainland_citizen,
    make_foreign_permanent_resident_2017,
    make_foreign_permanent_resident_2023,
    make_hk_macao_permit,
    make_hkid,
    make_mainland_id,
    make_residence_permit,
    make_taiwan_permit,
    mask_id_number,
    mrz_check_digit,
    normalise_country_code,
    validate_id_number,
)

# A day's margin: the validator's "today" is Asia/Shanghai, the machine's may be UTC.
LATEST_BIRTH = date.today() - timedelta(days=1)
PROVINCES = sorted(MAINLAND_PROVINCE_CODES)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
# What a typo can turn a character into (whitespace is dropped by normalisation, so it is not a substitution).
REPLACEMENTS = "0123456789" + LETTERS + "-*#(中"


def refusal(id_type: str, number: str, issuing_country: str | None = None) -> IdNumberInvalid:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(id_type, number, issuing_country=issuing_country)
    return caught.value


# --- fixed vectors ---------------------------------------------------------------------


def test_gb11643_worked_example_from_the_standard() -> None:
    assert gb11643_check_char("11010519491231002") == "X"
    assert validate_id_number(IdType.MAINLAND_ID, "11010519491231002X") == "11010519491231002X"


def test_gb11643_rejects_a_body_that_is_not_17_digits() -> None:
    with pytest.raises(ValueError):
        gb11643_check_char("1101051949123100")
    with pytest.raises(ValueError):
        gb11643_check_char("1101051949123100A")


def test_nia_example_of_the_2023_foreign_permanent_resident_card() -> None:
    # The National Immigration Administration's published example: Jiangsu (32), Saudi Arabia (682), 1985-01-01.
    assert validate_id_number(IdType.FOREIGN_PERMANENT_RESIDENT, "932682198501010017") == "932682198501010017"


def test_2017_foreign_permanent_resident_card_uses_the_icao_check_digit() -> None:
    # Kazakhstan, Beijing (1100), 1990-12-31, sequence 0, check digit 5.
    assert mrz_check_digit("KAZ11009012310") == "5"
    assert validate_id_number(IdType.FOREIGN_PERMANENT_RESIDENT, "KAZ110090123105") == "KAZ110090123105"


def test_icao_9303_specimen_check_digits() -> None:
    # The specimen passport of ICAO Doc 9303 (L898902C3, born 740812, expires 120415).
    assert mrz_check_digit("L898902C3") == "6"
    assert mrz_check_digit("740812") == "2"
    assert mrz_check_digit("120415") == "9"
    assert mrz_check_digit("ZE184226B<<<<<") == "1"
    with pytest.raises(ValueError):
        mrz_check_digit("L8989-02")


def test_hkid_published_examples() -> None:
    assert hkid_check_char("A123456") == "3"
    assert hkid_check_char("G123456") == "A"
    assert hkid_check_char("AB987654") == "3"
    assert validate_id_number(IdType.HKID, "A123456(3)") == "A123456(3)"
    assert validate_id_number(IdType.HKID, "g123456a") == "G123456(A)"
    assert validate_id_number(IdType.HKID, "AB 987654 (3)") == "AB987654(3)"
    with pytest.raises(ValueError):
        hkid_check_char("ABC12345")


def test_residence_permit_examples() -> None:
    for number in ("810000199408230021", "830000199201300022"):
        assert validate_id_number(IdType.HMT_RESIDENCE_PERMIT, number) == number


# --- normalisation ---------------------------------------------------------------------


def test_full_width_spaces_invisible_characters_and_case_are_normalised() -> None:
    typed = "１１０１０５ 1949\u30001231\u200b002x "
    assert validate_id_number(IdType.MAINLAND_ID, typed) == "11010519491231002X"
    assert validate_id_number(IdType.HK_MACAO_PERMIT, " h 1234 5678 ") == "H12345678"
    assert validate_id_number(IdType.HKID, "A123456（3）") == "A123456(3)"


# --- generated valid numbers -------------------------------------------------------------

births = st.dates(min_value=date(1900, 1, 1), max_value=LATEST_BIRTH)


@st.composite
def mainland_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + f"{draw(st.integers(0, 9999)):04d}"
    return make_mainland_id(region, draw(births), draw(st.integers(0, 999)))


@st.composite
def residence_permits(draw: st.DrawFn) -> str:
    return make_residence_permit(draw(st.sampled_from(["HKG", "MAC", "TWN"])), draw(births), draw(st.integers(0, 999)))


@st.composite
def permanent_residents_2023(draw: st.DrawFn) -> str:
    return make_foreign_permanent_resident_2023(
        draw(st.sampled_from(PROVINCES)), f"{draw(st.integers(4, 894)):03d}", draw(births), draw(st.integers(0, 999))
    )


@st.composite
def permanent_residents_2017(draw: st.DrawFn) -> str:
    nationality = draw(st.text(LETTERS, min_size=3, max_size=3))
    place = draw(st.sampled_from(PROVINCES)) + f"{draw(st.integers(0, 99)):02d}"
    return make_foreign_permanent_resident_2017(nationality, place, draw(births), draw(st.integers(0, 9)))


@st.composite
def hkids(draw: st.DrawFn) -> str:
    return make_hkid(draw(st.text(LETTERS, min_size=1, max_size=2)), draw(st.integers(0, 999_999)))


CHECKED: dict[IdType, st.SearchStrategy[str]] = {
    IdType.MAINLAND_ID: mainland_ids(),
    IdType.HMT_RESIDENCE_PERMIT: residence_permits(),
    IdType.FOREIGN_PERMANENT_RESIDENT: st.one_of(permanent_residents_2023(), permanent_residents_2017()),
    IdType.HKID: hkids(),
}

checked_numbers = st.sampled_from(sorted(CHECKED)).flatmap(
    lambda id_type: st.tuples(st.just(id_type), CHECKED[id_type])
)


@settings(max_examples=300, deadline=None)
@given(checked_numbers)
def test_generated_numbers_with_a_check_character_pass(case: tuple[IdType, str]) -> None:
    id_type, number = case
    assert validate_id_number(id_type, number) == number
    assert validate_id_number(id_type, " " + number.lower() + " ") == number


unchecked_numbers = st.one_of(
    st.tuples(
        st.just(IdType.HK_MACAO_PERMIT),
        st.builds(make_hk_macao_permit, st.sampled_from("HM"), st.integers(0, 99_999_999)),
    ),
    st.tuples(
        st.just(IdType.HK_MACAO_PERMIT),
        st.builds(lambda r, n: f"{r}A{n:07d}", st.sampled_from("HM"), st.integers(0, 9_999_999)),
    ),
    st.tuples(st.just(IdType.TAIWAN_PERMIT), st.builds(make_taiwan_permit, st.integers(0, 99_999_999))),
    st.tuples(st.just(IdType.PASSPORT), st.text(LETTERS + "0123456789", min_size=5, max_size=20)),
)


@settings(max_examples=200, deadline=None)
@given(unchecked_numbers)
def test_generated_numbers_without_a_check_character_pass(case: tuple[IdType, str]) -> None:
    id_type, number = case
    assert validate_id_number(id_type, number) == number


def _letter_value(ch: str) -> int:
    return ord(ch) - ord("A") + 10


def _blind_spot(id_type: IdType, number: str, position: int, replacement: str) -> bool:
    """Substitutions the published algorithm cannot see, whatever the implementation.

    HKID (mod 11) and the 2017 permanent-resident card (ICAO mod 10) weigh letters worth 10-35,
    so swapping one letter for another 11 (resp. 10 or 20) further along the alphabet keeps the sum.
    """
    original = number[position]
    if not (original in LETTERS and replacement in LETTERS):
        return False
    shift = _letter_value(replacement) - _letter_value(original)
    if id_type == IdType.HKID:
        return shift % 11 == 0
    return id_type == IdType.FOREIGN_PERMANENT_RESIDENT and len(number) == 15 and shift % 10 == 0


@settings(max_examples=600, deadline=None)
@given(checked_numbers, st.data())
def test_any_single_character_change_is_caught(case: tuple[IdType, str], data: st.DataObject) -> None:
    id_type, number = case
    position = data.draw(st.integers(0, len(number) - 1), label="position")
    replacement = data.draw(st.sampled_from(REPLACEMENTS).filter(lambda ch: ch != number[position]), label="new")
    typo = number[:position] + replacement + number[position + 1 :]
    if _blind_spot(id_type, number, position, replacement):
        return
    with pytest.raises(IdNumberInvalid):
        validate_id_number(id_type, typo)


def test_the_blind_spot_of_the_hkid_algorithm_is_real() -> None:
    # A and L are 11 apart: the HKID check character cannot tell them apart (nor can any HKID validator).
    assert validate_id_number(IdType.HKID, "L123456(3)") == "L123456(3)"


@settings(max_examples=200, deadline=None)
@given(checked_numbers, st.data())
def test_a_wrong_check_character_never_reveals_the_right_one(case: tuple[IdType, str], data: st.DataObject) -> None:
    id_type, number = case
    check_at = len(number) - 2 if id_type == IdType.HKID else len(number) - 1
    replacement = data.draw(st.sampled_from("0123456789").filter(lambda ch: ch != number[check_at]))
    exc = refusal(id_type, number[:check_at] + replacement + number[check_at + 1 :])
    # One fixed sentence per document type, whatever the number and whatever the right character is.
    assert exc.zh.endswith("校验位不正确，可能有输错的字符，请对照证件逐位核对")
    assert "check character" in exc.en
    assert number not in exc.zh
    assert number[check_at] not in exc.zh


# --- messages, one per mistake -----------------------------------------------------------


def test_refusals_are_validation_failures_on_the_id_number_field() -> None:
    exc = refusal(IdType.MAINLAND_ID, "123")
    assert isinstance(exc, ValidationFailed)
    assert exc.http_status == 422
    payload = exc.as_payload()
    assert payload["code"] == "validation_failed"
    assert payload["fields"]["id_number"]["message"] == exc.zh
    assert payload["fields"]["id_number"]["message_en"] == exc.en


def test_the_field_name_can_be_chosen() -> None:
    with pytest.raises(IdNumberInvalid) as caught:
        validate_id_number(IdType.MAINLAND_ID, "123", field="legal_representative_id_number")
    assert set(caught.value.fields) == {"legal_representative_id_number"}


def test_empty_number() -> None:
    exc = refusal(IdType.PASSPORT, "   ")
    assert exc.zh == "请填写证件号码"


def test_unknown_id_type() -> None:
    with pytest.raises(ValidationFailed) as caught:
        validate_id_number("driving_licence", "123456")
    assert set(caught.value.fields) == {"id_type"}


@pytest.mark.parametrize(
    ("number", "zh", "en"),
    [
        ("11010519491231002", "居民身份证号码应为18位，您填写了17位", "has 18 characters; this one has 17"),
        ("1101051949123100-X", "第17位“-”不正确：第1–17位只能是数字", "character 17 '-' is not allowed"),
        ("11010519491231002Y", "第18位“Y”不正确：最后一位只能是数字或X", "the last character must be a digit or X"),
        ("701051194912310021", "前两位“70”不是有效的省级行政区划代码", "'70' are not a province code"),
        ("110105194902301234", "第7–14位的出生日期“19490230”不是真实存在的日期", "'19490230' in characters 7-14"),
        ("110105194912310021", "居民身份证号码校验位不正确", "fails its check character"),
        ("810000199408230021", "请将证件类型选为“港澳台居民居住证”", "residence permit"),
        ("932682198501010017", "请将证件类型选为“外国人永久居留身份证”", "Foreign Permanent Resident"),
    ],
)
def test_mainland_id_messages(number: str, zh: str, en: str) -> None:
    exc = refusal(IdType.MAINLAND_ID, number)
    assert zh in exc.zh
    assert en in exc.en


def test_birth_date_in_the_future_or_before_1900() -> None:
    future = make_mainland_id("442000", date.today() + timedelta(days=40), 11)
    assert "晚于今天" in refusal(IdType.MAINLAND_ID, future).zh
    old = make_mainland_id("442000", date(1899, 12, 31), 11)
    exc = refusal(IdType.MAINLAND_ID, old)
    assert "1899-12-31早于1900年" in exc.zh
    assert "before 1900" in exc.en


def test_residence_permit_messages() -> None:
    exc = refusal(IdType.HMT_RESIDENCE_PERMIT, make_mainland_id("440000", date(1990, 1, 1), 1))
    assert "应以810000（香港）、820000（澳门）或830000（台湾）开头" in exc.zh
    wrong_date = "8200001990023000"
    exc = refusal(IdType.HMT_RESIDENCE_PERMIT, wrong_date + "1" + gb11643_check_char(wrong_date + "1"))
    assert "不是真实存在的日期" in exc.zh
    assert "校验位不正确" in refusal(IdType.HMT_RESIDENCE_PERMIT, "810000199408230022").zh


def test_foreign_permanent_resident_messages() -> None:
    assert "应为15或18位，您填写了16位" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "USA4420800102101").zh
    assert "以9开头" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "110105194912310021").zh
    assert "第2–3位“99”" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "999398199012310021").zh
    assert "第1位“1”不正确" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "1SA442080010210").zh
    assert "第4–5位“99”" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "USA992080010210").zh
    body = "USA4420990230" + "1"
    assert "“990230”不是真实存在的日期" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, body + mrz_check_digit(body)).zh
    assert "校验位不正确" in refusal(IdType.FOREIGN_PERMANENT_RESIDENT, "USA442080010211").zh


def test_two_digit_birth_year_takes_the_century_that_is_not_in_the_future() -> None:
    next_year = date.today().year % 100 + 1
    body = f"USA4420{next_year:02d}0101" + "1"
    number = body + mrz_check_digit(body)
    assert validate_id_number(IdType.FOREIGN_PERMANENT_RESIDENT, number) == number


def test_hk_macao_permit_messages() -> None:
    assert validate_id_number(IdType.HK_MACAO_PERMIT, "M87654321") == "M87654321"
    assert validate_id_number(IdType.HK_MACAO_PERMIT, "MA1234567") == "MA1234567"
    assert "应以H（香港居民）或M（澳门居民）开头" in refusal(IdType.HK_MACAO_PERMIT, "X12345678").zh
    assert "末尾的两位是换证次数" in refusal(IdType.HK_MACAO_PERMIT, "H1234567801").zh
    assert "应为9位，您填写了8位" in refusal(IdType.HK_MACAO_PERMIT, "H1234567").zh
    assert "第9位“A”不正确" in refusal(IdType.HK_MACAO_PERMIT, "H1234567A").zh
    assert "第3位“B”不正确" in refusal(IdType.HK_MACAO_PERMIT, "HAB234567").zh


def test_taiwan_permit_messages() -> None:
    assert "应为8位，您填写了10位" in refusal(IdType.TAIWAN_PERMIT, "0123456789").zh
    assert "第8位“A”不正确：每一位只能是数字" in refusal(IdType.TAIWAN_PERMIT, "1234567A").zh


def test_hkid_messages() -> None:
    assert "应为1至2个英文字母、6位数字和1位校验码" in refusal(IdType.HKID, "A12345(6)").zh
    assert "应为1至2个英文字母、6位数字和1位校验码" in refusal(IdType.HKID, "A123456(3").zh
    assert "第8位“-”不正确" in refusal(IdType.HKID, "A123456-3").zh
    assert "校验位不正确" in refusal(IdType.HKID, "A123456(4)").zh


# --- passports ---------------------------------------------------------------------------


@pytest.mark.parametrize("country", sorted(PASSPORT_FORMATS))
def test_each_known_passport_format_accepts_its_example(country: str) -> None:
    example = PASSPORT_FORMATS[country].example
    assert validate_id_number(IdType.PASSPORT, example.lower(), issuing_country=country.lower()) == example


@pytest.mark.parametrize(
    ("country", "good", "bad"),
    [
        (
            "CHN",
            ["E12345678", "EA1234567", "G12345678", "DE1234567", "K12345678"],
            ["E1234567", "12345678", "EAB123456"],
        ),
        ("USA", ["123456789", "A12345678"], ["12345678", "AB1234567"]),
        ("JPN", ["TK1234567"], ["T12345678"]),
        ("KOR", ["M12345678", "M123A4567"], ["MM1234567"]),
        ("FRA", ["12AB34567"], ["AB1234567"]),
        ("D", ["C01X00T47"], ["C01X00T4A"]),
    ],
)
def test_passport_formats_per_country(country: str, good: list[str], bad: list[str]) -> None:
    for number in good:
        assert validate_id_number(IdType.PASSPORT, number, issuing_country=country) == number
    for number in bad:
        exc = refusal(IdType.PASSPORT, number, country)
        assert "签发的护照号码格式应为" in exc.zh
        assert "has the form" in exc.en


def test_other_countries_take_5_to_20_letters_or_digits() -> None:
    assert validate_id_number(IdType.PASSPORT, "X1234", issuing_country="BRA") == "X1234"
    assert "5至20位" in refusal(IdType.PASSPORT, "X123", "BRA").zh
    assert "5至20位" in refusal(IdType.PASSPORT, "X" * 21).zh
    assert "只能是英文字母或数字" in refusal(IdType.PASSPORT, "AB-123456").zh


def test_issuing_country_codes() -> None:
    assert normalise_country_code(" usa ") == "USA"
    assert normalise_country_code("D<<") == "DEU"
    for bad in ("U.S.", "US"):
        with pytest.raises(ValidationFailed) as caught:
            validate_id_number(IdType.PASSPORT, "E12345678", issuing_country=bad)
        assert set(caught.value.fields) == {"issuing_country"}


# --- masking, labels, validator ----------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("44200019850314123X", "4420**********123X"),
        ("KAZ110090123105", "KAZ*********105"),
        ("A123456(3)", "A1******3)"),
        ("H12345678", "H1*****78"),
        ("12345678", "12****78"),
        ("X1234", "X***4"),
        ("ABC", "***"),
        ("", ""),
    ],
)
def test_mask_id_number(number: str, masked: str) -> None:
    assert mask_id_number(number) == masked


@settings(max_examples=100, deadline=None)
@given(mainland_ids())
def test_masking_hides_at_least_half_of_every_number(number: str) -> None:
    masked = mask_id_number(number)
    assert len(masked) == len(number)
    assert masked.count("*") >= len(number) / 2
    assert number[6:14] not in masked


def test_labels_and_mainland_check() -> None:
    assert id_type_label(IdType.MAINLAND_ID) == "居民身份证"
    assert id_type_label("hkid") == "香港身份证"
    assert is_mainland_citizen(IdType.MAINLAND_ID)
    assert not any(is_mainland_citizen(t) for t in IdType if t != IdType.MAINLAND_ID)


def test_django_field_validator() -> None:
    validator = IdNumberValidator(IdType.MAINLAND_ID)
    validator("11010519491231002X")
    with pytest.raises(ValidationError) as caught:
        validator("11010519491231002")
    assert caught.value.messages == ["居民身份证号码应为18位，您填写了17位"]
    assert caught.value.code == "invalid_id_number"
    assert validator == IdNumberValidator("mainland_id")
    assert validator != IdNumberValidator(IdType.PASSPORT, "USA")
    # Usable on a model field: migrations can write it out.
    text, imports = serializer_factory(validator).serialize()
    assert text.startswith("ecancel.identity.id_numbers.IdNumberValidator(")
    assert "import ecancel.identity.id_numbers" in imports


def test_makers_refuse_impossible_input() -> None:
    with pytest.raises(ValueError):
        make_mainland_id("4420", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_mainland_id("442000", date(1990, 1, 1), 1000)
    with pytest.raises(ValueError):
        make_foreign_permanent_resident_2023("99", "840", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_foreign_permanent_resident_2017("US", "4420", date(1990, 1, 1), 1)
    with pytest.raises(ValueError):
        make_hk_macao_permit("X", 1)


def test_makers_give_the_documented_examples() -> None:
    assert make_mainland_id("110105", date(1949, 12, 31), 2) == "11010519491231002X"
    assert make_foreign_permanent_resident_2023("32", "682", date(1985, 1, 1), 1) == "932682198501010017"
    assert make_foreign_permanent_resident_2017("KAZ", "1100", date(1990, 12, 31), 0) == "KAZ110090123105"
    assert make_hkid("A", 123456) == "A123456(3)"
    assert make_residence_permit("HKG", date(1994, 8, 23), 2) == "810000199408230021"
