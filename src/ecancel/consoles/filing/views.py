"""The filing authority's console (住建局 filing officers): the city's applications and figures, read-only."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from ecancel.accounts.access import staff_organisation
from ecancel.accounts.auth import staff_required, staff_user
from ecancel.accounts.models import OrganisationKind, Role
from ecancel.cancellation.city import city_applications, city_figures, notary_due_date
from ecancel.cancellation.forms import CitySearchForm
from ecancel.core.paging import DEFAULT_PAGE_SIZE


@require_GET
@staff_required(Role.FILING_OFFICER)
def city_view(request: HttpRequest) -> HttpResponse:
    staff_organisation(staff_user(request), OrganisationKind.FILING_AUTHORITY)
    form = CitySearchForm(request.GET or None)
    query, status, per_page = "", "", DEFAULT_PAGE_SIZE
    if form.is_valid():
        query, status = form.cleaned_data["q"], form.cleaned_data["status"]
        per_page = form.cleaned_data["per_page"] or per_page
    page = Paginator(city_applications(query=query, status=status), per_page).get_page(request.GET.get("page"))
    rows = [(application, notary_due_date(application)) for application in page.object_list]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "page_range": page.paginator.get_elided_page_range(page.number),
        "figures": city_figures(),
    }
    return render(request, "filing/city.html", context)


app_name = "filing"
urlpatterns = [path("", city_view, name="city")]
