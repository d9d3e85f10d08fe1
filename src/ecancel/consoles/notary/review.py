"""The notary's review pages (manual 7.3): the queue with deadlines and assignment, the case's evidence per buyer,
and the evidence files themselves.

Who sees what: every member of the office sees the queue (a clerk read-only); only notaries and the office's admin
open the evidence; only the admin assigns. Another office's case is a 404, found through the user's office.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.auth import NOTARY_ROLES, staff_required, staff_user
from ecancel.accounts.models import OrganisationKind, Role
from ecancel.buyers.models import JourneyUpload
from ecancel.consoles.notary.forms import ApproveForm, AssignForm, CalendarDayForm, RefuseForm, ReviewQueueForm
from ecancel.consoles.notary.views import age_label
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.forms import add_domain_errors
from ecancel.core.paging import DEFAULT_PAGE_SIZE
from ecancel.core.ranges import bytes_response
from ecancel.identity.models import CheckEvidence
from ecancel.notary.access import access_case
from ecancel.notary.models import NotaryCase
from ecancel.notary.review import (
    QueueView,
    case_review,
    office_calendar,
    office_calendar_days,
    office_notaries,
    office_of,
    queue_rows,
    review_check_file_get,
    review_manifest_get,
    review_queue,
    review_upload_get,
    staff_user_by_uuid,
)
from ecancel.notary.selectors import certificate_delivery
from ecancel.notary.services.approval import case_approve, certificate_resend
from ecancel.notary.services.decision import case_refuse
from ecancel.notary.services.review import (
    case_assign,
    evidence_open,
    manifest_open,
    office_calendar_day_remove,
    office_calendar_day_set,
    review_record_view,
)
from ecancel.notary.transitions import case_can

REVIEWERS = (Role.NOTARY, Role.NOTARY_ADMIN)


@require_GET
@staff_required(*NOTARY_ROLES)
def review_queue_view(request: HttpRequest) -> HttpResponse:
    user = staff_user(request)
    organisation = staff_organisation(user, OrganisationKind.NOTARY_OFFICE)
    form = ReviewQueueForm(request.GET or None)
    query, view, per_page = "", QueueView.ALL, DEFAULT_PAGE_SIZE
    if form.is_valid():
        query, view = form.cleaned_data["q"], QueueView(form.cleaned_data["show"] or QueueView.ALL)
        per_page = form.cleaned_data["per_page"] or per_page
    now = timezone.now()
    today = timezone.localdate(now)
    calendar = office_calendar(office_of(organisation))
    cases = review_queue(office=organisation, user=user, view=view, query=query, today=today, calendar=calendar)
    page = Paginator(cases, per_page).get_page(request.GET.get("page"))
    can_assign = user.has_role(Role.NOTARY_ADMIN)
    context = {
        "form": form,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "rows": [
            (row, age_label(row.case.received_at, now))
            for row in queue_rows(list(page.object_list), today=today, calendar=calendar)
        ],
        "searched": bool(query or view != QueueView.ALL),
        "today": today,
        "can_assign": can_assign,
        "can_review": user.has_role(*REVIEWERS),
        "notaries": office_notaries(organisation) if can_assign else [],
    }
    return render(request, "notary/review/queue.html", context)


@require_POST
@staff_required(Role.NOTARY_ADMIN)
def case_assign_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    form = AssignForm(request.POST)
    # Back to where the admin assigned from: the queue, or the case's review page.
    from_case = request.POST.get("back") == "case"
    back = redirect("notary:review_case", case.pk) if from_case else redirect("notary:review_queue")
    chosen = form.cleaned_data["notary"] if form.is_valid() else None
    notary = staff_user_by_uuid(chosen) if chosen is not None else None
    if not form.is_valid() or (chosen is not None and notary is None):
        messages.error(request, _("请选择本公证处的公证员"))
        return back
    try:
        case_assign(case=case, notary=notary, actor=user, ctx=RequestContext.of(request))
    except DomainError as error:
        messages.error(request, error.fields["notary"].message if "notary" in error.fields else error.message)
    else:
        if notary is not None:
            messages.success(request, _("已将 %(case)s 指派给 %(name)s") % {"case": case.case_number, "name": notary})
        else:
            messages.success(request, _("已取消 %(case)s 的指派") % {"case": case.case_number})
    return back


@require_POST
@staff_required(*NOTARY_ROLES)
def case_refuse_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """不予办理 from the review page; the service decides who may (a 公证员 of the office)."""
    user = staff_user(request)
    case = access_case(user, case_id)
    form = RefuseForm(request.POST)
    if not form.is_valid():
        return _review_page(request, case, refuse_form=form, status=422)
    try:
        case_refuse(
            case_id=case.pk,
            reason_code=form.cleaned_data["reason_code"],
            reason_text=form.cleaned_data["reason_text"],
            actor=user,
            ctx=RequestContext.of(request),
        )
    except DomainError as error:
        add_domain_errors(form, error)
        return _review_page(request, case, refuse_form=form, status=error.http_status)
    messages.success(request, _("已决定不予办理，开发企业和买受人将收到通知"))
    return redirect("notary:review_case", case.pk)


@require_POST
@staff_required(*NOTARY_ROLES)
def case_approve_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """核准出证 from the review page; the service decides who may (a 公证员 of the office)."""
    user = staff_user(request)
    case = access_case(user, case_id)
    form = ApproveForm(request.POST, prefix="approve")
    if not form.is_valid():
        return _review_page(request, case, approve_form=form, status=422)
    try:
        case_approve(case_id=case.pk, actor=user, ctx=RequestContext.of(request))
    except DomainError as error:
        add_domain_errors(form, error)
        return _review_page(request, case, approve_form=form, status=error.http_status)
    messages.success(request, _("已核准，公证书正在签章，完成后将发送至开发企业并通知买受人"))
    return redirect("notary:review_case", case.pk)


@require_POST
@staff_required(*REVIEWERS)
def certificate_resend_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    """重新发送公证书 after the filing side refused it; the service decides whether there is anything to resend."""
    user = staff_user(request)
    case = access_case(user, case_id)
    try:
        certificate_resend(case_id=case.pk, actor=user, ctx=RequestContext.of(request))
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("公证书已重新发送至开发企业"))
    return redirect("notary:review_case", case.pk)


@require_http_methods(["GET", "POST"])
@staff_required(Role.NOTARY_ADMIN)
def calendar_view(request: HttpRequest) -> HttpResponse:
    """The office's holidays and 调休 working days, from a month back on; the office admin adds and removes them."""
    user = staff_user(request)
    office = office_of(staff_organisation(user, OrganisationKind.NOTARY_OFFICE))
    form = CalendarDayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            office_calendar_day_set(
                office=office,
                day=form.cleaned_data["day"],
                kind=form.cleaned_data["kind"],
                note=form.cleaned_data["note"],
                actor=user,
                ctx=RequestContext.of(request),
            )
        except DomainError as error:
            for name, message in error.fields.items():
                form.add_error(name if name in form.fields else None, message.message)
            if not error.fields:
                form.add_error(None, error.message)
        else:
            messages.success(request, _("已保存 %(day)s") % {"day": form.cleaned_data["day"].isoformat()})
            return redirect("notary:review_calendar")
    since = timezone.localdate() - dt.timedelta(days=31)
    days = office_calendar_days(office, since=since)
    status = 422 if request.method == "POST" else 200
    return render(request, "notary/review/calendar.html", {"form": form, "days": days}, status=status)


@require_POST
@staff_required(Role.NOTARY_ADMIN)
def calendar_remove_view(request: HttpRequest, entry_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    office = office_of(staff_organisation(user, OrganisationKind.NOTARY_OFFICE))
    office_calendar_day_remove(office=office, entry_id=entry_id, actor=user, ctx=RequestContext.of(request))
    messages.success(request, _("已删除该日期"))
    return redirect("notary:review_calendar")


@require_GET
@staff_required(*REVIEWERS)
def case_review_view(request: HttpRequest, case_id: uuid.UUID) -> HttpResponse:
    return _review_page(request, access_case(staff_user(request), case_id))


def _review_page(
    request: HttpRequest,
    case: NotaryCase,
    *,
    refuse_form: RefuseForm | None = None,
    approve_form: ApproveForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = staff_user(request)
    review = case_review(case, today=timezone.localdate())
    review_record_view(
        case=case, actor=user, buyers=[b.party.position for b in review.buyers], ctx=RequestContext.of(request)
    )
    can_assign = user.has_role(Role.NOTARY_ADMIN)
    context = {
        "case": case,
        "review": review,
        "can_assign": can_assign,
        "notaries": office_notaries(case.office.organisation) if can_assign else [],
        "can_decide": user.has_role(Role.NOTARY) and case_can(case, "approve"),
        "refuse_form": refuse_form or RefuseForm(),
        "approve_form": approve_form or ApproveForm(prefix="approve"),
        "certificate_delivery": certificate_delivery(case),
    }
    return render(request, "notary/review/case.html", context, status=status)


def _private(response: HttpResponse, *, filename: str, download: bool) -> HttpResponse:
    """Never cached, never sniffed, never able to run anything when shown in the browser."""
    response["Content-Disposition"] = content_disposition_header(download, filename) or "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    patch_cache_control(response, private=True, no_store=True)
    return response


def _evidence(
    request: HttpRequest, case_id: uuid.UUID, find: Callable[[NotaryCase], JourneyUpload | CheckEvidence | None]
) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    item = find(case)
    if item is None:
        raise Http404
    byte_range = request.headers.get("Range", "")
    opened = evidence_open(case=case, item=item, actor=user, ctx=RequestContext.of(request), byte_range=byte_range)
    response = bytes_response(opened.content, content_type=opened.media_type, range_header=byte_range)
    return _private(response, filename=opened.filename, download=request.GET.get("download") == "1")


@require_GET
@staff_required(*REVIEWERS)
def upload_file_view(request: HttpRequest, case_id: uuid.UUID, upload_id: uuid.UUID) -> HttpResponse:
    return _evidence(request, case_id, lambda case: review_upload_get(case, upload_id))


@require_GET
@staff_required(*REVIEWERS)
def check_file_view(request: HttpRequest, case_id: uuid.UUID, evidence_id: int) -> HttpResponse:
    return _evidence(request, case_id, lambda case: review_check_file_get(case, evidence_id))


@require_GET
@staff_required(*REVIEWERS)
def manifest_view(request: HttpRequest, case_id: uuid.UUID, position: int, part: str) -> HttpResponse:
    user = staff_user(request)
    case = access_case(user, case_id)
    if part not in ("json", "p7s"):
        raise Http404
    manifest = review_manifest_get(case, position)
    if manifest is None:
        raise Http404
    content = manifest_open(case=case, manifest=manifest, part=part, actor=user, ctx=RequestContext.of(request))
    media_type = "application/json" if part == "json" else "application/pkcs7-signature"
    response = HttpResponse(content, content_type=media_type)
    return _private(response, filename=f"{case.case_number}-buyer{position}-manifest.{part}", download=True)
