"""Tencent Cloud: the hosted face flow (DetectAuth → the person verifies in Tencent's H5 page →
GetDetectInfoEnhanced), LivenessCompare for the statement video, and IDCardOCR / PassportOCR /
MainlandPermitOCR for documents.

Configured by ``ECANCEL_TENCENT_SECRET_ID``, ``ECANCEL_TENCENT_SECRET_KEY``, ``ECANCEL_TENCENT_RULE_ID``,
``ECANCEL_TENCENT_REGION`` and ``ECANCEL_TENCENT_TIMEOUT``; ``ECANCEL_TENCENT_ENDPOINT`` (a URL) sends
every call to one other server instead (the tests' fake on 127.0.0.1).

Errors become either an ``Outcome`` (the service answered: the face did not match, the image holds no
card) or an exception: ``ProviderUnavailable`` for what may pass (RequestLimitExceeded, timeouts,
network and server errors: retry later) and ``ProviderRefused`` for what will not (credentials, rule,
parameters). Photo-to-photo comparison is not in these SDKs: ``compare`` runs on the local engine.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from datetime import date
from importlib.metadata import version
from typing import Any, TypeVar
from urllib.parse import urlsplit

from django.conf import settings
from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.faceid.v20180301 import faceid_client
from tencentcloud.faceid.v20180301 import models as faceid_models
from tencentcloud.ocr.v20181119 import models as ocr_models
from tencentcloud.ocr.v20181119 import ocr_client

from ecancel.identity.providers.base import (
    DocumentKind,
    FaceCapture,
    FaceStart,
    Outcome,
    ProviderRefused,
    ProviderUnavailable,
)
from ecancel.identity.providers.local import LocalProvider

TENCENT_SIMILARITY_THRESHOLD = 70.0  # fixed by Tencent (false accept 1 in 10 000); not adjustable
Response = TypeVar("Response")

# Business failures of the face services, as reason codes a buyer's message can be built from.
_FACE_FAILURES = {
    "FailedOperation.ActionCloseEye": "eyes_closed",
    "FailedOperation.ActionFaceClose": "face_too_close",
    "FailedOperation.ActionFaceFar": "face_too_far",
    "FailedOperation.ActionLightDark": "too_dark",
    "FailedOperation.ActionLightStrong": "too_bright",
    "FailedOperation.ActionNodetectFace": "no_face",
    "FailedOperation.CompareFail": "mismatch",
    "FailedOperation.CompareLowSimilarity": "mismatch",
    "FailedOperation.LifePhotoDetectFaces": "several_faces",
    "FailedOperation.LifePhotoDetectFake": "liveness_failed",
    "FailedOperation.LifePhotoDetectNoFaces": "no_face",
    "FailedOperation.LifePhotoPoorQuality": "poor_quality",
    "FailedOperation.LifePhotoSizeError": "poor_quality",
    "FailedOperation.LipFaceIncomplete": "face_incomplete",
    "FailedOperation.LipMoveSmall": "liveness_failed",
    "FailedOperation.LipNetFailed": "unreadable_video",
    "FailedOperation.LipSizeError": "unreadable_video",
    "FailedOperation.LipVideoInvalid": "unreadable_video",
    "FailedOperation.LipVideoQuaility": "poor_quality",
    "FailedOperation.LipVoiceDetect": "no_audio",
    "FailedOperation.LipVoiceLow": "silent",
    "FailedOperation.LivessBestFrameError": "liveness_failed",
    "FailedOperation.LivessDetectFail": "liveness_failed",
    "FailedOperation.LivessDetectFake": "liveness_failed",
    "FailedOperation.SilentDetectFail": "liveness_failed",
    "FailedOperation.SilentFaceDetectFail": "no_face",
    "FailedOperation.SilentFaceQualityFail": "poor_quality",
    "FailedOperation.SilentMultiFaceFail": "several_faces",
    "FailedOperation.SilentPictureFail": "unreadable_image",
    "FailedOperation.SilentThreshold": "liveness_failed",
    "FailedOperation.SilentTooShort": "too_short",
    "FailedOperation.VideoDurationExceeded": "too_long",
}
_OCR_FAILURES = {
    "FailedOperation.IdCardInfoIllegal": "document_unreadable",
    "FailedOperation.IdCardTooSmall": "document_too_small",
    "FailedOperation.ImageBlur": "blurry",
    "FailedOperation.ImageDecodeFailed": "unreadable_image",
    "FailedOperation.ImageNoIdCard": "no_document",
    "FailedOperation.ImageNoText": "no_document",
    "FailedOperation.ImageSizeTooLarge": "too_large",
    "FailedOperation.NoPassport": "no_document",
    "FailedOperation.OcrFailed": "document_unreadable",
    "FailedOperation.UnKnowError": "document_unreadable",
    "FailedOperation.UnOpenError": "provider_not_enabled",
}
_UNAVAILABLE_PREFIXES = ("RequestLimitExceeded", "FailedOperation.RequestLimitExceeded", "InternalError")
_REFUSED_PREFIXES = ("AuthFailure", "UnauthorizedOperation", "ResourceUnavailable", "UnsupportedOperation")
_OCR_KINDS = {"hk_macau_permit": "港澳居民来往内地通行证", "taiwan_permit": "台湾居民来往大陆通行证"}


def _endpoint(service: str) -> tuple[str, str]:
    """(host[:port], scheme) for one Tencent service, honouring ``ECANCEL_TENCENT_ENDPOINT``."""
    override = getattr(settings, "ECANCEL_TENCENT_ENDPOINT", "")
    if override:
        parts = urlsplit(override)
        return parts.netloc, parts.scheme or "https"
    return f"{service}.tencentcloudapi.com", "https"


def _profile(service: str) -> ClientProfile:
    host, scheme = _endpoint(service)
    http = HttpProfile(protocol=scheme, endpoint=host, reqTimeout=float(settings.ECANCEL_TENCENT_TIMEOUT))
    return ClientProfile(httpProfile=http)


def _credential() -> credential.Credential:
    secret_id, secret_key = settings.ECANCEL_TENCENT_SECRET_ID, settings.ECANCEL_TENCENT_SECRET_KEY
    if not secret_id or not secret_key:
        raise ProviderRefused("not_configured", "ECANCEL_TENCENT_SECRET_ID and _SECRET_KEY must be set")
    return credential.Credential(secret_id, secret_key)


class FailedOperation(Exception):
    """Tencent answered with a business failure (the evidence was judged, and not favourably)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def call(send: Callable[[Any], Response], request: Any) -> Response:
    """One SDK call, its exceptions sorted into retryable, refused and business failures."""
    try:
        return send(request)
    except TencentCloudSDKException as exc:
        code, message = str(exc.get_code() or ""), str(exc.get_message() or "")
        if code == "ClientNetworkError":
            timed_out = "timed out" in message.lower() or "timeout" in message.lower()
            raise ProviderUnavailable("timeout" if timed_out else "network", message) from exc
        if code == "ServerNetworkError":
            raise ProviderUnavailable("server_error", message) from exc
        if code.startswith(_UNAVAILABLE_PREFIXES):
            throttled = "RequestLimitExceeded" in code
            raise ProviderUnavailable("throttled" if throttled else "server_error", f"{code}: {message}") from exc
        if code.startswith(_REFUSED_PREFIXES) or code in ("ClientError", "ClientParamsError"):
            raise ProviderRefused("refused", f"{code}: {message}") from exc
        if code.startswith(("FailedOperation", "InvalidParameter", "InvalidParameterValue")):
            raise FailedOperation(code, message) from exc
        raise ProviderRefused("unexpected", f"{code}: {message}") from exc


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _unb64(text: str | None) -> bytes | None:
    if not text:
        return None
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _date_end(valid: str | None) -> date | None:
    """The end of a validity range such as ``2015.07.21-2035.07.21``; None for 长期 or unreadable."""
    if not valid:
        return None
    digits = re.findall(r"(\d{4})\D?(\d{2})\D?(\d{2})", valid)
    if not digits or "长期" in valid.split("-")[-1]:
        return None
    year, month, day = (int(part) for part in digits[-1])
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _compact(text: str | None) -> str:
    return re.sub(r"\s+", "", text or "").upper()


class TencentProvider:
    """Tencent Cloud faceid + ocr (see the module docstring)."""

    name = "tencent"

    def _faceid(self) -> faceid_client.FaceidClient:
        return faceid_client.FaceidClient(_credential(), settings.ECANCEL_TENCENT_REGION, _profile("faceid"))

    def _ocr(self) -> ocr_client.OcrClient:
        return ocr_client.OcrClient(_credential(), settings.ECANCEL_TENCENT_REGION, _profile("ocr"))

    @staticmethod
    def _version(api: str) -> str:
        return f"{api}; tencentcloud-sdk-python-{api.split()[0]} {version(f'tencentcloud-sdk-python-{api.split()[0]}')}"

    def start_face_check(self, *, action: str, nonce: str, return_url: str, name: str, id_number: str) -> FaceStart:
        request = faceid_models.DetectAuthRequest()
        request.RuleId = settings.ECANCEL_TENCENT_RULE_ID
        request.IdCard = id_number
        request.Name = name
        request.RedirectUrl = return_url
        request.Extra = nonce  # comes back in the result: binds Tencent's verdict to our check
        try:
            response = call(self._faceid().DetectAuth, request)
        except FailedOperation as exc:
            raise ProviderRefused("refused", str(exc)) from exc
        if not response.Url or not response.BizToken:
            raise ProviderUnavailable("server_error", "DetectAuth answered without a URL or BizToken")
        return FaceStart(nonce=nonce, redirect_url=response.Url, external_ref=response.BizToken)

    def finish_face_check(
        self, *, start: FaceStart, capture: FaceCapture, reference: bytes | None, previous: bytes | None
    ) -> Outcome:
        """Ask Tencent for the result of the hosted flow; the page's own claims play no part."""
        model, model_version = "Tencent faceid DetectAuth", self._version("faceid 2018-03-01")
        request = faceid_models.GetDetectInfoEnhancedRequest()
        request.BizToken = start.external_ref
        request.RuleId = settings.ECANCEL_TENCENT_RULE_ID
        request.InfoType = "0"
        try:
            response = call(self._faceid().GetDetectInfoEnhanced, request)
        except FailedOperation as exc:
            reason = _FACE_FAILURES.get(exc.code, "liveness_failed")
            return Outcome("failed", (reason,), model, model_version, threshold=TENCENT_SIMILARITY_THRESHOLD)
        text = response.Text
        if text is None or text.ErrCode is None:
            raise ProviderUnavailable("not_finished", "the person has not finished the hosted flow yet")
        scores: dict[str, float] = {}
        if text.Sim not in (None, ""):
            scores["similarity"] = float(text.Sim)
        reasons: list[str] = []
        if text.Extra != start.nonce:
            reasons.append("nonce_mismatch")
        if text.LiveStatus not in (None, 0):
            reasons.append("liveness_failed")
        if text.Comparestatus not in (None, 0):
            reasons.append("mismatch")
        if int(text.ErrCode) != 0 and not reasons:
            reasons.append("liveness_failed")
        best = response.BestFrame.BestFrame if response.BestFrame is not None else None
        details = {"err_code": int(text.ErrCode), "err_msg": text.ErrMsg or "", "request_id": response.RequestId}
        return Outcome(
            "failed" if reasons else "passed",
            tuple(reasons),
            model,
            model_version,
            scores,
            TENCENT_SIMILARITY_THRESHOLD,
            details,
            portrait=_unb64(best),
        )

    def read_document(
        self,
        *,
        kind: DocumentKind,
        image: bytes,
        today: date,
        expected_name: str | None = None,
        expected_number: str | None = None,
    ) -> Outcome:
        model_version = self._version("ocr 2018-11-19")
        client = self._ocr()
        fields: dict[str, str]
        portrait: bytes | None = None
        try:
            if kind in ("id_card_front", "id_card_back"):
                model = "Tencent IDCardOCR"
                id_request = ocr_models.IDCardOCRRequest()
                id_request.ImageBase64 = _b64(image)
                id_request.CardSide = "FRONT" if kind == "id_card_front" else "BACK"
                id_request.Config = json.dumps({"CropPortrait": kind == "id_card_front"})
                id_card = call(client.IDCardOCR, id_request)
                fields = {
                    "name": id_card.Name or "",
                    "number": id_card.IdNum or "",
                    "sex": id_card.Sex or "",
                    "birth": id_card.Birth or "",
                    "authority": id_card.Authority or "",
                    "valid": id_card.ValidDate or "",
                }
                advanced = json.loads(id_card.AdvancedInfo) if id_card.AdvancedInfo else {}
                portrait = _unb64(advanced.get("Portrait"))
            elif kind == "passport":
                model = "Tencent PassportOCR"
                passport_request = ocr_models.PassportOCRRequest()
                passport_request.ImageBase64 = _b64(image)
                passport_request.Type = "TD3"
                passport = call(client.PassportOCR, passport_request)
                fields = {
                    "name": passport.Name or "",
                    "number": passport.PassportNo or "",
                    "nationality": passport.Nationality or "",
                    "birth": passport.BirthDate or "",
                    "valid": passport.ExpiryDate or "",
                }
            elif kind in _OCR_KINDS:
                model = "Tencent MainlandPermitOCR"
                permit_request = ocr_models.MainlandPermitOCRRequest()
                permit_request.ImageBase64 = _b64(image)
                permit_request.RetProfile = True
                permit = call(client.MainlandPermitOCR, permit_request)
                fields = {
                    "name": permit.Name or "",
                    "number": permit.Number or "",
                    "type": permit.Type or "",
                    "birth": permit.Birthday or "",
                    "valid": permit.ValidDate or "",
                }
                portrait = _unb64(permit.Profile)
            else:
                return Outcome("unusable", ("document_kind_unsupported",), "Tencent OCR", model_version)
        except FailedOperation as exc:
            reason = _OCR_FAILURES.get(exc.code, "document_unreadable")
            return Outcome("failed", (reason,), "Tencent OCR", model_version)
        checks = self._document_checks(kind, fields, today, expected_name, expected_number)
        reasons = tuple(name for name, ok in checks.items() if not ok)
        return Outcome(
            "failed" if reasons else "passed",
            reasons,
            model,
            model_version,
            details={"kind": kind, "fields": fields, "checks": checks},
            portrait=portrait,
        )

    @staticmethod
    def _document_checks(
        kind: str, fields: dict[str, str], today: date, expected_name: str | None, expected_number: str | None
    ) -> dict[str, bool]:
        """Reason code → whether that check held (only the checks that apply to what was read)."""
        checks: dict[str, bool] = {}
        if kind in _OCR_KINDS and fields.get("type"):
            checks["wrong_document"] = fields["type"] == _OCR_KINDS[kind]
        if kind != "id_card_front":
            end = _date_end(fields.get("valid"))
            checks["document_expired"] = end is None or end >= today
        if kind != "id_card_back":
            if not fields.get("number"):
                checks["document_unreadable"] = False
            if expected_number:
                checks["number_mismatch"] = _compact(fields.get("number")) == _compact(expected_number)
            if expected_name:
                checks["name_mismatch"] = _compact(fields.get("name")) == _compact(expected_name)
        return checks

    def check_video(self, *, video: bytes, text: str, portrait: bytes | None) -> Outcome:
        """LivenessCompare (silent mode) of the statement video against the document portrait."""
        model, model_version = "Tencent faceid LivenessCompare SILENT", self._version("faceid 2018-03-01")
        if portrait is None:
            return Outcome("unusable", ("no_reference",), model, model_version)
        request = faceid_models.LivenessCompareRequest()
        request.LivenessType = "SILENT"
        request.VideoBase64 = _b64(video)
        request.ImageBase64 = _b64(portrait)
        try:
            response = call(self._faceid().LivenessCompare, request)
        except FailedOperation as exc:
            reason = _FACE_FAILURES.get(exc.code, "liveness_failed")
            return Outcome("failed", (reason,), model, model_version, threshold=TENCENT_SIMILARITY_THRESHOLD)
        similarity = float(response.Sim or 0.0)
        reasons: list[str] = []
        if response.Result != "Success":
            reasons.append(_FACE_FAILURES.get(str(response.Result), "liveness_failed"))
        elif similarity < TENCENT_SIMILARITY_THRESHOLD:
            reasons.append("face_mismatch")
        return Outcome(
            "failed" if reasons else "passed",
            tuple(reasons),
            model,
            model_version,
            {"similarity": similarity},
            TENCENT_SIMILARITY_THRESHOLD,
            {"result": response.Result or "", "description": response.Description or "", "text": text},
        )

    def compare(self, *, image_a: bytes, image_b: bytes) -> Outcome:
        """Photo against photo on the local engine: Tencent's faceid offers no such call."""
        return LocalProvider().compare(image_a=image_a, image_b=image_b)
