"""Every identity provider through the same protocol: the local engine, Tencent Cloud (against the
fake API) and the null test double answer each operation with a well-formed outcome; a provider that
does not fails the same tests."""

from __future__ import annotations

import base64
from datetime import date

import pytest
from pytest_django import Settings

from ecancel.identity import liveness
from ecancel.identity.providers import SHORT_NAMES, identity_provider
from ecancel.identity.providers.base import FaceCapture, IdentityProvider, Outcome
from ecancel.identity.providers.null import NullProvider
from tests.identity import makers
from tests.identity.engine_support import face_crop, face_models, head_frames, jpeg
from tests.identity.tencent_fake import Answer, FakeTencent, fake_tencent

__all__ = ["face_models", "fake_tencent"]
pytestmark = pytest.mark.usefixtures("face_models")

TODAY = date(2026, 12, 4)
ID_NUMBER = "11010519491231002X"


@pytest.fixture(params=sorted(SHORT_NAMES))
def provider(request: pytest.FixtureRequest, settings: Settings) -> IdentityProvider:
    settings.ECANCEL_IDENTITY_PROVIDER = request.param
    if request.param == "tencent":
        fake: FakeTencent = request.getfixturevalue("fake_tencent")
        portrait = base64.b64encode(jpeg(face_crop())).decode()
        fake.answers["DetectAuth"] = Answer({"Url": "https://faceid.example/h5", "BizToken": "biz"})
        fake.answers["LivenessCompare"] = Answer({"Result": "Success", "Sim": 90.0})
        fake.answers["IDCardOCR"] = Answer({"Name": "张三", "IdNum": ID_NUMBER, "AdvancedInfo": "{}"})
        fake.answers["GetDetectInfoEnhanced"] = Answer(
            {"Text": {"ErrCode": 0, "LiveStatus": 0, "Comparestatus": 0, "Sim": "90", "Extra": "nonce-1"}},
        )
        fake.answers["GetDetectInfoEnhanced"].body["BestFrame"] = {"BestFrame": portrait}
    return identity_provider()


def well_formed(outcome: Outcome) -> None:
    assert outcome.decision in ("passed", "failed", "unusable")
    assert outcome.model and outcome.model_version
    assert all(isinstance(code, str) and code for code in outcome.reasons)
    assert outcome.passed == (outcome.decision == "passed")
    assert outcome.passed or outcome.reasons, "a failure always says why"
    assert all(isinstance(value, float) for value in outcome.scores.values())


def test_face_check(provider: IdentityProvider) -> None:
    started = provider.start_face_check(
        action="turn_left", nonce="nonce-1", return_url="https://ecancel.example/back", name="张三", id_number=ID_NUMBER
    )
    assert started.nonce == "nonce-1"
    assert started.redirect_url or started.action in liveness.ACTIONS
    frames = tuple(jpeg(frame) for frame in head_frames("turn_left"))
    capture = FaceCapture() if started.redirect_url else FaceCapture(frames=frames)
    outcome = provider.finish_face_check(start=started, capture=capture, reference=jpeg(face_crop()), previous=None)
    well_formed(outcome)
    assert outcome.passed, outcome


def test_face_check_judges_captures_not_claims(provider: IdentityProvider) -> None:
    """A capture that shows no action cannot pass on the local engine, whatever the page said."""
    started = provider.start_face_check(
        action="nod", nonce="nonce-1", return_url="https://x", name="张三", id_number=ID_NUMBER
    )
    frames = tuple(jpeg(frame) for frame in head_frames("still"))
    capture = FaceCapture() if started.redirect_url else FaceCapture(frames=frames)
    outcome = provider.finish_face_check(start=started, capture=capture, reference=jpeg(face_crop()), previous=None)
    well_formed(outcome)
    if provider.name == "local":
        assert outcome.reasons == ("no_motion",)


def test_read_document(provider: IdentityProvider) -> None:
    card = makers.to_jpeg(makers.render_id_card_front())
    well_formed(provider.read_document(kind="id_card_front", image=card, today=TODAY))


def test_check_video(provider: IdentityProvider) -> None:
    video = makers.make_video(3, size=(320, 240))
    outcome = provider.check_video(
        video=video, text="本人自愿申请注销商品房买卖合同，核验码123456", portrait=jpeg(face_crop())
    )
    well_formed(outcome)


def test_compare(provider: IdentityProvider) -> None:
    outcome = provider.compare(image_a=jpeg(face_crop()), image_b=jpeg(face_crop(), quality=40))
    well_formed(outcome)
    assert outcome.passed


class CarelessProvider(NullProvider):
    """Refuses a comparison without saying why or with what."""

    def compare(self, *, image_a: bytes, image_b: bytes) -> Outcome:
        return Outcome(decision="failed", reasons=(), model="", model_version="")


def test_the_contract_catches_a_provider_that_does_not_say_why(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = f"{__name__}.CarelessProvider"
    with pytest.raises(AssertionError):
        test_compare(identity_provider())


def test_the_setting_takes_a_short_name_or_a_dotted_path(settings: Settings) -> None:
    settings.ECANCEL_IDENTITY_PROVIDER = "ecancel.identity.providers.null.NullProvider"
    assert identity_provider().name == "null"
    settings.ECANCEL_IDENTITY_PROVIDER = "tencent"
    assert identity_provider().name == "tencent"
    assert identity_provider("local").name == "local"
