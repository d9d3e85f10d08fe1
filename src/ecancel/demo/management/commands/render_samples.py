"""ecancel render_samples DIR: every document of one demo case, rendered and signed, written to DIR.

With seeded demo data (``ecancel seed_demo``) the case is a seeded filed contract, its seller and a
seeded notary office (``demo.samples``); without it, the built-in 演示 case of ``documents.samples``.
Nothing is stored in the database: this is for reviewers and for the benchmark.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.models import OrganisationKind
from ecancel.core.commands import LocalisedCommand
from ecancel.demo.samples import builtin_organisation, received_materials, seeded_case
from ecancel.documents.models import DocumentKind
from ecancel.documents.render import render_document
from ecancel.documents.samples import DEMO_CASE, sample_documents
from ecancel.documents.services import DEFAULT_LEVEL, new_verification_code, sign_rendered


class Command(LocalisedCommand):
    help = "Render and sign every document for a demo contract into DIR (演示)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", type=Path)
        parser.add_argument("--contract", help="contract number of a seeded filed contract (default: the first)")
        parser.add_argument("--builtin", action="store_true", help="use the built-in demo case even if seeded")

    def handle(self, *args: Any, **options: Any) -> None:
        target: Path = options["directory"]
        target.mkdir(parents=True, exist_ok=True)
        seeded = None if options["builtin"] else seeded_case(options.get("contract"))
        if seeded is None:
            case = DEMO_CASE
            seller = builtin_organisation(DEMO_CASE.seller, OrganisationKind.DEVELOPER)
            office = builtin_organisation(DEMO_CASE.office, OrganisationKind.NOTARY_OFFICE)
            self.stdout.write(str(_("使用内置演示数据")))
        else:
            case, seller, office = seeded
            self.stdout.write(
                _("使用已初始化的演示合同 %(contract_no)s") % {"contract_no": case.contract["contract_no"]}
            )

        code = new_verification_code()
        documents = sample_documents(case, verification_code=code)
        signed: dict[str, bytes] = {}
        total = 0
        for index, sample in enumerate(documents, start=1):
            data = sample.data
            if sample.template == DocumentKind.INTAKE_RECORD:
                data = dict(data, materials=received_materials(signed, case))
            began = time.perf_counter()
            rendered = render_document(sample.template, data, images=sample.images)
            rendered_at = time.perf_counter()
            issuer = seller if sample.issuer == "seller" else office
            level = DEFAULT_LEVEL.get(sample.template, "B-T")
            with translation.override("zh-hans"):
                title = str(DocumentKind(sample.template).label)
            pdf = sign_rendered(rendered, issuer=issuer, level=level, title=title)
            signed_at = time.perf_counter()
            signed[sample.template] = pdf
            path = target / f"{index:02d}-{sample.template}.pdf"
            path.write_bytes(pdf)
            total += len(pdf)
            self.stdout.write(
                f"{path}  {title}  {len(pdf):,} bytes  sha256 {hashlib.sha256(pdf).hexdigest()}  "
                f"{rendered.page_count} pages  render {1000 * (rendered_at - began):.0f} ms  "
                f"sign {level} {1000 * (signed_at - rendered_at):.0f} ms"
            )
        self.stdout.write(f"{len(documents)} documents, {total:,} bytes, verification code {code}")
