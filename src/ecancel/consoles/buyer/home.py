"""The buyers' entry page on the notary side: what to do, and a scanner for the QR code the seller shows."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET


@require_GET
def entry_view(request: HttpRequest) -> HttpResponse:
    """A static page: it asks nothing of the buyer records, the QR link itself leads into the journey."""
    return render(request, "buyer/entry.html")
