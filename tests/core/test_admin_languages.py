"""The admin's section names (apps and models, ours and the libraries') follow the page's language."""

from __future__ import annotations

import pytest

from ecancel.accounts.models import Organisation, Role
from tests.conftest import logged_in_client
from tests.consoles.test_page_languages import LANGUAGES, foreign_words, shown_text
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("lang", ["en", "zh-hant"])
def test_the_admin_index_names_its_sections_in_one_language(lang: str, filing_authority: Organisation) -> None:
    admin = UserFactory(
        organisation=filing_authority, role=Role.SYSTEM_ADMIN, is_staff=True, is_superuser=True, username="sysadmin"
    )
    response = logged_in_client(admin).get("/admin/", HTTP_ACCEPT_LANGUAGE=LANGUAGES[lang])
    assert response.status_code == 200
    text = shown_text(response.content.decode())
    assert not foreign_words(text, lang), foreign_words(text, lang)
    if lang == "en":
        assert "Core" not in text.split() and "Otp_Totp" not in text
