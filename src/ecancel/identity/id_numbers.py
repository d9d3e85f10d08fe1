"""Identity document numbers: types, validation, masking, and valid numbers for demo data.

Every number a person types goes through ``validate_id_number`` before it is stored, so a
typo is refused where it is made, with a message that says what is wrong (length, an
illegal character, an impossible birth date, a wrong check character) — never what the
check character should have been, which would turn the validator into a number generator.

Formats (research notes in ``/work/shared/research/identity.md``):

- 居民身份证: GB 11643-1999, 6-digit address code, YYYYMMDD, 3-digit sequence, ISO 7064
  MOD 11-2 check character (``X`` for 10).
- 港澳台居民居住证 (2018): the same layout with the address code 810000 (Hong Kong),
  820000 (Macao) or 830000 (Taiwan).
- 外国人永久居留身份证: the 2017 card has 15 characters — ISO 3166 alpha-3 nationality, a
  4-digit code of the accepting authority's place, YYMMDD, one sequence digit and an
  ICAO 9303 (7-3-1) check digit; the 2023 card has 18 digits — ``9``, the accepting
  province, the ISO 3166 numeric nationality, YYYYMMDD, a 3-digit sequence and the
  GB 11643 check character.
- 港澳居民来往内地通行证: ``H``/``M`` + 8 digits (the card since 2013; older cards printed two
  more digits, the renewal count, which are not part of the number); for non-Chinese
  permanent residents (since 2024-07-10) ``HA``/``MA`` + 7 digits.
- 台湾居民来往大陆通行证: 8 digits (the card since 2015).
- 香港身份证: 1–2 letters, 6 digits and a mod-11 check character (``A`` for 10), usually
  written in brackets: ``A123456(3)``.
- Passports: a table of well-known national formats; any other country 5–20 letters/digits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _

from ecancel.core.errors import FieldMessage, Text, ValidationFailed, field_error


class IdType(models.TextChoices):
    MAINLAND_ID = "mainland_id", _("居民身份证")
    HK_MACAO_PERMIT = "hk_macao_permit", _("港澳居民来往内地通行证")
    TAIWAN_PERMIT = "taiwan_permit", _("台湾居民来往大陆通行证")
    HMT_RESIDENCE_PERMIT = "hmt_residence_permit", _("港澳台居民居住证")
    FOREIGN_PERMANENT_RESIDENT = "foreign_permanent_resident", _("外国人永久居留身份证")
    PASSPORT = "passport", _("护照")
    HKID = "hkid", _("香港身份证")


class IdNumberInvalid(ValidationFailed):
    """A refused identity-document number, reported on one form field."""

    def __init__(
        self, text: Text, en: str | None = None, *, params: Mapping[str, Any] | None = None, field: str = "id_number"
    ) -> None:
        super().__init__(text, en, params=params, fields={field: FieldMessage(text, en, params=params)})
        self.field = field


# Names used inside messages: "居民身份证号码应为18位" reads better than the bare label.
_NUMBER_NAMES: dict[str, Text] = {
    IdType.MAINLAND_ID: _("居民身份证号码"),
    IdType.HK_MACAO_PERMIT: _("港澳居民来往内地通行证号码"),
    IdType.TAIWAN_PERMIT: _("台湾居民来往大陆通行证号码"),
    IdType.HMT_RESIDENCE_PERMIT: _("港澳台居民居住证号码"),
    IdType.FOREIGN_PERMANENT_RESIDENT: _("外国人永久居留身份证号码"),
    IdType.PASSPORT: _("护照号码"),
    IdType.HKID: _("香港身份证号码"),
}

# Province-level codes of GB/T 2260 that appear on mainland resident ID numbers.
MAINLAND_PROVINCE_CODES = frozenset(
    {
        *("11", "12", "13", "14", "15"),
        *("21", "22", "23"),
        *("31", "32", "33", "34", "35", "36", "37"),
        *("41", "42", "43", "44", "45", "46"),
        *("50", "51", "52", "53", "54"),
        *("61", "62", "63", "64", "65"),
    }
)

RESIDENCE_PERMIT_PREFIXES: dict[str, str] = {"HKG": "810000", "MAC": "820000", "TWN": "830000"}

_GB11643_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_MRZ_WEIGHTS = (7, 3, 1)
_EARLIEST_BIRTH_YEAR = 1900


def id_type_label(id_type: str) -> str:
    """The Chinese name of an ID type, for pages and documents."""
    return str(IdType(id_type).label)


def is_mainland_citizen(id_type: str) -> bool:
    """Whether the holder is checked by face verification against the mainland ID database.

    Only the resident ID card leads there; every other document takes the document-and-video path.
    """
    return IdType(id_type) == IdType.MAINLAND_ID


def normalise_id_number(number: str) -> str:
    """Full-width forms folded (NFKC), whitespace and invisible format characters removed, upper case."""
    text = unicodedata.normalize("NFKC", number)
    kept = "".join(ch for ch in text if not ch.isspace() and unicodedata.category(ch) != "Cf")
    return kept.upper()


def mask_id_number(number: str) -> str:
    """Hide the middle of a number for screens and logs: ``4420**********123X``.

    Up to four characters stay visible at each end, and never more than half of the number.
    """
    keep = min(4, len(number) // 4)
    if keep == 0:
        return "*" * len(number)
    return number[:keep] + "*" * (len(number) - 2 * keep) + number[-keep:]


# --- check characters ----------------------------------------------------------------


def gb11643_check_char(body17: str) -> str:
    """The GB 11643 (ISO 7064 MOD 11-2) check character of 17 digits: ``0``–``9`` or ``X``."""
    if len(body17) != 17 or not body17.isascii() or not body17.isdigit():
        raise ValueError("GB 11643 needs exactly 17 digits")
    total = sum(int(ch) * weight for ch, weight in zip(body17, _GB11643_WEIGHTS, strict=True))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def _mrz_value(ch: str) -> int:
    if ch == "<":
        return 0
    if ch.isascii() and ch.isdigit():
        return int(ch)
    if ch.isascii() and ch.isupper():
        return ord(ch) - ord("A") + 10
    raise ValueError(f"not a machine-readable-zone character: {ch!r}")


def mrz_check_digit(field: str) -> str:
    """The ICAO 9303 check digit of a machine-readable-zone field (weights 7, 3, 1; ``<`` counts 0)."""
    total = sum(_mrz_value(ch) * _MRZ_WEIGHTS[i % 3] for i, ch in enumerate(field))
    return str(total % 10)


def hkid_check_char(prefix_and_digits: str) -> str:
    """The check character of a Hong Kong identity card: ``A123456`` → ``3``, ``AB987654`` → its own.

    Mod 11 over nine positions weighted 9…2; a one-letter prefix is padded with a space worth 36.
    """
    match = re.fullmatch(r"([A-Z]{1,2})(\d{6})", prefix_and_digits)
    if match is None:
        raise ValueError("an HKID body is 1-2 capital letters and 6 digits")
    letters, digits = match.groups()
    values = [36] * (2 - len(letters)) + [ord(ch) - ord("A") + 10 for ch in letters] + [int(d) for d in digits]
    total = sum(value * weight for value, weight in zip(values, range(9, 1, -1), strict=True))
    remainder = (11 - total % 11) % 11
    return "A" if remainder == 10 else str(remainder)


# --- passports -------------------------------------------------------------------------


@dataclass(frozen=True)
class PassportFormat:
    """The number format of one country's ordinary passports, with an example for messages."""

    country: Text
    pattern: re.Pattern[str]
    form: Text
    example: str


def _passport(country: Text, pattern: str, form: Text, example: str) -> PassportFormat:
    return PassportFormat(country, re.compile(pattern), form, example)


PASSPORT_FORMATS: dict[str, PassportFormat] = {
    # Hong Kong and Macao SAR passports carry CHN as issuing state in their machine-readable zone.
    "CHN": _passport(
        _("中国"),
        r"E\d{8}|E[A-Z]\d{7}|G\d{8}|[DSP]E\d{7}|[HK]\d{8}|M[A-Z0-9]{7,8}",
        _("E加8位数字、E加1个字母和7位数字、G加8位数字，或港澳特区护照号码"),
        "E12345678",
    ),
    "HKG": _passport(_("中国香港"), r"[HK]\d{8}", _("H或K加8位数字"), "K12345678"),
    "MAC": _passport(_("中国澳门"), r"M[A-Z0-9]{7,8}", _("M开头，共8至9位字母或数字"), "MA0123456"),
    "TWN": _passport(_("中国台湾"), r"\d{9}", _("9位数字"), "312345678"),
    "USA": _passport(_("美国"), r"\d{9}|[A-Z]\d{8}", _("9位数字，或1个字母加8位数字"), "A12345678"),
    "GBR": _passport(_("英国"), r"\d{9}", _("9位数字"), "123456789"),
    "JPN": _passport(_("日本"), r"[A-Z]{2}\d{7}", _("2个字母加7位数字"), "TK1234567"),
    "KOR": _passport(
        _("韩国"),
        r"[A-Z]\d{8}|[A-Z]\d{3}[A-Z]\d{4}",
        _("1个字母加8位数字，或字母、3位数字、字母、4位数字"),
        "M123A4567",
    ),
    "SGP": _passport(_("新加坡"), r"[A-Z]\d{7}[A-Z]", _("字母、7位数字、字母"), "K1234567A"),
    "CAN": _passport(_("加拿大"), r"[A-Z]{2}\d{6}", _("2个字母加6位数字"), "AB123456"),
    "AUS": _passport(_("澳大利亚"), r"[A-Z]{1,2}\d{7}", _("1至2个字母加7位数字"), "PA1234567"),
    "NZL": _passport(_("新西兰"), r"[A-Z]{2}\d{6}", _("2个字母加6位数字"), "LA123456"),
    "DEU": _passport(
        _("德国"),
        r"[CFGHJKLMNPRTVWXYZ0-9]{9}",
        _("9位，由数字和字母C F G H J K L M N P R T V W X Y Z组成"),
        "C01X00T47",
    ),
    "FRA": _passport(_("法国"), r"\d{2}[A-Z]{2}\d{5}", _("2位数字、2个字母、5位数字"), "12AB34567"),
    "ITA": _passport(_("意大利"), r"[A-Z]{2}\d{7}", _("2个字母加7位数字"), "YA1234567"),
    "IND": _passport(_("印度"), r"[A-Z]\d{7}", _("1个字母加7位数字"), "J1234567"),
    "RUS": _passport(_("俄罗斯"), r"\d{9}", _("9位数字"), "751234567"),
    "MYS": _passport(_("马来西亚"), r"[AHK]\d{8}", _("A、H或K加8位数字"), "A12345678"),
}

# ICAO 9303 writes Germany as "D" in machine-readable zones.
_ICAO_ALIASES = {"D": "DEU"}


def normalise_country_code(code: str, *, field: str = "issuing_country") -> str:
    """An ISO 3166 / ICAO 9303 alpha-3 code in upper case (``D<<`` and ``deu`` both give ``DEU``)."""
    cleaned = normalise_id_number(code).replace("<", "")
    if cleaned in _ICAO_ALIASES:
        return _ICAO_ALIASES[cleaned]
    if not re.fullmatch(r"[A-Z]{3}", cleaned):
        raise field_error(
            field,
            _("签发国家或地区代码应为3个英文字母，例如 USA"),
        )
    return cleaned


# --- validation --------------------------------------------------------------------------


def _show(ch: str) -> str:
    return ch if ch.isprintable() else f"U+{ord(ch):04X}"


class _Check:
    """The rules of one number, raising on the first thing that is wrong."""

    def __init__(self, id_type: str, number: str, field: str) -> None:
        self.number = number
        self.field = field
        self.name = _NUMBER_NAMES[id_type]

    def fail(self, text: Text, **params: Any) -> IdNumberInvalid:
        """The refusal; the document's name is the ``name`` parameter of every message."""
        return IdNumberInvalid(text, params={"name": self.name, **params}, field=self.field)

    def length(self, *allowed: int) -> None:
        n = len(self.number)
        if n in allowed:
            return
        if len(allowed) == 1:
            raise self.fail(_("%(name)s应为%(length)s位，您填写了%(count)s位"), length=allowed[0], count=n)
        raise self.fail(
            _("%(name)s应为%(shorter)s或%(longer)s位，您填写了%(count)s位"),
            shorter=allowed[0],
            longer=allowed[-1],
            count=n,
        )

    def characters(self, allowed: str, what: Text, *, start: int = 0, end: int | None = None) -> None:
        """Every character in number[start:end] must be in ``allowed``."""
        stop = len(self.number) if end is None else end
        for i in range(start, stop):
            ch = self.number[i]
            if ch not in allowed:
                raise self.fail(
                    _("%(name)s第%(position)s位“%(character)s”不正确：%(span)s只能是%(allowed)s"),
                    position=i + 1,
                    character=_show(ch),
                    span=self._span(start, stop),
                    allowed=what,
                )

    def _span(self, start: int, stop: int) -> FieldMessage:
        if stop - start == 1:
            if stop == len(self.number) and start > 0:
                return FieldMessage(_("最后一位"))
            return FieldMessage(_("第%(position)s位"), params={"position": start + 1})
        if start == 0 and stop == len(self.number):
            return FieldMessage(_("每一位"))
        return FieldMessage(_("第%(first)s–%(last)s位"), params={"first": start + 1, "last": stop})

    def birth_date(self, start: int, *, two_digit_year: bool = False) -> date:
        """The birth date written at ``start`` (YYYYMMDD, or YYMMDD taking the latest century that fits)."""
        width = 6 if two_digit_year else 8
        text = self.number[start : start + width]
        year_text, month, day = (text[:2], text[2:4], text[4:6]) if two_digit_year else (text[:4], text[4:6], text[6:8])
        today = timezone.localdate()
        centuries = ("20", "19") if two_digit_year else ("",)
        found: date | None = None
        for century in centuries:
            try:
                candidate = date(int(century + year_text), int(month), int(day))
            except ValueError:
                continue
            if found is None or (found > today and candidate <= today):
                found = candidate
        where = {"first": start + 1, "last": start + width}
        if found is None:
            raise self.fail(
                _("%(name)s第%(first)s–%(last)s位的出生日期“%(date)s”不是真实存在的日期"), date=text, **where
            )
        if found > today:
            raise self.fail(
                _("%(name)s第%(first)s–%(last)s位的出生日期%(date)s晚于今天"), date=found.isoformat(), **where
            )
        if found.year < _EARLIEST_BIRTH_YEAR:
            raise self.fail(
                _("%(name)s第%(first)s–%(last)s位的出生日期%(date)s早于1900年"), date=found.isoformat(), **where
            )
        return found

    def check_char(self, expected: str, actual: str) -> None:
        if expected != actual:
            raise self.fail(_("%(name)s校验位不正确，可能有输错的字符，请对照证件逐位核对"))


_DIGITS = "0123456789"
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _gb11643_layout(c: _Check) -> None:
    """18 characters, 17 digits and a check character; shared by the ID card, the permits and the 2023 card."""
    c.length(18)
    c.characters(_DIGITS, _("数字"), end=17)
    c.characters(_DIGITS + "X", _("数字或X"), start=17)


def _birth_date_and_check(c: _Check) -> str:
    """Characters 7–14 a real past birth date and the last one the GB 11643 check character."""
    c.birth_date(6)
    c.check_char(gb11643_check_char(c.number[:17]), c.number[17])
    return c.number


def _mainland_id(c: _Check) -> str:
    n = c.number
    _gb11643_layout(c)
    if n[:6] in RESIDENCE_PERMIT_PREFIXES.values():
        raise c.fail(_("以%(prefix)s开头的是港澳台居民居住证号码，请将证件类型选为“港澳台居民居住证”"), prefix=n[:6])
    if n[0] == "9":
        raise c.fail(_("以9开头的18位号码是外国人永久居留身份证号码，请将证件类型选为“外国人永久居留身份证”"))
    if n[:2] not in MAINLAND_PROVINCE_CODES:
        raise c.fail(_("%(name)s前两位“%(code)s”不是有效的省级行政区划代码"), code=n[:2])
    return _birth_date_and_check(c)


def _residence_permit(c: _Check) -> str:
    n = c.number
    _gb11643_layout(c)
    if n[:6] not in RESIDENCE_PERMIT_PREFIXES.values():
        raise c.fail(
            _("%(name)s应以810000（香港）、820000（澳门）或830000（台湾）开头，您填写的以%(prefix)s开头"),
            prefix=n[:6],
        )
    return _birth_date_and_check(c)


def _foreign_permanent_resident(c: _Check) -> str:
    n = c.number
    c.length(15, 18)
    if len(n) == 18:
        if n[0] != "9":
            raise c.fail(_("18位的%(name)s（2023年版）以9开头，您填写的以“%(first)s”开头"), first=_show(n[0]))
        _gb11643_layout(c)
        if n[1:3] not in MAINLAND_PROVINCE_CODES:
            raise c.fail(_("%(name)s第2–3位“%(code)s”不是有效的受理地省级行政区划代码"), code=n[1:3])
        return _birth_date_and_check(c)
    c.characters(_LETTERS, _("英文字母（国籍代码）"), end=3)
    c.characters(_DIGITS, _("数字"), start=3)
    if n[3:5] not in MAINLAND_PROVINCE_CODES:
        raise c.fail(_("%(name)s第4–5位“%(code)s”不是有效的受理地省级行政区划代码"), code=n[3:5])
    c.birth_date(7, two_digit_year=True)
    c.check_char(mrz_check_digit(n[:14]), n[14])
    return n


def _hk_macao_permit(c: _Check) -> str:
    n = c.number
    if n[:1] not in ("H", "M"):
        raise c.fail(_("%(name)s应以H（香港居民）或M（澳门居民）开头"))
    if len(n) == 11 and n[1:].isdigit():
        raise c.fail(_("%(name)s为H或M加8位数字，共9位；旧版证件上末尾的两位是换证次数，不属于号码，请去掉"))
    c.length(9)
    if n[1] == "A":
        c.characters(_DIGITS, _("数字"), start=2)
    else:
        c.characters(_DIGITS, _("数字"), start=1)
    return n


def _taiwan_permit(c: _Check) -> str:
    c.length(8)
    c.characters(_DIGITS, _("数字"))
    return c.number


def _hkid(c: _Check) -> str:
    n = c.number
    c.characters(_LETTERS + _DIGITS + "()", _("英文字母、数字或括号"))
    match = re.fullmatch(r"([A-Z]{1,2})(\d{6})(?:\(([0-9A])\)|([0-9A]))", n)
    if match is None:
        raise c.fail(_("%(name)s应为1至2个英文字母、6位数字和1位校验码（数字或A），例如 A123456(3)"))
    letters, digits, bracketed, bare = match.groups()
    check = bracketed or bare
    c.check_char(hkid_check_char(letters + digits), check)
    return f"{letters}{digits}({check})"


def _passport_number(c: _Check, issuing_country: str | None) -> str:
    n = c.number
    c.characters(_LETTERS + _DIGITS, _("英文字母或数字"))
    country = normalise_country_code(issuing_country) if issuing_country else None
    known = PASSPORT_FORMATS.get(country) if country else None
    if known is None:
        if not 5 <= len(n) <= 20:
            raise c.fail(_("%(name)s应为5至20位英文字母或数字，您填写了%(count)s位"), count=len(n))
        return n
    if not known.pattern.fullmatch(n):
        raise c.fail(
            _("%(country)s签发的护照号码格式应为：%(form)s（例如 %(example)s）"),
            country=known.country,
            form=known.form,
            example=known.example,
        )
    return n


def validate_id_number(
    id_type: str, number: str, *, issuing_country: str | None = None, field: str = "id_number"
) -> str:
    """The number in its stored form, or ``IdNumberInvalid`` saying what is wrong.

    ``issuing_country`` (ISO 3166 / ICAO alpha-3) selects the national format of a passport
    number; it is ignored for the other documents. ``field`` names the form field the
    refusal is reported on.
    """
    try:
        kind = IdType(id_type)
    except ValueError:
        raise field_error("id_type", _("不支持的证件类型")) from None
    normalised = normalise_id_number(number)
    c = _Check(kind, normalised, field)
    if not normalised:
        raise c.fail(_("请填写证件号码"))
    if kind == IdType.MAINLAND_ID:
        return _mainland_id(c)
    if kind == IdType.HMT_RESIDENCE_PERMIT:
        return _residence_permit(c)
    if kind == IdType.FOREIGN_PERMANENT_RESIDENT:
        return _foreign_permanent_resident(c)
    if kind == IdType.HK_MACAO_PERMIT:
        return _hk_macao_permit(c)
    if kind == IdType.TAIWAN_PERMIT:
        return _taiwan_permit(c)
    if kind == IdType.HKID:
        return _hkid(c)
    return _passport_number(c, issuing_country)


@deconstructible
class IdNumberValidator:
    """A Django field validator for a field that always holds one type of document."""

    code = "invalid_id_number"

    def __init__(self, id_type: str, issuing_country: str | None = None) -> None:
        self.id_type = str(id_type)
        self.issuing_country = issuing_country

    def __call__(self, value: str) -> None:
        try:
            validate_id_number(self.id_type, value, issuing_country=self.issuing_country)
        except ValidationFailed as exc:
            raise ValidationError(exc.message, code=self.code) from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, IdNumberValidator)
            and self.id_type == other.id_type
            and self.issuing_country == other.issuing_country
        )

    def __hash__(self) -> int:
        return hash((self.id_type, self.issuing_country))


# --- valid numbers for demo data and tests -------------------------------------------------


def _birth8(birth: date) -> str:
    return birth.strftime("%Y%m%d")


def _sequence(sequence: int, width: int) -> str:
    if not 0 <= sequence < 10**width:
        raise ValueError(f"sequence must have at most {width} digits")
    return f"{sequence:0{width}d}"


def make_mainland_id(region: str, birth: date, sequence: int) -> str:
    """A valid resident ID number: ``region`` is a 6-digit address code such as 442000 (Zhongshan).

    An odd ``sequence`` marks a man, an even one a woman, as on real cards.
    """
    if not re.fullmatch(r"\d{6}", region):
        raise ValueError("region must be a 6-digit address code")
    body = region + _birth8(birth) + _sequence(sequence, 3)
    return body + gb11643_check_char(body)


def make_residence_permit(origin: str, birth: date, sequence: int) -> str:
    """A valid 港澳台居民居住证 number; ``origin`` is HKG, MAC or TWN."""
    body = RESIDENCE_PERMIT_PREFIXES[origin] + _birth8(birth) + _sequence(sequence, 3)
    return body + gb11643_check_char(body)


def make_foreign_permanent_resident_2023(province: str, nationality: str, birth: date, sequence: int) -> str:
    """A valid 2023 card number: ``province`` is the 2-digit code of the issuing office, ``nationality``
    the ISO 3166 numeric code (840 for the USA)."""
    if province not in MAINLAND_PROVINCE_CODES or not re.fullmatch(r"\d{3}", nationality):
        raise ValueError("province must be a province code and nationality a 3-digit ISO 3166 code")
    body = "9" + province + nationality + _birth8(birth) + _sequence(sequence, 3)
    return body + gb11643_check_char(body)


def make_foreign_permanent_resident_2017(nationality: str, place: str, birth: date, sequence: int) -> str:
    """A valid 2017 card number: ``nationality`` is ISO 3166 alpha-3 (USA), ``place`` the 4-digit
    code of the issuing office (4420 for Zhongshan)."""
    if not re.fullmatch(r"[A-Z]{3}", nationality) or not re.fullmatch(r"\d{4}", place):
        raise ValueError("nationality must be 3 capital letters and place 4 digits")
    body = nationality + place + birth.strftime("%y%m%d") + _sequence(sequence, 1)
    return body + mrz_check_digit(body)


def make_hkid(prefix: str, serial: int) -> str:
    """A valid HKID number in its printed form, e.g. ``make_hkid("A", 123456)`` → ``A123456(3)``."""
    body = prefix + _sequence(serial, 6)
    return f"{body}({hkid_check_char(body)})"


def make_hk_macao_permit(region: str, serial: int) -> str:
    """A 港澳居民来往内地通行证 number: ``region`` H (Hong Kong) or M (Macao)."""
    if region not in ("H", "M"):
        raise ValueError("region must be H or M")
    return region + _sequence(serial, 8)


def make_taiwan_permit(serial: int) -> str:
    """A 台湾居民来往大陆通行证 number."""
    return _sequence(serial, 8)
