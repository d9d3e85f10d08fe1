"""The local CA's certificate revocation list, public like every CA's."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from ecancel.documents.pki.backends import deployment_ca

# Verifiers may cache the list for an hour; it is valid for days (local_ca.CRL_VALIDITY).
CRL_MAX_AGE = 3600


@require_safe
def crl(request: HttpRequest, name: str) -> HttpResponse:
    ca = deployment_ca()
    # Never create a CA because a stranger asked for its list.
    if not ca.root_certificate_path.exists() or name != ca.crl_name():
        raise Http404
    return HttpResponse(
        ca.crl(),
        content_type="application/pkix-crl",
        headers={"Cache-Control": f"public, max-age={CRL_MAX_AGE}", "X-Content-Type-Options": "nosniff"},
    )
