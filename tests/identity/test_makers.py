"""The test data is what it claims to be: one person in a same-person pair, MRZ lines with valid check digits."""

from __future__ import annotations

from mrz.checker.td3 import TD3CodeChecker

from ecancel.identity.faces import compare_faces
from tests.identity import makers


def test_a_same_person_pair_is_one_person_in_two_different_pictures() -> None:
    first, second = makers.same_person_pair()
    assert first.shape != second.shape
    result = compare_faces(first, second)
    assert result.same_person, result


def test_td3_lines_have_valid_check_digits() -> None:
    line1, line2 = makers.td3_lines(makers.Passport())
    assert len(line1) == len(line2) == 44
    assert TD3CodeChecker(f"{line1}\n{line2}")


def test_phone_distortions_change_the_picture_but_keep_it_a_picture() -> None:
    card = makers.render_id_card_front()
    photo = makers.phone_photo(card)
    assert photo.dtype == card.dtype and photo.ndim == 3
    assert photo.shape[0] > card.shape[0]  # turned, so the bounding box grew
    assert makers.with_glare(card).mean() > card.mean()
