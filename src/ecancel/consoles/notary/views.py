"""Notary console: the office's received cases, their materials, documents and QR status."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.auth import NOTARY_ROLES, staff_required, staff_user
from ecancel.accounts.models import OrganisationKind, Role
from ecancel.audit.services import record_event
from ecancel.buyers.services import handoff_state
from ecancel.consoles.notary.forms import CaseSearchForm
from ecancel.core.context import RequestContext
from ecancel.core.paging import DEFAULT_PAGE_SIZE
from ecancel.documents.downloads import document_response
from ecancel.notary.access import access_case
from ecancel.notary.downloads import material_response
from ecancel.notary.models import NotaryCase, PartyRole
from ecancel.notary.selectors import case_document_get, case_documents, case_handoff, case_list
from ecancel.notary.transitions import OPEN_STATUSES


def age_label(since: datetime, now: datetime) -> str:
    """How long ago, the way a clerk says it: 刚刚, 5 分钟前, 3 小时前, 2 天前."""
    seconds = max(0, int((now - since).total_seconds()))
    if seconds < 60:
        return _("刚刚")
    if seconds < 3600:
        return _("%(n)d 分钟前") % {"n": seconds // 60}
    if seconds < 86400:
        return _("%(n)d 小时前") % {"n": seconds // 3600}
    return _("%(n)d 天前") % {"n": seconds // 86400}


@require_GET
@staff_required(*NOTARY_ROLES)
def case_list_view(request: HttpRequest) -> HttpResponse:
    office = staff_organisation(staff_user(request), OrganisationKind.NOTARY_OFFICE)
    form = CaseSearchForm(request.GET or None)
    query, status, per_page = "", "", DEFAULT_PAGE_SIZE
    if form.is_valid():
        query, status = form.cleaned_data["q"], form.cleaned_data["status"]
        per_page = form.cleaned_data["per_page"] or per_page
    page = Paginator(case_list(office=office, query=query, status=status or None), per_page).get_page(
        request.GET.get("page")
    )
    now = timezone.now()
    rows = [(case, age_label(case.received_at, now)) for case in page.object_list]
    context = {
        "form": form,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "rows": rows,
        "searched": bool(query or status),
        "refreshed_at": timezone.localtime(now),
    }
    htmx = getattr(request, "htmx", None)
    # A history restore needs the whole page; a search typed into the form needs only the results.
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    response = render(request, "notary/_case_rows.html" if partial else "notary/case_list.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@staff_required(*NOTARY_ROLES)
def case_detail_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    token = case_handoff(case)
    record_event(
        "notary.case.viewed", actor=user, obj=case, ctx=RequestContext.of(request), data={"personal_data": True}
    )
    context = {
        **_live_context(case),
        "age": age_label(case.received_at, timezone.now()),
        "agents": [p for p in case.parties.all() if p.role == PartyRole.AGENT],
        "materials": case.materials.all(),
        "documents": case_documents(case),
        "handoff": token,
        "handoff_state": handoff_state(token).value if token is not None else "",
        "can_review": user.has_role(Role.NOTARY, Role.NOTARY_ADMIN),
    }
    return render(request, "notary/case_detail.html", context)


def _live_context(case: NotaryCase) -> dict[str, object]:
    return {
        "case": case,
        "buyers": [p for p in case.parties.all() if p.role == PartyRole.BUYER],
        "live": case.status in OPEN_STATUSES,
        "refreshed_at": timezone.localtime(),
    }


@require_GET
@staff_required(*NOTARY_ROLES)
def case_status_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """The case's progress, polled while buyers may still submit: no names or numbers, so no audit per poll."""
    case = access_case(staff_user(request), case_id)
    return render(request, "notary/_case_live.html", _live_context(case))


def _inline(request: HttpRequest) -> bool:
    return request.GET.get("inline") == "1"


@require_GET
@staff_required(*NOTARY_ROLES)
def material_download_view(request: HttpRequest, case_id: uuid.UUID, material_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    material = next((m for m in case.materials.all() if m.pk == material_id), None)
    if material is None:
        raise Http404
    record_event("notary.material.downloaded", actor=user, obj=material, ctx=RequestContext.of(request))
    return material_response(material, inline=_inline(request))


@require_GET
@staff_required(*NOTARY_ROLES)
def document_download_view(request: HttpRequest, case_id: uuid.UUID, document_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    document = case_document_get(case, document_id)
    ctx = RequestContext.of(request)
    record_event("notary.document.downloaded", actor=user, obj=document, ctx=ctx)
    # staff_required is typed for HttpResponse; the file response it wraps is served the same way.
    return cast(HttpResponse, document_response(document, inline=_inline(request), ctx=ctx))
