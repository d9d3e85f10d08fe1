"""Document engine timings: typst per template, the certificate rendered and signed (B-LTA), and the
same two-page form through WeasyPrint in the same run.

    cd /work/main && uv run python benchmarks/documents.py [--runs 30]

Runs against a throw-away data directory (its own local CA and timestamp keys), prints a Markdown
table for docs/benchmarks.md, including sign + verify round trips (a once-random slowness, see
timestamps.py). Targets (issue 3): two-page form ≤ 20 ms, certificate render + sign
B-LTA ≤ 250 ms, typst ≥ 10× faster than WeasyPrint on the same form.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("ECANCEL_DATA_DIR", tempfile.mkdtemp(prefix="ecancel-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecancel.config.settings")
os.environ.setdefault("ECANCEL_LOG_LEVEL", "WARNING")

import django

django.setup()

import logging  # noqa: E402

import typst  # noqa: E402
from django.core.management import call_command  # noqa: E402

from ecancel.accounts.models import Organisation, OrganisationKind  # noqa: E402
from ecancel.documents import fonts  # noqa: E402
from ecancel.documents.render import PDF_STANDARD, _sources, render_document  # noqa: E402
from ecancel.documents.samples import DEMO_CASE, SampleDocument, sample_documents  # noqa: E402
from ecancel.documents.schemas import CancellationFormData  # noqa: E402
from ecancel.documents.services import sign_rendered  # noqa: E402
from ecancel.documents.signing import sign_pdf  # noqa: E402
from ecancel.documents.verification import verify_pdf  # noqa: E402

TIMESTAMP = dt.datetime(2026, 4, 10, 9, 30, tzinfo=dt.UTC)
FORM = "cancellation_form"


def median_ms(action: Callable[[], object], runs: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        action()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def one_shot_typst(sample: SampleDocument) -> bytes:
    """What rendering costs without a kept compiler: a fresh typst.compile() with fonts loaded anew."""
    import json

    payload = CancellationFormData.model_validate(sample.data).model_dump(mode="json")
    payload["_meta"] = {"template": FORM, "version": "bench", "title": "bench"}
    payload["_images"] = {}
    with tempfile.TemporaryDirectory() as root:
        for name, text in _sources().items():
            (Path(root) / name).write_text(text, encoding="utf-8")
        pdf = typst.compile(
            str(Path(root) / f"{FORM}.typ"),
            root=root,
            font_paths=[str(fonts.font_dir())],
            ignore_system_fonts=True,
            sys_inputs={"data": json.dumps(payload, ensure_ascii=False)},
            pdf_standards=PDF_STANDARD,
            timestamp=TIMESTAMP,
        )
    assert isinstance(pdf, bytes)
    return pdf


def form_html(data: dict[str, Any]) -> str:
    """The two-page 注销备案申请表 as HTML/CSS (documents_form.html): same content and layout as the typst one."""
    from django.template import Context, Template

    model = CancellationFormData.model_validate(data).model_dump(mode="json")

    def date(iso: str) -> str:
        y, m, d = (int(p) for p in iso.split("-"))
        return f"{y}年{m}月{d}日"

    template = Template((Path(__file__).parent / "documents_form.html").read_text(encoding="utf-8"))
    context = {
        "d": model,
        "k": model["contract"],
        "u": model["unit"],
        "s": model["seller"],
        "applied_on": date(model["applied_on"]),
        "signed_on": date(model["contract"]["signed_on"]),
        "filed_on": date(model["contract"]["filed_on"]),
    }
    return template.render(Context(context))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    runs = args.runs
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    call_command("migrate", verbosity=0)

    samples = {s.template: s for s in sample_documents()}
    rows: list[tuple[str, str, str]] = []

    for name, sample in samples.items():
        first_began = time.perf_counter()
        doc = render_document(name, sample.data, images=sample.images, timestamp=TIMESTAMP)
        first = (time.perf_counter() - first_began) * 1000
        warm = median_ms(
            lambda s=sample: render_document(s.template, s.data, images=s.images, timestamp=TIMESTAMP), runs
        )
        rows.append((f"render `{name}` ({doc.page_count} p.)", f"{warm:.1f} ms", f"first in process {first:.0f} ms"))

    form = samples[FORM]
    typst_form = median_ms(
        lambda: render_document(FORM, form.data, images=form.images, timestamp=TIMESTAMP), runs, warmup=3
    )
    one_shot = median_ms(lambda: one_shot_typst(form), max(5, runs // 3))
    rows.append(("2-page form, fresh `typst.compile()` per render", f"{one_shot:.1f} ms", "fonts loaded every time"))

    notary = Organisation(
        id=uuid.uuid5(uuid.NAMESPACE_URL, "bench-notary"),
        kind=OrganisationKind.NOTARY_OFFICE,
        name=DEMO_CASE.office["name"],
        address=DEMO_CASE.office["address"],
    )
    certificate = samples["certificate"]

    def certificate_issue() -> bytes:
        rendered = render_document("certificate", certificate.data, images=certificate.images, timestamp=TIMESTAMP)
        return sign_rendered(rendered, issuer=notary, level="B-LTA", title="公证书")

    sign_runs = max(5, runs // 3)
    cert_ms = median_ms(certificate_issue, sign_runs)
    form_sign = median_ms(
        lambda: sign_rendered(
            render_document(FORM, form.data, timestamp=TIMESTAMP), issuer=notary, level="B-T", title="申请表"
        ),
        sign_runs,
    )
    rows.append(("certificate (7 p., 7 photos) render + sign B-LTA", f"{cert_ms:.0f} ms", "target ≤ 250 ms"))
    rows.append(("2-page form render + sign B-T", f"{form_sign:.0f} ms", ""))
    form_pdf = render_document(FORM, form.data, timestamp=TIMESTAMP).pdf
    round_trips = []
    for number in range(12):
        began = time.perf_counter()
        signed = sign_pdf(form_pdf, organisation=notary, level="B-LTA" if number % 3 else "B-T")
        if not verify_pdf(signed).valid:
            raise SystemExit("a signature made here did not verify")
        round_trips.append((time.perf_counter() - began) * 1000)
    rows.append(
        (
            "sign + verify, 12 in a row (B-T and B-LTA)",
            f"{statistics.median(round_trips):.0f} ms",
            f"slowest {max(round_trips):.0f} ms; asn1crypto #256 once made single ones 6–30 s",
        )
    )

    from weasyprint import HTML

    markup = form_html(form.data)
    weasy_pages = len(HTML(string=markup).render().pages)
    weasy = median_ms(lambda: HTML(string=markup).write_pdf(), max(5, runs // 3), warmup=1)
    rows.append((f"2-page form, WeasyPrint ({weasy_pages} p.)", f"{weasy:.0f} ms", "same content, HTML/CSS"))
    ratio = weasy / typst_form
    rows.append(("WeasyPrint ÷ typst, same form", f"{ratio:.0f}×", "target ≥ 10×"))

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"# {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, typst-py "
        f"{typst.__version__}, {os.cpu_count()} cores, load average {load}; median of {runs} "
        f"(signing and WeasyPrint: {max(5, runs // 3)})"
    )
    print()
    print("| measurement | median | note |")
    print("|---|---|---|")
    for label, value, note in rows:
        print(f"| {label} | {value} | {note} |")
    print()
    checks = {
        "2-page form ≤ 20 ms": typst_form <= 20,
        "certificate render + sign B-LTA ≤ 250 ms": cert_ms <= 250,
        "≥ 10× faster than WeasyPrint": ratio >= 10,
    }
    for label, ok in checks.items():
        print(f"- {'met' if ok else 'MISSED'}: {label}")


if __name__ == "__main__":
    main()
