"""Operator console: the company's filed contracts and their details."""

from __future__ import annotations

import uuid

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.auth import OPERATOR_ROLES, staff_required, staff_user
from ecancel.accounts.models import OrganisationKind
from ecancel.audit.services import record_event
from ecancel.cancellation.selectors import open_application_for_contract
from ecancel.consoles.operator.access import access_contract
from ecancel.consoles.operator.forms import ContractSearchForm
from ecancel.core.context import RequestContext
from ecancel.core.paging import DEFAULT_PAGE_SIZE
from ecancel.filing.selectors import contract_list
from ecancel.filing.transitions import contract_can


@require_GET
@staff_required(*OPERATOR_ROLES)
def contract_list_view(request: HttpRequest) -> HttpResponse:
    seller = staff_organisation(staff_user(request), OrganisationKind.DEVELOPER)
    form = ContractSearchForm(request.GET or None)
    query, status, per_page = "", "", DEFAULT_PAGE_SIZE
    if form.is_valid():
        query = form.cleaned_data["q"]
        status = form.cleaned_data["status"]
        per_page = form.cleaned_data["per_page"] or per_page
    contracts = contract_list(seller=seller, query=query, status=status or None)
    page = Paginator(contracts, per_page).get_page(request.GET.get("page"))
    context = {
        "form": form,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "query": query,
        "searched": bool(query or status),
    }
    htmx = getattr(request, "htmx", None)
    # A history restore needs the whole page; a search typed into the form needs only the results.
    partial = htmx is not None and bool(htmx) and not htmx.history_restore_request
    template = "operator/_contract_rows.html" if partial else "operator/contract_list.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@staff_required(*OPERATOR_ROLES)
def contract_detail_view(request: HttpRequest, contract_id: uuid.UUID) -> HttpResponse:
    user = staff_user(request)
    contract = access_contract(user, contract_id)
    # The buyers' particulars are personal data: who looked, and when, is kept (research/security.md).
    record_event(
        "filing.contract.viewed",
        actor=user,
        organisation=contract.seller,
        obj=contract,
        data={"personal_data": True},
        ctx=RequestContext.of(request),
    )
    context = {
        "contract": contract,
        # The cancellation card: the open application if there is one, else a new one where the move table allows.
        "current_application": open_application_for_contract(seller=contract.seller, contract_id=contract.pk),
        "can_apply": contract_can(contract, "start_cancellation"),
    }
    return render(request, "operator/contract_detail.html", context)
