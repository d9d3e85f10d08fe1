"""Reading identity documents offline: the ID card's two sides, the permits, the passport's MRZ.

OCR is rapidocr (PP-OCR models shipped inside the wheel; one engine per process, created on first
use). The recognised text boxes are grouped into rows, and each field is taken from the row of its
printed label (``姓名``, ``性别``, ``有效期限``...). Every number read is validated with
``identity.id_numbers`` and cross-checked against the other printed fields (the ID number encodes
the birth date and sex) and against what the buyer typed. A passport is judged by its machine-
readable zone: the two bottom lines are OCR'd, look-alike characters are mapped field by field
(``く``→``<``; ``O``→``0`` where digits belong, ``0``→``O`` where letters do) and the ICAO 9303
check digits are verified with ``mrz``.

Reason codes are stable: ``missing_<field>``, ``number_invalid``, ``birth_mismatch``,
``sex_mismatch``, ``name_mismatch``, ``number_mismatch``, ``not_yet_valid``,
``mrz_unreadable``, ``mrz_invalid``, ``document_expired`` (the name ``identity.messages`` has a sentence for).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

import numpy as np
from mrz.checker.td3 import TD3CodeChecker
from PIL import Image

from ecancel.identity import faces
from ecancel.identity.id_numbers import IdNumberInvalid, IdType, normalise_id_number, validate_id_number

if TYPE_CHECKING:
    from rapidocr import RapidOCR

DocumentKind = Literal[
    "id_card_front", "id_card_back", "passport", "hk_macau_permit", "taiwan_permit", "foreign_permanent_residence"
]
LONG_TERM = "长期"

# The fields each document must yield; a missing one is reported as ``missing_<field>``.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "id_card_front": ("name", "sex", "birth_date", "address", "number"),
    "id_card_back": ("authority", "valid_from", "valid_to"),
    "hk_macau_permit": ("name", "number", "valid_from", "valid_to"),
    "taiwan_permit": ("name", "number", "valid_from", "valid_to"),
    "foreign_permanent_residence": ("name", "number", "valid_from", "valid_to"),
    "passport": ("surname", "number", "nationality", "birth_date", "expiry_date"),
}
PERMIT_ID_TYPES = {
    "hk_macau_permit": IdType.HK_MACAO_PERMIT,
    "taiwan_permit": IdType.TAIWAN_PERMIT,
    "foreign_permanent_residence": IdType.FOREIGN_PERMANENT_RESIDENT,
}
PERMIT_NUMBER_PATTERNS = {
    "hk_macau_permit": re.compile(r"(?<![A-Z0-9])([HM]A?\d{7,8})(?:\d{2})?(?!\d)"),
    "taiwan_permit": re.compile(r"(?<!\d)(\d{8})(?:\d{2})?(?!\d)"),
    "foreign_permanent_residence": re.compile(r"(?<![A-Z0-9])(9\d{16}[\dX]|[A-Z]{3}\d{12})(?![\dA-Z])"),
}


_LATIN_NAME = re.compile(r"[A-Z][A-Z'\-]*\s*,\s*[A-Z][A-Z '\-]*")  # "SURNAME, GIVEN NAMES" as permits print it


@dataclass(frozen=True)
class OcrLine:
    text: str
    left: int
    top: int
    right: int
    bottom: int

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass(frozen=True)
class DocumentReading:
    kind: DocumentKind
    fields: dict[str, str]  # dates as ISO 8601; an open-ended validity as "长期"
    checks: dict[str, bool]
    reasons: tuple[str, ...]
    portrait_box: tuple[int, int, int, int] | None  # left, top, right, bottom in the given image
    passed: bool


_engine: RapidOCR | None = None
_engine_lock = threading.Lock()


def ocr_params(threads: int, detection_side: int) -> dict[str, int | str]:
    """The OCR engine's onnxruntime threads (``ECANCEL_OCR_THREADS``; 0 leaves the choice to onnxruntime) and the
    longest side the text detector sees (``ECANCEL_OCR_DETECTION_SIDE``).

    Left to itself the detector enlarges an image until its *shorter* side is 736 pixels, so a card's photo is
    searched for text at more pixels than it has, and a phone's full-size photo at 2,000. Bounding the longer side
    instead halves the CPU of a reading and reads the test corpus as well or better (docs/benchmarks.md); the text
    itself is still recognised from the full-size image.

    Text boxes are recognised one at a time: in a batch every box is padded to the widest one's width, and a passport
    page's two 44-character MRZ lines made the short lines batched with them cost as much as they do."""
    params: dict[str, int | str] = {
        "Det.limit_type": "max",
        "Det.limit_side_len": detection_side,
        "Rec.rec_batch_num": 1,
    }
    if threads > 0:
        params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
        params["EngineConfig.onnxruntime.inter_op_num_threads"] = 1
    return params


def ocr_engine() -> RapidOCR:
    """The process's one OCR engine (model loading costs more than reading a card)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                from django.conf import settings
                from rapidocr import RapidOCR

                _engine = RapidOCR(params=ocr_params(settings.ECANCEL_OCR_THREADS, settings.ECANCEL_OCR_DETECTION_SIDE))
                # The engine sets its own logger to INFO when it loads; its model paths are not worth a log line.
                logging.getLogger("RapidOCR").setLevel(logging.WARNING)
    return _engine


def ocr_lines(image: np.ndarray) -> list[OcrLine]:
    """The text boxes found in an RGB image, each with its bounding rectangle."""
    from rapidocr.utils.output import RapidOCROutput

    result = ocr_engine()(faces.as_rgb(image))
    if not isinstance(result, RapidOCROutput) or result.txts is None or result.boxes is None:
        return []
    lines = []
    for text, box in zip(result.txts, result.boxes, strict=True):
        xs, ys = box[:, 0], box[:, 1]
        lines.append(OcrLine(str(text), int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())))
    return lines


def rows_of(lines: list[OcrLine]) -> list[str]:
    """Texts joined left to right per printed row (a box joins a row its vertical middle falls in)."""
    rows: list[list[OcrLine]] = []
    heights = sorted(line.bottom - line.top for line in lines)
    tallest = 2.5 * heights[len(heights) // 2] if heights else 0
    # A box much taller than the text is a guess made inside the portrait, not printed text.
    for line in sorted((line for line in lines if line.bottom - line.top <= tallest), key=lambda item: item.middle):
        for row in rows:
            first = row[0]
            if first.top <= line.middle <= first.bottom or line.top <= first.middle <= line.bottom:
                row.append(line)
                break
        else:
            rows.append([line])
    return [_clean("".join(item.text for item in sorted(row, key=lambda item: item.left))) for row in rows]


def _clean(text: str) -> str:
    """Full-width forms folded, spaces dropped (the OCR splits or joins them at will), colons removed."""
    return re.sub(r"[\s:：]", "", unicodedata.normalize("NFKC", text))


def _after(rows: list[str], label: str) -> tuple[int, str] | None:
    """The row index and the text after ``label`` in the first row containing it."""
    for index, row in enumerate(rows):
        position = row.find(label)
        if position >= 0:
            return index, row[position + len(label) :]
    return None


def _iso(year: str, month: str, day: str) -> str:
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return ""


_DOTTED_DATE = r"(\d{4})[.\-/年]?(\d{1,2})[.\-/月]?(\d{1,2})日?"
_PERIOD = re.compile(_DOTTED_DATE + r"[-—–~至]+(" + LONG_TERM + r"|\d{4}[.\-/年]?\d{1,2}[.\-/月]?\d{1,2}日?)")


def _validity(rows: list[str], fields: dict[str, str]) -> None:
    found = _after(rows, "有效期限")
    text = found[1] if found else "".join(rows)
    match = _PERIOD.search(text)
    if match is None:
        return
    fields["valid_from"] = _iso(*match.groups()[:3])
    end = match.group(4)
    if end == LONG_TERM:
        fields["valid_to"] = LONG_TERM
    else:
        end_parts = re.fullmatch(_DOTTED_DATE, end)
        fields["valid_to"] = _iso(*end_parts.groups()) if end_parts else ""


# A mark or two between the label and the value (「性别☑男」, 「性别：男」) is glare or a stroke misread, not text.
_SEX = r"性别[^\u4e00-\u9fff\d]{0,3}([男女])"


def _front_fields(rows: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    if found := _after(rows, "姓名"):
        fields["name"] = found[1]
    joined = "".join(rows)
    if sex := re.search(_SEX, joined):
        fields["sex"] = sex.group(1)
    if ethnicity := re.search(r"民族([^\d出住公]{1,6}?)(?=出生|$|\d)", joined):
        fields["ethnicity"] = ethnicity.group(1)
    if birth := re.search(r"出生" + _DOTTED_DATE, joined):
        fields["birth_date"] = _iso(*birth.groups())
    address = _after(rows, "住址")
    number_row = next((i for i, row in enumerate(rows) if re.search(r"\d{17}[\dXx]", row)), len(rows))
    if address:
        start, first = address
        following = [row for row in rows[start + 1 : number_row] if "公民身份" not in row]
        fields["address"] = first + "".join(following)
    if number_row < len(rows):
        number = re.search(r"\d{17}[\dXx]", rows[number_row])
        fields["number"] = number.group(0).upper() if number else ""
    return fields


def _back_fields(rows: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    if found := _after(rows, "签发机关"):
        fields["authority"] = found[1]
    _validity(rows, fields)
    return fields


def _permit_fields(kind: str, lines: list[OcrLine], rows: list[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    if found := _after(rows, "姓名"):
        fields["name"] = found[1]
    for line in lines:
        latin = unicodedata.normalize("NFKC", line.text).strip()
        if _LATIN_NAME.fullmatch(latin):
            fields["latin_name"] = re.sub(r"\s*,\s*", ", ", latin)
            break
    joined = "".join(rows)
    if birth := re.search(r"出生日期" + _DOTTED_DATE, joined):
        fields["birth_date"] = _iso(*birth.groups())
    if sex := re.search(_SEX, joined):
        fields["sex"] = sex.group(1)
    _validity(rows, fields)
    number_text = _after(rows, "证件号码")
    search_in = [number_text[1]] if number_text else rows
    for text in search_in:
        match = PERMIT_NUMBER_PATTERNS[kind].search(normalise_id_number(text))
        if match:
            fields["number"] = match.group(1)
            break
    return fields


# Look-alikes the OCR gives for MRZ characters, mapped by what the position may hold.
_MRZ_FILLERS = str.maketrans({"く": "<", "＜": "<", "«": "<", "‹": "<", "〈": "<", "(": "<", "{": "<", "[": "<"})
_TO_DIGIT = str.maketrans({"O": "0", "D": "0", "Q": "0", "U": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8"})
_TO_LETTER = str.maketrans({"0": "O", "1": "I", "2": "Z", "5": "S", "8": "B", "6": "G"})


def _mrz_candidate(text: str) -> str:
    return re.sub(r"\s", "", text.translate(_MRZ_FILLERS).upper())


def find_mrz(lines: list[OcrLine]) -> tuple[str, str] | None:
    """The two TD3 lines (44 characters each), look-alikes mapped by field; None when not found."""
    candidates = [
        (line, _mrz_candidate(line.text))
        for line in lines
        if 40 <= len(_mrz_candidate(line.text)) <= 48 and re.fullmatch(r"[A-Z0-9<]+", _mrz_candidate(line.text))
    ]
    candidates.sort(key=lambda item: item[0].top)
    first = next((i for i, (_, text) in enumerate(candidates) if text.startswith("P")), None)
    if first is None or first + 1 >= len(candidates):
        return None
    line1 = candidates[first][1].ljust(44, "<")[:44]
    line2 = candidates[first + 1][1].ljust(44, "<")[:44]
    line1 = line1[:2] + line1[2:].translate(_TO_LETTER)
    digits = _TO_DIGIT
    line2 = (
        line2[:9]
        + line2[9].translate(digits)
        + line2[10:13].translate(_TO_LETTER)
        + line2[13:20].translate(digits)
        + line2[20].replace("H", "M")
        + line2[21:28].translate(digits)
        + line2[28:42]
        + line2[42:44].translate(digits)
    )
    return line1, line2


def _mrz_date(text: str, *, today: date, future: bool) -> str:
    """An MRZ ``YYMMDD``: expiry dates lie in this century, birth dates not after today."""
    if not re.fullmatch(r"\d{6}", text):
        return ""
    yy = int(text[:2])
    century = 2000 if future or yy <= today.year % 100 else 1900
    return _iso(str(century + yy), text[2:4], text[4:6])


def _passport_fields(lines: list[OcrLine], today: date) -> tuple[dict[str, str], dict[str, bool], list[str]]:
    mrz = find_mrz(lines)
    if mrz is None:
        return {}, {"mrz_valid": False}, ["mrz_unreadable"]
    checker = TD3CodeChecker("\n".join(mrz))
    parsed = checker.fields()
    fields = {
        "surname": parsed.surname,
        "given_names": parsed.name,
        "number": parsed.document_number,
        "country": parsed.country,
        "nationality": parsed.nationality,
        "birth_date": _mrz_date(parsed.birth_date, today=today, future=False),
        "sex": parsed.sex,
        "expiry_date": _mrz_date(parsed.expiry_date, today=today, future=True),
        "mrz": "\n".join(mrz),
    }
    valid = bool(checker)
    return fields, {"mrz_valid": valid}, [] if valid else ["mrz_invalid"]


def _same_name(read: str, expected: str) -> bool:
    def fold(name: str) -> str:
        return re.sub(r"[\s,.<·•\-]", "", unicodedata.normalize("NFKC", name)).upper()

    return fold(read) == fold(expected)


def _check_number(kind: str, fields: dict[str, str], checks: dict[str, bool], reasons: list[str]) -> None:
    """The number's own validity and what it encodes (birth date, sex) against the printed fields."""
    number = fields.get("number", "")
    if not number:
        return
    id_type = IdType.MAINLAND_ID if kind == "id_card_front" else PERMIT_ID_TYPES.get(kind, IdType.PASSPORT)
    country = fields.get("country") if kind == "passport" else None
    try:
        fields["number"] = validate_id_number(id_type, number, issuing_country=country)
        checks["number_valid"] = True
    except IdNumberInvalid:
        checks["number_valid"] = False
        reasons.append("number_invalid")
        return
    number = fields["number"]
    encoded_birth = ""  # YYYYMMDD in 18-character numbers, YYMMDD in the 2017 15-character card
    if id_type in (IdType.MAINLAND_ID, IdType.FOREIGN_PERMANENT_RESIDENT):
        encoded_birth = number[6:14] if len(number) == 18 else number[7:13]
    if encoded_birth and fields.get("birth_date"):
        checks["birth_matches_number"] = fields["birth_date"].replace("-", "").endswith(encoded_birth)
        if not checks["birth_matches_number"]:
            reasons.append("birth_mismatch")
    if id_type == IdType.MAINLAND_ID and fields.get("sex"):
        checks["sex_matches_number"] = ("男" if int(number[16]) % 2 else "女") == fields["sex"]
        if not checks["sex_matches_number"]:
            reasons.append("sex_mismatch")


def _check_validity(fields: dict[str, str], today: date, checks: dict[str, bool], reasons: list[str]) -> None:
    start = fields.get("valid_from")
    end = fields.get("expiry_date") or fields.get("valid_to")
    if start and date.fromisoformat(start) > today:
        checks["valid_yet"] = False
        reasons.append("not_yet_valid")
    if end and end != LONG_TERM:
        checks["not_expired"] = date.fromisoformat(end) >= today
        if not checks["not_expired"]:
            reasons.append("document_expired")


def _check_expected(
    kind: str,
    fields: dict[str, str],
    expected_name: str | None,
    expected_number: str | None,
    checks: dict[str, bool],
    reasons: list[str],
) -> None:
    if expected_name is not None and kind != "id_card_back":
        read_names = [fields.get("name", ""), fields.get("latin_name", "")]
        if kind == "passport":
            surname, given = fields.get("surname", ""), fields.get("given_names", "")
            read_names = [f"{surname} {given}", f"{given} {surname}"]
        checks["name_matches_expected"] = any(name and _same_name(name, expected_name) for name in read_names)
        if not checks["name_matches_expected"]:
            reasons.append("name_mismatch")
    if expected_number is not None and fields.get("number"):
        checks["number_matches_expected"] = normalise_id_number(expected_number) == fields["number"]
        if not checks["number_matches_expected"]:
            reasons.append("number_mismatch")


def reading_from_lines(
    kind: DocumentKind,
    lines: list[OcrLine],
    *,
    expected_name: str | None = None,
    expected_number: str | None = None,
    today: date,
    portrait_box: tuple[int, int, int, int] | None = None,
) -> DocumentReading:
    """The reading of OCR output already obtained (``read_document`` without the OCR and face steps)."""
    rows = rows_of(lines)
    checks: dict[str, bool] = {}
    reasons: list[str] = []
    if kind == "id_card_front":
        fields = _front_fields(rows)
    elif kind == "id_card_back":
        fields = _back_fields(rows)
    elif kind == "passport":
        fields, checks, reasons = _passport_fields(lines, today)
    else:
        fields = _permit_fields(kind, lines, rows)
    missing = [name for name in REQUIRED_FIELDS[kind] if not fields.get(name)]
    if kind == "passport" and "mrz_unreadable" in reasons:
        missing = []
    reasons.extend(f"missing_{name}" for name in missing)
    _check_number(kind, fields, checks, reasons)
    _check_validity(fields, today, checks, reasons)
    _check_expected(kind, fields, expected_name, expected_number, checks, reasons)
    return DocumentReading(
        kind=kind,
        fields=fields,
        checks=checks,
        reasons=tuple(reasons),
        portrait_box=portrait_box,
        passed=not reasons,
    )


def find_portrait(image: np.ndarray) -> tuple[int, int, int, int] | None:
    """The box of the printed portrait (the most confident face), for comparing with the buyer's face."""
    found = faces.detect_faces(image)
    if not found:
        return None
    best = found[0]
    return best.left, best.top, best.right, best.bottom


def _read_beside(image: np.ndarray, lines: list[OcrLine], *, label: str, next_label: str) -> list[OcrLine]:
    """The value printed right of ``label``, read again from that spot alone, enlarged.

    A one-character value (性别's 男 or 女) in glare is often not found at all on the whole card, while the same
    pixels cut out and doubled read cleanly. Nothing when the label itself was not read."""
    found = next((line for line in lines if line.text.startswith(label)), None)
    if found is None:
        return []
    height = found.bottom - found.top
    following = [
        line.left
        for line in lines
        if line.text.startswith(next_label) and found.top <= line.middle <= found.bottom and line.left > found.right
    ]
    right = min(following, default=found.right + 3 * height)
    top, bottom = max(0, found.top - height // 2), min(image.shape[0], found.bottom + height // 2)
    spot = image[top:bottom, found.right : min(right, image.shape[1])]
    if spot.size == 0:
        return []
    enlarged = np.asarray(
        Image.fromarray(spot).resize((spot.shape[1] * 2, spot.shape[0] * 2), Image.Resampling.BICUBIC)
    )
    text = "".join(line.text for line in sorted(ocr_lines(enlarged), key=lambda line: line.left))
    return [OcrLine(text, found.right, found.top, right, found.bottom)] if text else []


def read_document(
    kind: DocumentKind,
    image: np.ndarray,
    *,
    expected_name: str | None = None,
    expected_number: str | None = None,
    today: date,
) -> DocumentReading:
    """What the document says and whether it holds together; ``passed`` only when no reason was found."""
    portrait = None if kind == "id_card_back" else find_portrait(image)
    lines = ocr_lines(image)
    if kind == "id_card_front" and "sex" not in _front_fields(rows_of(lines)):
        lines += _read_beside(image, lines, label="性别", next_label="民族")
    return reading_from_lines(
        kind,
        lines,
        expected_name=expected_name,
        expected_number=expected_number,
        today=today,
        portrait_box=portrait,
    )
