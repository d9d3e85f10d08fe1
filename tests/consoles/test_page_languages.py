"""Each main page speaks one language: no Chinese on an English page (outside names and data), no simplified-only
characters on a 繁體 page, no traditional-only ones on a 简体 page.

Names and data are masked first: every text value stored in the test's rows (and its masked form), and the
language switcher, which offers each language under its own name. Characters are judged by hanzidentifier.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Iterator
from html.parser import HTMLParser

import hanzidentifier
import pytest
from django.apps import apps
from django.db import models
from django.test import Client, RequestFactory
from django.utils import timezone, translation

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, OrganisationKind, Role, User
from ecancel.buyers.services import handoff_issue
from ecancel.cancellation.services.drafting import application_create
from ecancel.consoles.errors import server_error
from ecancel.core.context import RequestContext
from ecancel.identity.masking import mask_name
from ecancel.notary.models import CalendarDayKind, OfficeCalendarDay
from ecancel.notary.services.revoke import case_revoke
from tests.conftest import logged_in_client
from tests.factories import (
    DeveloperFactory,
    NotaryOfficeFactory,
    OrganisationFactory,
    UserFactory,
    contract_with_buyers,
)
from tests.notary.helpers import make_case
from tests.notary.review_data import submitted_buyer, under_review

pytestmark = pytest.mark.django_db

CTX = RequestContext(ip="127.0.0.1", user_agent="pytest", via="test")
LANGUAGES = {"zh-hans": "zh-CN", "zh-hant": "zh-TW", "en": "en"}
LANGUAGE_NAMES = ("简体中文", "繁體中文", "English")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")


class _Text(HTMLParser):
    """The text a person reads: element text and the attributes shown (titles, placeholders, labels, alt)."""

    SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "value"}

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        # Scripts and styles are not read; the logo's one character is the brand, like a name.
        if tag in {"script", "style"} or attributes.get("class") == "brand__mark":
            self._skipping.append(tag)
        if tag == "input" and attributes.get("type") == "hidden":
            return
        self.parts += [value for name, value in attrs if name in self.SHOWN_ATTRIBUTES and value]

    def handle_endtag(self, tag: str) -> None:
        if self._skipping and self._skipping[-1] == tag:
            self._skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def shown_text(body: str) -> str:
    parser = _Text()
    parser.feed(body)
    return "\n".join(parser.parts)


def stored_values() -> list[str]:
    """Every text value in the test's rows, longest first, with its masked forms: the names and data."""
    values: set[str] = set()
    for model in apps.get_models():
        if not model.__module__.startswith("ecancel."):
            continue
        fields = [f.name for f in model._meta.concrete_fields if isinstance(f, models.CharField | models.TextField)]
        if not fields:
            continue
        for row in model.objects.values_list(*fields):
            values.update(v for v in row if isinstance(v, str) and CJK.search(v))
    values |= {mask_name(v) for v in values if len(v) <= 5}
    return sorted(values, key=len, reverse=True)


def foreign_words(text: str, lang: str) -> list[str]:
    """Characters a page in ``lang`` should not show, with some context."""
    for value in (*stored_values(), *LANGUAGE_NAMES):
        text = text.replace(value, " ")
    found = []
    for match in CJK.finditer(text):
        char = match.group()
        wrong = (
            lang == "en"
            or (lang == "zh-hant" and hanzidentifier.identify(char) == hanzidentifier.SIMPLIFIED)
            or (lang == "zh-hans" and hanzidentifier.identify(char) == hanzidentifier.TRADITIONAL)
        )
        if wrong:
            found.append(text[max(match.start() - 12, 0) : match.end() + 12].replace("\n", " "))
    return found


@pytest.fixture
def world(operator: User, notary_clerk: User, developer: Organisation, notary_office: Organisation) -> dict[str, str]:
    """One of each page's subjects: a draft application, a notary case, QR links valid, revoked, expired."""
    contract = contract_with_buyers(2, seller=developer)
    application = application_create(contract_id=contract.pk, actor=Actor.staff(operator), ctx=CTX)
    case = make_case(notary_office.notary_office, developer)
    valid = handoff_issue(case=case, actor=None, ctx=CTX)
    office = NotaryOfficeFactory(handoff_days=7)
    revoked = handoff_issue(case=make_case(office, DeveloperFactory().organisation), actor=None, ctx=CTX)
    case_revoke(case_id=revoked.token.case_id, actor=None, ctx=CTX)
    expired = handoff_issue(case=make_case(office, developer), actor=None, ctx=CTX)
    expired.token.expires_at = timezone.now() - dt.timedelta(minutes=1)
    expired.token.save(update_fields=["expires_at"])
    reviewed = under_review(make_case(notary_office.notary_office, developer))
    OfficeCalendarDay.objects.create(
        office=notary_office.notary_office, day=timezone.localdate(), kind=CalendarDayKind.HOLIDAY, note="国庆节"
    )
    submitted_buyer(reviewed, 1)
    submitted_buyer(reviewed, 2, video=b"\x1a\x45\xdf\xa3" + bytes(64), read_reasons=("document_expired",))
    return {
        "review": f"/notary/review/{reviewed.pk}/",
        "application": f"/operator/applications/{application.pk}/",
        "push": f"/operator/applications/{application.pk}/push/",
        "case": f"/notary/cases/{case.pk}/",
        "valid": f"/h/{valid.raw}",
        "revoked": f"/h/{revoked.raw}",
        "expired": f"/h/{expired.raw}",
    }


def pages(world: dict[str, str], operator: User, notary_clerk: User) -> Iterator[tuple[str, Callable[[str], str]]]:
    """(name, render in an Accept-Language) for each main page."""

    def get(client_for: Callable[[], Client], path: str, **extra: str) -> Callable[[str], str]:
        def render(accept: str) -> str:
            response = client_for().get(path, HTTP_ACCEPT_LANGUAGE=accept, follow=True, **extra)
            assert response.status_code < 500 or path == "/500/", (path, response.status_code)
            return response.content.decode()

        return render

    def server_error_page(accept: str) -> str:
        request = RequestFactory().get("/operator/contracts/", HTTP_ACCEPT_LANGUAGE=accept)
        with translation.override(translation.get_language_from_request(request)):
            return server_error(request).content.decode()

    def csrf_page(accept: str) -> str:
        client = logged_in_client(operator)
        client.handler.enforce_csrf_checks = True
        return client.post("/logout/", HTTP_ACCEPT_LANGUAGE=accept).content.decode()

    def push_refused(accept: str) -> str:
        # A draft that fails its checks: the refusal and every check's problem are shown.
        client = logged_in_client(operator)
        client.get(world["push"], HTTP_ACCEPT_LANGUAGE=accept)
        return client.post(world["push"], {}, HTTP_ACCEPT_LANGUAGE=accept, follow=True).content.decode()

    def api_error(accept: str) -> str:
        response = logged_in_client(operator).get(
            f"/api/filing/applications/{uuid.uuid4()}", HTTP_ACCEPT_LANGUAGE=accept
        )
        payload = response.json()
        assert response.status_code == 404 and payload["message_en"] and not CJK.search(payload["message_en"])
        return str(payload["message"])

    def api_validation(accept: str) -> str:
        response = logged_in_client(operator).post(
            "/api/filing/applications", data="{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE=accept
        )
        payload = response.json()
        assert response.status_code == 422
        return "\n".join([payload["message"], *(f["message"] for f in payload["fields"].values())])

    def operator_client() -> Client:
        return logged_in_client(operator)

    def notary_client() -> Client:
        return logged_in_client(notary_clerk)

    def filing_officer_client() -> Client:
        authority = OrganisationFactory(kind=OrganisationKind.FILING_AUTHORITY)
        return logged_in_client(UserFactory(organisation=authority, role=Role.FILING_OFFICER))

    def reviewer_client() -> Client:
        return logged_in_client(UserFactory(organisation=notary_clerk.organisation, role=Role.NOTARY_ADMIN))

    yield "login", get(Client, "/login/")
    yield "operator workbench", get(operator_client, "/operator/")
    yield "application list", get(operator_client, "/operator/applications/")
    yield "application detail (draft)", get(operator_client, world["application"])
    yield "push confirmation (draft)", get(operator_client, world["push"])
    yield "push refused", push_refused
    yield "notary case list", get(notary_client, "/notary/")
    yield "notary case detail", get(notary_client, world["case"])
    yield "review queue", get(reviewer_client, "/notary/review/")
    yield "review of a case", get(reviewer_client, world["review"])
    yield "office calendar", get(reviewer_client, "/notary/review/calendar/")
    yield "city view (filing officer)", get(filing_officer_client, "/filing/")
    yield "QR landing, valid", get(Client, world["valid"])
    yield "QR landing, revoked", get(Client, world["revoked"])
    yield "QR landing, expired", get(Client, world["expired"])
    yield "QR landing, unknown", get(Client, "/h/" + "x" * 43)
    yield "403", csrf_page
    yield "404", get(operator_client, "/no-such-page/")
    yield "500", server_error_page
    yield "API error", api_error
    yield "API validation error", api_validation


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_main_page_speaks_one_language(
    lang: str, world: dict[str, str], operator: User, notary_clerk: User
) -> None:
    problems = {}
    for name, render in pages(world, operator, notary_clerk):
        found = foreign_words(shown_text(render(LANGUAGES[lang])), lang)
        if found:
            problems[name] = found[:5]
    assert not problems, f"{lang}: text of another language on these pages:\n" + "\n".join(
        f"  {name}: {found}" for name, found in problems.items()
    )
