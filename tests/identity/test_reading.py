"""Reading rendered documents: fields extracted by OCR, numbers validated, cross-checks with reason codes.

OCR takes most of the time, so each rendered document is read once (``_lines``) and the variants
(a wrong expected name, an edited birth date, a later "today") are judged from those lines.
"""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date

import numpy as np
import pytest

from ecancel.identity import reading
from ecancel.identity.id_numbers import make_foreign_permanent_resident_2023, make_mainland_id
from ecancel.identity.reading import OcrLine, read_document, reading_from_lines
from tests.identity import makers

TODAY = date(2026, 12, 4)
_read: dict[str, list[OcrLine]] = {}
_real_ocr = reading.ocr_lines


def _lines(image: np.ndarray) -> list[OcrLine]:
    key = hashlib.sha256(image.tobytes()).hexdigest()
    if key not in _read:
        _read[key] = _real_ocr(image)
    return _read[key]


@pytest.fixture
def cached_ocr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reading, "ocr_lines", _lines)


def _edited(lines: list[OcrLine], old: str, new: str) -> list[OcrLine]:
    """The same OCR output with one text changed, as if the card had printed ``new``."""
    assert any(old in line.text for line in lines), old
    return [dataclasses.replace(line, text=line.text.replace(old, new)) for line in lines]


def _inside(box: tuple[int, int, int, int] | None, area: tuple[int, int, int, int]) -> bool:
    assert box is not None
    return area[0] <= box[0] < box[2] <= area[2] and area[1] <= box[1] < box[3] <= area[3]


# Resident ID card.

FRONT = makers.IdCardFront()
PHONE_FRONT = makers.phone_photo(makers.render_id_card_front(FRONT))


def test_the_front_of_an_id_card_photographed_by_a_phone_is_read_and_checked(cached_ocr: None) -> None:
    result = read_document(
        "id_card_front", PHONE_FRONT, expected_name="张伟", expected_number=FRONT.number, today=TODAY
    )
    assert result.passed, result.reasons
    assert result.fields["number"] == FRONT.number  # exact, never approximately
    assert result.fields["name"] == "张伟"
    assert result.fields["sex"] == "男"
    assert result.fields["ethnicity"] in {"汉", "漢"}  # the OCR has been seen to read 汉 as 漢
    assert result.fields["birth_date"] == "1990-03-07"
    assert result.fields["address"] == FRONT.address
    assert result.checks == {
        "number_valid": True,
        "birth_matches_number": True,
        "sex_matches_number": True,
        "name_matches_expected": True,
        "number_matches_expected": True,
    }
    assert _inside(result.portrait_box, (560, 60, 830, 420))  # the portrait's place, turned 3°


def test_what_the_buyer_typed_is_compared_with_the_card() -> None:
    lines = _lines(PHONE_FRONT)
    other_number = make_mainland_id("440106", date(1990, 3, 7), 3)
    result = reading_from_lines(
        "id_card_front", lines, expected_name="张伟明", expected_number=other_number, today=TODAY
    )
    assert result.reasons == ("name_mismatch", "number_mismatch")
    assert not result.passed


def test_a_number_disagreeing_with_the_printed_birth_date_and_sex() -> None:
    lines = _edited(_edited(_lines(PHONE_FRONT), "1990年3月7日", "1991年3月7日"), "男", "女")
    result = reading_from_lines("id_card_front", lines, today=TODAY)
    assert result.reasons == ("birth_mismatch", "sex_mismatch")


@pytest.mark.parametrize("misread", ["☑男", "：男", "| 男"])
def test_a_stray_mark_read_before_the_sex_is_passed_over(misread: str) -> None:
    """Glare on a phone photo was read as 「☑男」 now and then, and the card refused as unreadable."""
    result = reading_from_lines("id_card_front", _edited(_lines(PHONE_FRONT), "男", misread), today=TODAY)
    assert result.fields["sex"] == "男"
    assert result.passed, result.reasons


def test_a_sex_the_ocr_missed_is_read_again_beside_its_label(monkeypatch: pytest.MonkeyPatch) -> None:
    """On glare the OCR found no 男 or 女 at all now and then (6 of 50 phone-like cards); cut out and enlarged, it
    reads."""
    without_value = [line for line in _lines(PHONE_FRONT) if line.text != "男"]
    monkeypatch.setattr(reading, "ocr_lines", lambda image: without_value if image is PHONE_FRONT else _lines(image))
    result = read_document("id_card_front", PHONE_FRONT, today=TODAY)
    assert result.fields["sex"] == "男"
    assert result.passed, result.reasons


def test_a_number_with_a_wrong_check_character_is_invalid() -> None:
    result = reading_from_lines("id_card_front", _edited(_lines(PHONE_FRONT), "001X", "0015"), today=TODAY)
    assert result.reasons == ("number_invalid",)


def test_a_front_without_a_readable_number() -> None:
    lines = [line for line in _lines(PHONE_FRONT) if FRONT.number not in line.text]
    assert reading_from_lines("id_card_front", lines, today=TODAY).reasons == ("missing_number",)


BACK = makers.render_id_card_back("广州市公安局天河分局", date(2016, 12, 20), date(2026, 12, 20))


def test_the_back_gives_authority_and_validity_and_flags_expiry(cached_ocr: None) -> None:
    result = read_document("id_card_back", BACK, today=TODAY)
    assert result.passed, result.reasons
    assert result.fields == {"authority": "广州市公安局天河分局", "valid_from": "2016-12-20", "valid_to": "2026-12-20"}
    assert result.portrait_box is None
    expired = reading_from_lines("id_card_back", _lines(BACK), today=date(2026, 12, 21))
    assert expired.reasons == ("document_expired",) and expired.checks["not_expired"] is False
    long_term = reading_from_lines("id_card_back", _edited(_lines(BACK), "2026.12.20", "长期"), today=date(2060, 1, 1))
    assert long_term.passed and long_term.fields["valid_to"] == "长期"


# Passports.

PASSPORT = makers.Passport()
PASSPORT_PAGE = makers.render_passport_page(PASSPORT)


def test_a_passport_is_read_from_its_mrz(cached_ocr: None) -> None:
    result = read_document(
        "passport", PASSPORT_PAGE, expected_name="John Paul Smith", expected_number="123456789", today=TODAY
    )
    assert result.passed, result.reasons
    fields = result.fields
    assert (fields["surname"], fields["given_names"], fields["number"]) == ("SMITH", "JOHN PAUL", "123456789")
    assert (fields["nationality"], fields["birth_date"], fields["sex"]) == ("GBR", "1985-11-02", "M")
    assert fields["expiry_date"] == "2031-06-30"
    assert result.checks["mrz_valid"] and result.checks["number_valid"]
    assert _inside(result.portrait_box, (60, 150, 360, 520))


def _mrz_lines(line1: str, line2: str) -> list[OcrLine]:
    return [OcrLine(line1, 30, 690, 1200, 740), OcrLine(line2, 30, 760, 1200, 810)]


def test_mrz_look_alikes_are_mapped_by_field() -> None:
    line1, line2 = makers.td3_lines(PASSPORT)
    ocr1 = line1.replace("<", "く").replace("JOHN", "J0HN")  # fillers read as kana, O read as zero
    ocr2 = line2.replace("8511021", "B5I1O2I").replace("<", "く")  # digits read as letters in the birth date
    result = reading_from_lines("passport", _mrz_lines(ocr1, ocr2), today=TODAY)
    assert result.passed, result.reasons
    assert result.fields["given_names"] == "JOHN PAUL" and result.fields["birth_date"] == "1985-11-02"


def test_a_wrong_check_digit_an_expired_passport_and_a_missing_mrz() -> None:
    line1, line2 = makers.td3_lines(PASSPORT)
    assert reading_from_lines("passport", _mrz_lines(line1, "9" + line2[1:]), today=TODAY).reasons == ("mrz_invalid",)
    expired = reading_from_lines("passport", _mrz_lines(line1, line2), today=date(2031, 7, 1))
    assert expired.reasons == ("document_expired",)
    other = reading_from_lines("passport", _mrz_lines(line1, line2), expected_name="SMITH JANE", today=TODAY)
    assert other.reasons == ("name_mismatch",)
    assert reading_from_lines("passport", [OcrLine("PASSPORT", 0, 0, 100, 30)], today=TODAY).reasons == (
        "mrz_unreadable",
    )


# Permits.

FPR_NUMBER = make_foreign_permanent_resident_2023("11", "840", date(1980, 5, 6), 1)
PERMITS = [
    makers.Permit(
        "hk_macau_permit",
        "陈大文",
        "CHAN, TAI MAN",
        "H12345678",
        date(1988, 1, 2),
        "男",
        date(2020, 1, 1),
        date(2030, 1, 1),
    ),
    makers.Permit(
        "taiwan_permit",
        "林志明",
        "LIN, CHIH MING",
        "12345678",
        date(1979, 9, 9),
        "男",
        date(2019, 1, 1),
        date(2029, 1, 1),
    ),
    makers.Permit(
        "foreign_permanent_residence",
        "史密斯",
        "SMITH, JOHN",
        FPR_NUMBER,
        date(1980, 5, 6),
        "男",
        date(2024, 1, 1),
        date(2034, 1, 1),
    ),
]


@pytest.mark.parametrize("permit", PERMITS, ids=[permit.kind for permit in PERMITS])
def test_permits_give_number_name_and_validity(permit: makers.Permit, cached_ocr: None) -> None:
    image = makers.render_permit(permit)
    result = read_document(
        permit.kind, image, expected_name=permit.latin_name, expected_number=permit.number, today=TODAY
    )
    assert result.passed, result.reasons
    assert result.fields["number"] == permit.number
    assert (result.fields["name"], result.fields["latin_name"]) == (permit.name, permit.latin_name)
    assert (result.fields["valid_from"], result.fields["valid_to"]) == (
        permit.valid_from.isoformat(),
        permit.valid_to.isoformat(),
    )
    assert result.checks["number_valid"] and result.checks["not_expired"]
    assert _inside(result.portrait_box, (40, 110, 250, 366))
    later = reading_from_lines(permit.kind, _lines(image), expected_number="H87654321", today=date(2035, 1, 1))
    assert later.reasons == ("document_expired", "number_mismatch")


def test_a_permanent_residence_number_disagreeing_with_the_birth_date() -> None:
    lines = _edited(_lines(makers.render_permit(PERMITS[2])), "1980.05.06", "1981.05.06")
    assert reading_from_lines("foreign_permanent_residence", lines, today=TODAY).reasons == ("birth_mismatch",)


def test_one_ocr_thread_by_default_and_none_forced_when_zero() -> None:
    from django.conf import settings

    assert settings.ECANCEL_OCR_THREADS == 1
    assert reading.ocr_params(1, 960)["EngineConfig.onnxruntime.intra_op_num_threads"] == 1
    assert "EngineConfig.onnxruntime.intra_op_num_threads" not in reading.ocr_params(0, 960)


def test_the_text_detector_searches_a_large_photo_at_the_configured_longest_side() -> None:
    """A phone's 4,000-pixel photo is searched for text at 960 pixels, not at 2,000 or more."""
    from django.conf import settings

    assert settings.ECANCEL_OCR_DETECTION_SIDE == 960
    detector = reading.ocr_engine()._load_det_model()
    searched = detector.get_preprocess()(np.zeros((3000, 4000, 3), dtype=np.uint8))
    assert max(searched.shape[2:]) <= 960
    small = detector.get_preprocess()(np.zeros((540, 856, 3), dtype=np.uint8))
    assert max(small.shape[2:]) <= 864, "a card photo smaller than the bound is not enlarged"


def test_text_boxes_are_recognised_one_at_a_time() -> None:
    """Not padded to the widest box of a batch (a passport's MRZ line)."""
    assert reading.ocr_engine()._load_rec_model().rec_batch_num == 1
