"""Operator console: cancellation applications (商品房买卖合同注销-电子公证).

Thin views: parse the form, check access, call one service, show the result. A refusal comes
back as a message on the page (and the form errors next to the fields); nothing changes then.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.actors import Actor
from ecancel.accounts.auth import OPERATOR_ROLES, staff_required, staff_user
from ecancel.accounts.models import OrganisationKind
from ecancel.audit.services import record_event
from ecancel.cancellation import materials
from ecancel.cancellation.access import access_application
from ecancel.cancellation.checks import application_checks
from ecancel.cancellation.forms import (
    AgentForm,
    ApplicationSearchForm,
    NotaryOfficeForm,
    PushForm,
    ReasonForm,
    RefundForm,
    RevokeForm,
    VersionForm,
    applicant_formset,
)
from ecancel.cancellation.models import Application
from ecancel.cancellation.selectors import (
    application_agent,
    application_certificate,
    application_current_push,
    application_delivery,
    application_latest_revoke,
    application_list,
    application_operator_can,
    application_previous_push,
    application_push,
    application_qr,
    open_application_for_contract,
)
from ecancel.cancellation.services import push as pushing
from ecancel.cancellation.services.answers import certificate_read
from ecancel.cancellation.services.drafting import (
    AgentInput,
    ApplicantInput,
    application_abandon,
    application_create,
    application_remove_agent,
    application_set_agent,
    application_set_applicants,
    application_set_notary_office,
    application_set_reason,
    application_set_refund,
)
from ecancel.cancellation.services.revoke import application_revoke
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.consoles.operator.access import access_contract
from ecancel.core.context import RequestContext
from ecancel.core.errors import DomainError
from ecancel.core.forms import add_domain_errors
from ecancel.core.paging import DEFAULT_PAGE_SIZE
from ecancel.documents.downloads import document_response
from ecancel.documents.qr import qr_svg
from ecancel.filing.transitions import contract_can

if TYPE_CHECKING:
    from django.utils.functional import _StrPromise


def _actor(request: HttpRequest) -> Actor:
    return Actor.staff(staff_user(request))


def _ctx(request: HttpRequest) -> RequestContext:
    return RequestContext.of(request)


def _detail(application: Application) -> HttpResponse:
    return redirect("operator:application", application.pk)


def _detail_context(application: Application, *, live_only: bool = False, **forms: Any) -> dict[str, Any]:
    """Everything the application page shows; ``forms`` replace the blank ones (bound, with errors).

    ``live_only``: just what the live part shows (no forms, no pre-push checks).
    """
    agent = application_agent(application)
    editable = application.is_editable
    context: dict[str, Any] = {
        "application": application,
        "agent": agent,
        "editable": editable,
        "current_push": application_current_push(application),
        "pushes": list(application.pushes.select_related("notary_office")),
        "qr": application_qr(application),
        "delivery": application_delivery(application),
        "can_revoke": application_operator_can(application, "request_revoke"),
        "can_abandon": application_operator_can(application, "abandon"),
        "revoke": application_latest_revoke(application),
        "certificate": application_certificate(application),
        "live": application.status in WATCHED_STATUSES,
        "refreshed_at": timezone.localtime(),
    }
    if context["qr"] is not None:
        context["qr_svg"] = mark_safe(qr_svg(context["qr"].handoff_url))  # noqa: S308 - segno's own SVG output
    if editable and not live_only:
        checks = application_checks(application)
        previous = application_previous_push(application)
        context.update(
            {
                "checks": checks,
                "ready": all(c.ok for c in checks),
                "pending_changes": materials.changes(previous.snapshot, materials.snapshot(application))
                if previous is not None
                else None,
                **draft_forms(application),
            }
        )
    context.update(forms)
    return context


# While the notary office or the buyers can still move the application, its page asks for news every few seconds.
WATCHED_STATUSES = frozenset(
    {
        ApplicationStatus.PUSHED,
        ApplicationStatus.AWAITING_BUYERS,
        ApplicationStatus.UNDER_REVIEW,
        ApplicationStatus.CERTIFIED,
    }
)


def _show(request: HttpRequest, application: Application, *, status: int = 200, **forms: Any) -> HttpResponse:
    application = access_application(staff_user(request), application.pk)
    return render(request, "operator/application_detail.html", _detail_context(application, **forms), status=status)


def _refused(request: HttpRequest, error: DomainError) -> None:
    """The refusal as pages show it: Chinese, with the English beside it."""
    messages.error(request, error.message)


# --- list and create ------------------------------------------------------------------------------------------


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_list_view(request: HttpRequest) -> HttpResponse:
    seller = staff_organisation(staff_user(request), OrganisationKind.DEVELOPER)
    form = ApplicationSearchForm(request.GET or None)
    query, status, per_page = "", "", DEFAULT_PAGE_SIZE
    if form.is_valid():
        query, status = form.cleaned_data["q"], form.cleaned_data["status"]
        per_page = form.cleaned_data["per_page"] or per_page
    applications = application_list(seller=seller, query=query, status=status or None)
    page = Paginator(applications, per_page).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "query": query,
    }
    return render(request, "operator/application_list.html", context)


@require_http_methods(["GET", "POST"])
@staff_required(*OPERATOR_ROLES)
def application_new_view(request: HttpRequest, contract_id: uuid.UUID) -> HttpResponse:
    """选择需要注销的合同 — 确定: a confirm page, then the draft."""
    contract = access_contract(staff_user(request), contract_id)
    existing = open_application_for_contract(seller=contract.seller, contract_id=contract.pk)
    if request.method == "POST":
        try:
            application = application_create(contract_id=contract.pk, actor=_actor(request), ctx=_ctx(request))
        except DomainError as error:
            _refused(request, error)
        else:
            messages.success(
                request, _("已创建注销申请 %(number)s，请填写退房原因和申请人信息") % {"number": application.number}
            )
            return _detail(application)
    return render(
        request,
        "operator/application_new.html",
        {
            "contract": contract,
            "existing": existing,
            "can_create": existing is None and contract_can(contract, "start_cancellation"),
        },
    )


# --- the application page and its forms ------------------------------------------------------------------------


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_detail_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    application = access_application(staff_user(request), application_id)
    return render(request, "operator/application_detail.html", _detail_context(application))


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_status_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    """The live part of the application page, polled while the notary office or the buyers may move it.

    When the application has become editable again (a revoke confirmed), the page needs its forms:
    htmx is told to reload the whole page instead of swapping the fragment.
    """
    application = access_application(staff_user(request), application_id)
    if application.is_editable and getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(request, "operator/_application_live.html", _detail_context(application, live_only=True))


@require_POST
@staff_required(*OPERATOR_ROLES)
def application_save_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    """The draft page is one form: every section the operator changed is saved, each through its service.

    A section with errors keeps what was typed and shows its errors beside its fields; the sections
    without errors are saved all the same, so nothing typed is dropped silently.
    """
    application = access_application(staff_user(request), application_id)
    if not application_operator_can(application, "edit"):
        # A page left open across a push: its forms are gone once the page shows where the application stands.
        messages.error(request, _("申请已推送，不能再修改；如需更正请先撤销申请"))
        return _detail(application)
    forms = draft_forms(application, request.POST, request.FILES)
    refused = False
    for name, act in _SECTIONS:
        form = forms[name]
        if not _section_touched(name, form):
            continue
        if not form.is_valid():
            refused = True
            continue
        try:
            act(request, application, form)
        except DomainError as error:
            refused = True
            if name != "applicant_formset":
                add_domain_errors(form, error)
            elif "applicants" in error.fields or not error.fields:
                # Not about one row (a buyer missing, a refused move): said above the form.
                messages.error(request, error.fields["applicants"].message if error.fields else error.message)
    if refused:
        messages.error(request, _("部分内容有误，未能保存，请按各部分的提示修改；没有错误的部分已保存"))
        return _show(request, application, status=422, **forms)
    messages.success(request, _("已保存"))
    return _detail(application)


def draft_forms(application: Application, data: Any = None, files: Any = None) -> dict[str, Any]:
    """The sections of the draft page: blank (showing the saved values) or bound to what was posted."""
    agent = application_agent(application)
    return {
        "reason_form": ReasonForm(data, initial={"reason": application.reason, "detail": application.reason_detail}),
        "refund_form": RefundForm(
            data,
            initial={
                "refund_amount": application.refund_amount,
                "refund_method": application.refund_method,
                "refund_days": application.refund_days,
            },
        ),
        "applicant_formset": applicant_formset(application, data),
        "agent_form": AgentForm(
            data,
            files,
            application=application,
            prefix="agent",
            initial={
                "name": agent.name,
                "id_type": agent.id_type,
                "phone": agent.phone,
                "acts_for": [str(a.pk) for a in agent.acts_for.all()],
            }
            if agent is not None
            else None,
        ),
        "notary_form": NotaryOfficeForm(data, initial={"notary_office": application.notary_office_id}),
    }


def _section_touched(name: str, form: Any) -> bool:
    """Only a section the operator changed goes to its service: an untouched one makes no audit event."""
    if name == "agent_form":
        return bool(form.has_changed()) and form.is_given()
    if name == "applicant_formset" and form.total_form_count() != len(form.initial or []):
        return True  # a row added or left out is a change too
    return bool(form.has_changed())


def _set_reason(request: HttpRequest, application: Application, form: ReasonForm) -> None:
    application_set_reason(
        application_id=application.pk,
        reason=form.cleaned_data["reason"],
        detail=form.cleaned_data["detail"],
        actor=_actor(request),
        ctx=_ctx(request),
    )


def _set_refund(request: HttpRequest, application: Application, form: RefundForm) -> None:
    application_set_refund(application_id=application.pk, **form.cleaned_data, actor=_actor(request), ctx=_ctx(request))


def _set_applicants(request: HttpRequest, application: Application, formset: Any) -> None:
    # A row left blank beyond the contract's buyers has no data: it is no applicant.
    entries = [ApplicantInput(**form.cleaned_data) for form in formset.forms if form.cleaned_data]
    try:
        application_set_applicants(
            application_id=application.pk, applicants=entries, actor=_actor(request), ctx=_ctx(request)
        )
    except DomainError as error:
        for name, message in error.fields.items():
            parts = name.split(".")
            if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(formset.forms):
                formset.forms[int(parts[1])].add_error(
                    parts[2] if parts[2] in ApplicantFields else None, message.message
                )
        raise


ApplicantFields = frozenset({"name", "id_type", "id_number", "phone", "address"})


def _set_agent(request: HttpRequest, application: Application, form: AgentForm) -> None:
    upload = form.cleaned_data.get("power_of_attorney")
    application_set_agent(
        application_id=application.pk,
        agent=AgentInput(
            name=form.cleaned_data["name"],
            id_type=form.cleaned_data["id_type"],
            id_number=form.cleaned_data["id_number"],
            phone=form.cleaned_data["phone"],
            acts_for=form.cleaned_data["acts_for"],
        ),
        power_of_attorney=upload.read() if upload else None,
        actor=_actor(request),
        ctx=_ctx(request),
    )


def _set_notary_office(request: HttpRequest, application: Application, form: NotaryOfficeForm) -> None:
    application_set_notary_office(
        application_id=application.pk,
        notary_office_id=form.cleaned_data["notary_office"].pk,
        actor=_actor(request),
        ctx=_ctx(request),
    )


_SECTIONS: list[tuple[str, Callable[[HttpRequest, Application, Any], None]]] = [
    ("reason_form", _set_reason),
    ("refund_form", _set_refund),
    ("applicant_formset", _set_applicants),
    ("agent_form", _set_agent),
    ("notary_form", _set_notary_office),
]


@require_http_methods(["GET", "POST"])
@staff_required(*OPERATOR_ROLES)
def application_agent_remove_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    """删除代理人 asks first: GET shows what will be removed, POST removes it."""
    application = access_application(staff_user(request), application_id)
    agent = application_agent(application)
    if request.method == "GET":
        if agent is None or not application.is_editable:
            return _detail(application)
        return render(request, "operator/application_agent_remove.html", {"application": application, "agent": agent})
    try:
        application_remove_agent(application_id=application.pk, actor=_actor(request), ctx=_ctx(request))
    except DomainError as error:
        _refused(request, error)
    else:
        messages.success(request, _("已删除代理人"))
    return _detail(application)


# --- moves with a confirm step ---------------------------------------------------------------------------------


def _confirm(
    request: HttpRequest, application: Application, action: str, form: Any, *, status: int = 200
) -> HttpResponse:
    previous = application_previous_push(application)
    context = {
        "application": application,
        "action": action,
        "form": form,
        "checks": application_checks(application) if application.is_editable else [],
        "changes": materials.changes(previous.snapshot, materials.snapshot(application)) if previous else None,
        "current_push": application_current_push(application),
    }
    return render(request, "operator/application_confirm.html", context, status=status)


def _confirmed_move(
    action: str,
    move: str,
    blank: Callable[[Application], Any],
    bound: Callable[[HttpRequest], Any],
    act: Callable[[HttpRequest, Application, Any], None],
    success: _StrPromise,
) -> Callable[[HttpRequest, uuid.UUID], HttpResponse]:
    """A move with a confirm page: GET shows what will happen, POST makes the move through one service."""

    @require_http_methods(["GET", "POST"])
    @staff_required(*OPERATOR_ROLES)
    def view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
        application = access_application(staff_user(request), application_id)
        if request.method == "GET":
            if not application_operator_can(application, move):
                # Back to a confirm page after the move was made (or can no longer be): show where it stands.
                return _detail(application)
            return _confirm(request, application, action, blank(application))
        form = bound(request)
        if not form.is_valid():
            return _confirm(request, application, action, form, status=422)
        try:
            act(request, application, form)
        except DomainError as error:
            _refused(request, error)
        else:
            # True while the application stays where the move left it: the page drops it once the status moves on.
            application.refresh_from_db(fields=["status"])
            messages.success(request, success, extra_tags=application.status)
        return _detail(application)

    return view


def _push(request: HttpRequest, application: Application, form: PushForm) -> None:
    pushing.application_push(
        application_id=application.pk,
        notary_office_id=form.cleaned_data["notary_office"].pk,
        expected_version=form.cleaned_data["version"],
        actor=_actor(request),
        ctx=_ctx(request),
    )


def _revoke(request: HttpRequest, application: Application, form: RevokeForm) -> None:
    application_revoke(
        application_id=application.pk,
        expected_version=form.cleaned_data["version"],
        reason=form.cleaned_data["reason"],
        actor=_actor(request),
        ctx=_ctx(request),
    )


def _abandon(request: HttpRequest, application: Application, form: VersionForm) -> None:
    application_abandon(
        application_id=application.pk,
        expected_version=form.cleaned_data["version"],
        actor=_actor(request),
        ctx=_ctx(request),
    )


# 生成注销电子材料并推送公证处 — 确定
application_push_view = _confirmed_move(
    "push",
    "push",
    lambda a: PushForm(initial={"version": a.version, "notary_office": a.notary_office_id}),
    lambda r: PushForm(r.POST),
    _push,
    gettext_lazy("电子材料已生成并推送公证处，等待公证处受理后即可查看二维码"),
)
application_revoke_view = _confirmed_move(
    "revoke",
    "request_revoke",
    lambda a: RevokeForm(initial={"version": a.version}),
    lambda r: RevokeForm(r.POST),
    _revoke,
    gettext_lazy("撤销申请已发送公证处，公证处确认后即可修改并重新推送"),
)
application_abandon_view = _confirmed_move(
    "abandon",
    "abandon",
    lambda a: VersionForm(initial={"version": a.version}),
    lambda r: VersionForm(r.POST),
    _abandon,
    gettext_lazy("申请已作废，合同已恢复为已备案"),
)


# --- QR, documents, power of attorney --------------------------------------------------------------------------


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_qr_print_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    application = access_application(staff_user(request), application_id)
    qr = application_qr(application)
    if qr is None:
        raise Http404
    context = {"application": application, "qr": qr, "qr_svg": mark_safe(qr_svg(qr.handoff_url))}  # noqa: S308
    return render(request, "operator/application_qr_print.html", context)


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_document_view(request: HttpRequest, application_id: uuid.UUID, version: int, kind: str) -> HttpResponse:
    """A generated document of one pushed version: inline for printing (``?inline=1``) or as a download."""
    application = access_application(staff_user(request), application_id)
    push = application_push(application, version)
    documents = {"form": push.form_document, "agreement": push.agreement_document} if push else {}
    document = documents.get(kind)
    if document is None:
        raise Http404
    # staff_required is typed for HttpResponse; the file response it wraps is served the same way.
    return cast(HttpResponse, document_response(document, inline=request.GET.get("inline") == "1", ctx=_ctx(request)))


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_certificate_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    """The notarial certificate the office sent back, inline (to view or print) or as a download."""
    application = access_application(staff_user(request), application_id)
    _certificate, content = certificate_read(application, actor=_actor(request), ctx=_ctx(request))
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = (
        content_disposition_header(bool(request.GET.get("download")), f"公证书-{application.number}.pdf") or "inline"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@staff_required(*OPERATOR_ROLES)
def application_power_of_attorney_view(request: HttpRequest, application_id: uuid.UUID) -> HttpResponse:
    application = access_application(staff_user(request), application_id)
    agent = application_agent(application)
    if agent is None or not agent.power_of_attorney:
        raise Http404
    record_event(
        "cancellation.power_of_attorney.downloaded",
        actor=staff_user(request),
        obj=application,
        data={"sha256": agent.power_of_attorney_sha256},
        ctx=_ctx(request),
    )
    extension = str(agent.power_of_attorney.name).rsplit(".", 1)[-1]
    response = FileResponse(
        agent.power_of_attorney.open("rb"),
        as_attachment=True,
        filename=f"授权委托书-{application.number}.{extension}",
        content_type=agent.power_of_attorney_type,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return cast(HttpResponse, response)


urlpatterns = [
    path("applications/", application_list_view, name="applications"),
    path("contracts/<uuid:contract_id>/cancellation/new/", application_new_view, name="application_new"),
    path("applications/<uuid:application_id>/", application_detail_view, name="application"),
    path("applications/<uuid:application_id>/status/", application_status_view, name="application_status"),
    path("applications/<uuid:application_id>/save/", application_save_view, name="application_save"),
    path(
        "applications/<uuid:application_id>/agent/remove/",
        application_agent_remove_view,
        name="application_agent_remove",
    ),
    path(
        "applications/<uuid:application_id>/agent/power-of-attorney/",
        application_power_of_attorney_view,
        name="application_power_of_attorney",
    ),
    path(
        "applications/<uuid:application_id>/certificate.pdf",
        application_certificate_view,
        name="application_certificate",
    ),
    path("applications/<uuid:application_id>/push/", application_push_view, name="application_push"),
    path("applications/<uuid:application_id>/revoke/", application_revoke_view, name="application_revoke"),
    path("applications/<uuid:application_id>/abandon/", application_abandon_view, name="application_abandon"),
    path("applications/<uuid:application_id>/qr/print", application_qr_print_view, name="application_qr_print"),
    path(
        "applications/<uuid:application_id>/documents/<int:version>/<str:kind>/",
        application_document_view,
        name="application_document",
    ),
]
