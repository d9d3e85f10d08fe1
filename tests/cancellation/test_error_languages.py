"""Refusals built from parts (a person, a nested ID problem, a list of checks) speak the language they are shown in.

Each is rendered in English and in 繁體 (a peer's refusal on the application page) and read with the
pages' own judge (names and data masked).
"""

from __future__ import annotations

import pytest
from django.utils import translation

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, User
from ecancel.cancellation.checks import raise_unless_ready
from ecancel.cancellation.models import Application
from ecancel.cancellation.services.drafting import application_set_applicants
from ecancel.cancellation.services.push import application_push
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.exchange.errors import REFUSALS
from ecancel.exchange.models import OutboxMessage
from ecancel.identity.id_numbers import IdType, validate_id_number
from tests.cancellation.test_drafting import inputs
from tests.conftest import logged_in_client
from tests.consoles.test_page_languages import LANGUAGES, foreign_words, shown_text

pytestmark = pytest.mark.django_db

SHOWN_IN = ("en", "zh-hant")


def shown(error: DomainError, lang: str) -> str:
    with translation.override(lang):
        return "\n".join([error.message, *(field.message for field in error.fields.values())])


def assert_one_language(error: DomainError) -> None:
    for lang in SHOWN_IN:
        text = shown(error, lang)
        assert not foreign_words(text, lang), (lang, text)


def test_a_drafting_refusal_about_an_applicant_is_in_one_language(
    application: Application, actor: Actor, ctx: RequestContext
) -> None:
    entered = inputs(application, **{"1": {"id_number": "11010519491231002"}, "2": {"phone": "x"}})
    with pytest.raises(DomainError) as refused:
        application_set_applicants(application_id=application.pk, applicants=entered, actor=actor, ctx=ctx)
    assert_one_language(refused.value)
    with translation.override("en"):
        assert "Applicant 1" in refused.value.fields["applicants.0.id_number"].message


def test_a_failed_pre_push_check_is_in_one_language(application: Application) -> None:
    applicant = application.applicants.order_by("position").first()
    assert applicant is not None
    applicant.id_number, applicant.phone = "11010519491231002", "x"
    applicant.save(update_fields=["id_number", "phone"])
    with pytest.raises(DomainError) as refused:
        raise_unless_ready(application)
    assert_one_language(refused.value)
    with translation.override("zh-hant"):
        assert "推送前檢查未通過" in refused.value.message


@pytest.mark.parametrize(
    ("id_type", "number"),
    [
        (IdType.MAINLAND_ID, "11010519491231002"),
        (IdType.MAINLAND_ID, "1101051949123100-X"),
        (IdType.MAINLAND_ID, "110105194913310021"),
        (IdType.HK_MACAO_PERMIT, "H1234567890"),
        (IdType.PASSPORT, "E1234"),
    ],
)
def test_an_id_number_reason_is_in_one_language(id_type: str, number: str) -> None:
    with pytest.raises(DomainError) as refused:
        validate_id_number(id_type, number, issuing_country="CHN" if id_type == IdType.PASSPORT else None)
    assert_one_language(refused.value)


@pytest.mark.parametrize("lang", SHOWN_IN)
def test_a_peer_refusal_is_shown_from_its_code_in_the_page_language(
    lang: str, ready_application: Application, notary_office: Organisation, operator: User
) -> None:
    application_push(
        application_id=ready_application.pk,
        notary_office_id=notary_office.pk,
        actor=Actor.staff(operator),
        ctx=RequestContext.system(),
    )
    # As the HTTP transport records the other deployment's answer: its code and English machine reason.
    OutboxMessage.objects.filter(stream=str(ready_application.pk)).update(
        status="failed", attempts=3, last_error="HTTP 401 bad_signature: The message signature does not verify"
    )
    response = logged_in_client(operator).get(
        f"/operator/applications/{ready_application.pk}/", HTTP_ACCEPT_LANGUAGE=LANGUAGES[lang]
    )
    text = shown_text(response.content.decode())
    with translation.override(lang):
        assert str(REFUSALS["bad_signature"]) in text
    assert not foreign_words(text, lang)
