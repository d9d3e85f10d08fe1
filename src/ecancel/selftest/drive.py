"""The self-test's case, driven over HTTP as the seller's system, two buyers' phones and a notary would drive it.

Only public interfaces are used, so the filing side and the notary side may be two deployments, and each may be
several servers behind one address: the filing API with the seller's token, the QR link and the buyers' pages with
the evidence from ``identity.specimens``, the staff login and the notary API, the certificate download and the
public verification page. Each step is timed; the first one that does not hold stops the run with what the
system answered.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

import httpx
import numpy as np
from django.utils.translation import gettext as _

from ecancel.identity import specimens
from ecancel.selftest.provision import PASSPORT, Credentials

PHONE_AGENT = "Mozilla/5.0 (Linux; Android 14; ecancel-selftest) Mobile"
SETTLED_STATES = {"passed", "failed"}


class StepFailed(Exception):
    """A step whose outcome was not the expected one; ``detail`` is what the system said."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass
class StepResult:
    name: str
    ok: bool
    state: str
    seconds: float
    detail: str = ""


@dataclass
class Summary:
    ok: bool = False
    url: str = ""
    office: str = ""
    contract_no: str = ""
    application_no: str = ""
    case_number: str = ""
    certificate_no: str = ""
    certificate_file: str = ""
    verification: dict[str, Any] = field(default_factory=dict)
    steps: list[StepResult] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Pace:
    """How long to wait for the system between looks, and for how long at most (the worker does the slow parts)."""

    poll_seconds: float = 1.0
    limit_seconds: float = 300.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic


def visible_text(page: str, limit: int = 400) -> str:
    """A page's visible text, shortened: what a person would read there."""
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    text = html.unescape(re.sub(r"<[^>]+>", " ", text))
    return re.sub(r"\s+", " ", text).strip()[:limit]


def _hidden(page: str, name: str) -> str:
    found = re.search(rf'name="{re.escape(name)}" value="([^"]*)"', page)
    if found is None:
        raise StepFailed(_("页面缺少字段 %(name)s：%(text)s") % {"name": name, "text": visible_text(page)})
    return found.group(1)


def _answer_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}: {visible_text(response.text)}"
    if isinstance(body, dict) and "message" in body:
        return f"HTTP {response.status_code}: {body['message']} {body.get('fields') or ''}".strip()
    return f"HTTP {response.status_code}: {str(body)[:400]}"


class Browser:
    """One client of the site: its own cookies, CSRF token and Referer, as a browser sends them."""

    def __init__(
        self,
        base_url: str,
        *,
        agent: str = "ecancel-selftest",
        bearer: str = "",
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        headers = {"User-Agent": agent, "Accept-Language": "zh-hans"}
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        self.base_url = base_url.rstrip("/")
        self.client = httpx.Client(
            base_url=self.base_url, headers=headers, timeout=120, follow_redirects=False, transport=transport
        )

    def close(self) -> None:
        self.client.close()

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def page(self, path: str) -> str:
        response = self.get(path)
        if response.status_code != 200:
            raise StepFailed(_answer_detail(response))
        return response.text

    def _csrf(self) -> str:
        token = self.client.cookies.get("csrftoken")
        if token is None:
            raise StepFailed(_("网站未下发 CSRF Cookie：请检查 ECANCEL_PUBLIC_URL 与 HTTPS 设置"))
        return token

    def form(self, path: str, data: dict[str, str] | None = None, files: list[tuple[str, Any]] | None = None) -> str:
        """Post a page's form; the answer must send the browser on (302) to the next page, whose path is returned."""
        response = self.client.post(
            path,
            data={"csrfmiddlewaretoken": self._csrf(), **(data or {})},
            files=files,
            headers={"Referer": urljoin(self.base_url, path)},
        )
        if response.status_code != 302:
            raise StepFailed(_answer_detail(response))
        return urlparse(response.headers["Location"]).path

    def api(self, method: str, path: str, body: dict[str, Any] | None = None, expect: int = 200) -> Any:
        headers = {}
        if method != "GET" and "csrftoken" in self.client.cookies:
            headers = {"X-CSRFToken": self._csrf(), "Referer": urljoin(self.base_url, path)}
        response = self.client.request(method, path, json=body, headers=headers)
        if response.status_code != expect:
            raise StepFailed(f"{method} {path} → {_answer_detail(response)}")
        return response.json()


class SelfTest:
    """``url`` serves the filing side, ``notary_url`` (the same unless given) the notary side and its phones.

    ``transport`` makes the connection of each client (browser, phone, the seller's system): by default httpx's own.
    """

    def __init__(
        self,
        *,
        url: str,
        credentials: Credentials,
        out: Path,
        pace: Pace,
        notary_url: str = "",
        transport: Callable[[], httpx.BaseTransport | None] = lambda: None,
    ) -> None:
        self.url = url.rstrip("/")
        self.notary_url = notary_url.rstrip("/") or self.url
        self.credentials = credentials
        self.out = out
        self.pace = pace
        self.transport = transport
        self.summary = Summary(url=self.url, office=credentials.office_name)
        self.summary.contract_no = credentials.contract_no
        self.seller = self._browser(self.url, bearer=credentials.seller_token)
        self.application: dict[str, Any] = {}

    def _browser(self, url: str, *, agent: str = "ecancel-selftest", bearer: str = "") -> Browser:
        return Browser(url, agent=agent, bearer=bearer, transport=self.transport())

    # --- running ------------------------------------------------------------------------------------------

    def run(self) -> Summary:
        steps: list[tuple[str, Callable[[], str]]] = [
            ("create_and_push", self.create_and_push),
            ("qr", self.qr),
            ("buyer_mainland", lambda: self.buyer(1, mainland=True)),
            ("buyer_passport", lambda: self.buyer(2, mainland=False)),
            ("review_and_approve", self.approve),
            ("certificate_received", self.certificate),
            ("filing_cancelled", self.filing_cancelled),
            ("certificate_verified", self.verify),
        ]
        try:
            for name, step in steps:
                started = self.pace.clock()
                try:
                    state = step()
                except StepFailed as failed:
                    self._record(name, False, "", started, failed.detail)
                    return self.summary
                except httpx.HTTPError as failed:
                    self._record(
                        name,
                        False,
                        "",
                        started,
                        _("无法连接 %(url)s：%(error)s")
                        % {
                            "url": self.url,
                            "error": failed,
                        },
                    )
                    return self.summary
                self._record(name, True, state, started)
            self.summary.ok = True
            return self.summary
        finally:
            self.seller.close()

    def _record(self, name: str, ok: bool, state: str, started: float, detail: str = "") -> None:
        seconds = round(self.pace.clock() - started, 3)
        self.summary.steps.append(StepResult(name=name, ok=ok, state=state, seconds=seconds, detail=detail))

    def _until(self, what: str, look: Callable[[], Any], done: Callable[[Any], bool]) -> Any:
        """Look again every poll interval until ``done``; past the limit the last answer is the failure."""
        deadline = self.pace.clock() + self.pace.limit_seconds
        while True:
            seen = look()
            if done(seen):
                return seen
            if self.pace.clock() > deadline:
                raise StepFailed(
                    _("等待%(what)s超时（%(seconds)s 秒）") % {"what": what, "seconds": self.pace.limit_seconds}
                )
            self.pace.sleep(self.pace.poll_seconds)

    def _application(self) -> dict[str, Any]:
        self.application = self.seller.api("GET", f"/api/filing/applications/{self.application['id']}")
        return self.application

    # --- the filing side ----------------------------------------------------------------------------------

    def create_and_push(self) -> str:
        created = self.seller.api(
            "POST", "/api/filing/applications", {"contract_id": self.credentials.contract_id}, expect=201
        )
        self.application = created
        self.summary.application_no = created["number"]
        path = f"/api/filing/applications/{created['id']}"
        self.seller.api("PUT", f"{path}/reason", {"reason": "other", "detail": _("系统自检（ecancel selftest）")})
        office_id = self.credentials.office_id
        self.seller.api("PUT", f"{path}/notary-office", {"notary_office_id": office_id})
        checks = self.seller.api("GET", f"{path}/checks")
        failing = [c["label"] for c in checks if not c["ok"]]
        if failing:
            raise StepFailed(_("推送前检查未通过：%(checks)s") % {"checks": "、".join(failing)})
        pushed = self.seller.api("POST", f"{path}/push", {"version": created["version"], "notary_office_id": office_id})
        return str(pushed["status"])

    def qr(self) -> str:
        answered = self._until(
            _("公证处受理并返回二维码"),
            self._application,
            lambda a: a["qr"] is not None or a["status"] not in ("pushed", "awaiting_buyers"),
        )
        if answered["qr"] is None:
            raise StepFailed(
                _("公证处未受理：%(message)s") % {"message": answered["notary_message"] or answered["status"]}
            )
        self.summary.case_number = answered["qr"]["case_number"]
        return str(answered["status"])

    # --- the buyers' phones -------------------------------------------------------------------------------

    def buyer(self, position: int, *, mainland: bool) -> str:
        phone = self._browser(self.notary_url, agent=PHONE_AGENT)
        try:
            landing = phone.get(urlparse(self.application["qr"]["url"]).path)
            if landing.status_code != 302:
                raise StepFailed(_answer_detail(landing))
            phone.page("/b/")
            phone.form("/b/choose/", {"buyer": str(position)})
            phone.page("/b/consent/")
            after_consent = phone.form("/b/consent/", {"face_processing": "yes", "transfer": "yes"})
            if mainland:
                self._face_first(phone, after_consent)
            else:
                self._passport_first(phone, after_consent)
            self._read_documents(phone)
            photos = self._photos(phone, mainland=mainland)
            after_photos = phone.form("/b/uploads/", files=photos)
            signature = "data:image/png;base64," + base64.b64encode(specimens.signature_png()).decode()
            after_signature = phone.form(after_photos, {"signature": signature})
            if mainland:
                self._face(phone, after_signature)
            else:
                self._video(phone, after_signature)
                self._submit(phone)
            done = phone.page("/b/done/")
            if "申请成功" not in done:
                raise StepFailed(visible_text(done))
            return "submitted"
        finally:
            phone.close()

    def _face_first(self, phone: Browser, face_path: str) -> None:
        first = phone.page(face_path)
        if 'name="document_front"' in first:
            front = self._picture(specimens.render_id_card_front())
            phone.form("/b/face/reference/", files=[("document_front", _jpeg("id-front.jpg", front))])
            self._settle(phone, face_path, stay=True)
        self._face(phone, face_path)

    def _face(self, phone: Browser, face_path: str) -> None:
        camera = phone.page(face_path)
        action = re.search(r'data-liveness-action="([a-z_]+)"', camera)
        if action is None:
            raise StepFailed(_("人脸核验页面未给出动作：%(text)s") % {"text": visible_text(camera)})
        frames = [
            ("frames", (f"frame-{n}.jpg", self._picture(frame), "image/jpeg"))
            for n, frame in enumerate(specimens.head_frames(action.group(1)))
        ]
        phone.form(face_path, {"check": _hidden(camera, "check"), "nonce": _hidden(camera, "nonce")}, frames)
        self._settle(phone, face_path)

    def _passport_first(self, phone: Browser, kind_path: str) -> None:
        phone.page(kind_path)
        read_path = phone.form(kind_path, {"kind": "passport"})
        page = self._picture(specimens.render_passport_page(PASSPORT))
        phone.form(read_path, files=[("front", _jpeg("passport.jpg", page))])
        self._settle(phone, read_path)

    def _settle(self, phone: Browser, path: str, *, stay: bool = False) -> None:
        """Wait on a step's page while the worker checks what was sent: it moves on, or says why not."""

        def look() -> httpx.Response:
            return phone.get(path)

        def settled(response: httpx.Response) -> bool:
            if response.status_code == 302:
                return True
            if 'data-progress="failed"' in response.text:
                return True
            return stay and 'data-progress="waiting"' not in response.text

        response = self._until(_("身份核验结果"), look, settled)
        if 'data-progress="failed"' in response.text:
            raise StepFailed(visible_text(response.text))

    def _read_documents(self, phone: Browser) -> None:
        listing = phone.page("/b/read/")
        keys = re.findall(r'href="/b/doc/([a-z_]+)/"', listing)
        if len(keys) != 4:
            raise StepFailed(_("应有四份文书可阅读，页面列出 %(count)s 份") % {"count": len(keys)})
        for key in keys:
            shown = phone.get(f"/b/doc/{key}/")
            if shown.status_code != 200 or not shown.content.startswith(b"%PDF"):
                raise StepFailed(_answer_detail(shown))
        phone.form("/b/read/", {"agree": "yes"})

    def _photos(self, phone: Browser, *, mainland: bool) -> list[tuple[str, Any]]:
        wanted = re.findall(r'<input[^>]*type="file"[^>]*name="([a-z_]+)"', phone.page("/b/uploads/"))
        wanted += re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*type="file"', phone.page("/b/uploads/"))
        front = specimens.render_id_card_front() if mainland else specimens.render_passport_page(PASSPORT)
        pictures = {
            "document_front": self._picture(front),
            "document_back": self._picture(specimens.render_id_card_back()),
            "holding": self._picture(specimens.portrait()),
        }
        return [(slot, _jpeg(f"{slot}.jpg", pictures[slot])) for slot in dict.fromkeys(wanted) if slot in pictures]

    def _video(self, phone: Browser, video_path: str) -> None:
        recorder = phone.page(video_path)
        recording = specimens.make_video(15, variant=secrets.randbelow(1 << 30))
        phone.form(
            video_path,
            {"check": _hidden(recorder, "check"), "nonce": _hidden(recorder, "nonce")},
            [("video", ("reading.webm", recording, "video/webm"))],
        )
        self._settle(phone, video_path)

    def _submit(self, phone: Browser) -> None:
        phone.page("/b/submit/")
        phone.form("/b/submit/")
        self._settle(phone, "/b/submit/")

    @staticmethod
    def _picture(image: np.ndarray) -> bytes:
        """Each run's pictures differ in faint noise: the system refuses a capture it has seen before as a replay."""
        return specimens.to_jpeg(specimens.varied(image, secrets.randbits(64)))

    # --- the notary ---------------------------------------------------------------------------------------

    def approve(self) -> str:
        notary = self._browser(self.notary_url)
        try:
            self._login(notary)
            case = self._until(
                _("全部买受人提交后案件进入审核"),
                lambda: self._case(notary),
                lambda c: c is not None and c["status"] != "awaiting_buyers",
            )
            if case["status"] != "under_review":
                raise StepFailed(_("案件状态为「%(status)s」，不能审核") % {"status": case["status_label"]})
            approved = notary.api("POST", f"/api/notary/cases/{case['id']}/approve", {"confirmed": True})
            return str(approved["status"])
        finally:
            notary.close()

    def _login(self, notary: Browser) -> None:
        notary.page("/login/")
        credentials = self.credentials
        after = notary.form(
            "/login/", {"username": credentials.notary_username, "password": credentials.notary_password}
        )
        if after.rstrip("/").endswith("verify"):
            notary.page(after)
            notary.form(after, {"token": credentials.notary_authenticator.code()})

    def _case(self, notary: Browser) -> dict[str, Any] | None:
        found = notary.api("GET", f"/api/notary/cases?q={self.summary.case_number}")
        return next((c for c in found["items"] if c["case_number"] == self.summary.case_number), None)

    # --- back on the filing side --------------------------------------------------------------------------

    def certificate(self) -> str:
        answered = self._until(
            _("公证书送达网签备案系统"),
            self._application,
            lambda a: a["certificate"] is not None or a["status"] in ("refused", "abandoned"),
        )
        certificate = answered["certificate"]
        if certificate is None:
            raise StepFailed(_("申请状态为「%(status)s」，没有公证书") % {"status": answered["status_label"]})
        response = self.seller.get(f"/api/filing/applications/{answered['id']}/certificate.pdf")
        if response.status_code != 200:
            raise StepFailed(_answer_detail(response))
        if hashlib.sha256(response.content).hexdigest() != certificate["sha256"]:
            raise StepFailed(_("下载的公证书与登记的 SHA-256 不符"))
        self.out.mkdir(parents=True, exist_ok=True)
        target = self.out / f"{_file_safe(certificate['certificate_no'])}.pdf"
        target.write_bytes(response.content)
        self.summary.certificate_no = certificate["certificate_no"]
        self.summary.certificate_file = str(target)
        return str(answered["status"])

    def filing_cancelled(self) -> str:
        application = self._application()
        contract = self.seller.api("GET", f"/api/filing/contracts/{self.credentials.contract_id}")
        if application["status"] != "cancelled" or contract["status"] != "cancelled":
            raise StepFailed(
                _("申请「%(application)s」、合同「%(contract)s」：备案未注销")
                % {"application": application["status_label"], "contract": contract["status"]}
            )
        return f"application={application['status']} contract={contract['status']} unit={contract['unit']['status']}"

    def verify(self) -> str:
        certificate = self.application["certificate"]
        public = self._browser(self.notary_url)
        try:
            answer = public.get(
                f"/verify/?{httpx.QueryParams(no=certificate['certificate_no'], code=certificate['verification_code'])}"
            )
        finally:
            public.close()
        valid = answer.status_code == 200 and "verdict--ok" in answer.text
        self.summary.verification = {
            "url": certificate["verification_url"],
            "valid": valid,
            "signed_by": certificate["signed_by"],
        }
        if not valid:
            raise StepFailed(_answer_detail(answer))
        if "data-self-test" not in answer.text:
            raise StepFailed(_("验证页面没有说明这是不具有法律效力的系统自检文书"))
        return "valid"


def _jpeg(name: str, content: bytes) -> tuple[str, bytes, str]:
    return (name, content, "image/jpeg")


def _file_safe(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "certificate"
