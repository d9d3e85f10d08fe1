"""The public /verify/ page: anyone may check a PDF, or look a certificate up by number and code.

No login. Wrong codes and uploads are counted per IP address by the shared rate limiter, so codes
cannot be guessed and nobody makes the server check PDFs without end; a lookup shows the stored
document's signature report and hash, never the document itself, which holds personal data.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext, client_ip
from ecancel.core.errors import Text
from ecancel.core.ratelimit import RateLimited, Rule, rate_limiter, with_retry_after
from ecancel.documents.models import StoredDocument
from ecancel.documents.selectors import document_find_by_code, document_has_newer_version
from ecancel.documents.services import document_read
from ecancel.documents.verification import NotAPdf, PdfVerification, verify_pdf

CODE_REFUSED = "documents.verification.code_refused"
CODE_ACCEPTED = "documents.verification.code_accepted"
UPLOADED = "documents.verification.uploaded"


def upload_rule() -> Rule:
    return Rule("verify-upload", settings.ECANCEL_VERIFY_MAX_UPLOADS, settings.ECANCEL_VERIFY_UPLOAD_WINDOW)


def wrong_code_rule() -> Rule:
    return Rule("verify-code", settings.ECANCEL_VERIFY_MAX_FAILURES, settings.ECANCEL_VERIFY_FAILURE_WINDOW)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("PDF 文件"))


class LookupForm(forms.Form):
    no = forms.CharField(label=_("文书编号（公证书编号）"), max_length=64, strip=True)
    code = forms.CharField(label=_("验证码"), max_length=40, strip=True)


@require_http_methods(["GET", "POST"])
def verify(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        return _upload(request)
    if "no" in request.GET or "code" in request.GET:
        return _lookup(request)
    return _page(request)


def _page(
    request: HttpRequest,
    *,
    upload: UploadForm | None = None,
    lookup: LookupForm | None = None,
    error: Text = "",
    status: int = 200,
) -> HttpResponse:
    context = {
        "upload_form": upload or UploadForm(),
        "lookup_form": lookup or LookupForm(),
        "error": error,
        "max_mb": settings.ECANCEL_VERIFY_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "documents/verify.html", context, status=status)


def _upload(request: HttpRequest) -> HttpResponse:
    limit = settings.ECANCEL_VERIFY_MAX_BYTES
    too_big = _("文件过大：最大 %(mb)s MB") % {"mb": limit // (1024 * 1024)}
    # Refuse an oversized body before Django spools it to disk.
    if _declared_length(request) > limit + 64 * 1024:
        return _page(request, error=too_big, status=413)
    ctx = RequestContext.of(request)
    uploads = rate_limiter().peek(upload_rule(), ctx.ip or "unknown")
    if uploads.exhausted:
        return _refuse(
            request,
            RateLimited(
                uploads,
                text=_("验证次数过多"),
            ),
        )
    form = UploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, upload=form, error=_("请选择要验证的 PDF 文件"), status=400)
    upload = form.cleaned_data["file"]
    if upload.size > limit:
        return _page(request, error=too_big, status=413)
    data = upload.read()
    rate_limiter().hit(upload_rule(), ctx.ip or "unknown")
    record_event(UPLOADED, data={"size": len(data)}, ctx=ctx)
    try:
        report = verify_pdf(data)
    except NotAPdf as exc:
        return _page(request, error=exc.message, status=400)
    return _result(request, report, file_name=upload.name or "")


def _declared_length(request: HttpRequest) -> int:
    """The body size the client declares; an unreadable header counts as none, as Django reads it."""
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _refuse(request: HttpRequest, refusal: RateLimited) -> HttpResponse:
    response = _page(request, error=refusal.message, status=refusal.http_status)
    return with_retry_after(response, refusal.retry_after)


def _lookup(request: HttpRequest) -> HttpResponse:
    ip = client_ip(request) or "unknown"
    earlier = rate_limiter().peek(wrong_code_rule(), ip)
    if earlier.exhausted:
        return _refuse(
            request,
            RateLimited(
                earlier,
                text=_("验证码错误次数过多"),
            ),
        )
    form = LookupForm(request.GET)
    if not form.is_valid():
        return _page(request, lookup=form, error=_("请填写文书编号和验证码"), status=400)
    number, code = form.cleaned_data["no"], form.cleaned_data["code"]
    ctx = RequestContext.of(request)
    document = document_find_by_code(number, code)
    if document is None:
        record_event(CODE_REFUSED, data={"reference_no": number}, ctx=ctx, result="refused")
        left = rate_limiter().hit(wrong_code_rule(), ip).left
        return _page(
            request,
            lookup=LookupForm(initial={"no": number}),
            error=_("文书编号或验证码不正确（还可尝试 %(left)s 次）") % {"left": left},
            status=404,
        )
    record_event(CODE_ACCEPTED, organisation=document.issuer, obj=document, ctx=ctx)
    report = verify_pdf(document_read(document))
    return _result(request, report, document=document)


def _result(
    request: HttpRequest, report: PdfVerification, *, file_name: str = "", document: StoredDocument | None = None
) -> HttpResponse:
    context: dict[str, Any] = {
        "report": report,
        "file_name": file_name,
        "document": document,
        "newer_version": document is not None and document_has_newer_version(document),
    }
    return render(request, "documents/verify_result.html", context)
