"""The texts a buyer consents to: templates by kind and version, hashed as the zh-hans text of that version.

A new wording is a new version (a new template file); the hash recorded with each consent is over the
Simplified Chinese rendering of the version shown, whatever language the page was in, so the notary can
compare it with the template kept in the repository.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation

from ecancel.buyers.models import ConsentKind

CURRENT_VERSIONS = {ConsentKind.FACE_PROCESSING: "1", ConsentKind.TRANSFER_TO_NOTARY: "1"}


@dataclass(frozen=True)
class ConsentText:
    kind: str
    version: str
    text: str  # in the active language, for the page
    sha256: str  # of the zh-hans text


def _render(kind: str, version: str, office: str) -> str:
    return render_to_string(f"buyers/consents/{kind}_{version}.txt", {"office": office}).strip()


def consent_text(kind: str, *, office: str, version: str | None = None) -> ConsentText:
    version = version or CURRENT_VERSIONS[ConsentKind(kind)]
    with translation.override("zh-hans"):
        source = _render(kind, version, office)
    return ConsentText(
        kind=kind,
        version=version,
        text=_render(kind, version, office),
        sha256=hashlib.sha256(source.encode()).hexdigest(),
    )
