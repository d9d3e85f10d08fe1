"""Certificate files left on storage by a receipt that never committed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ecancel.audit.services import record_swept
from ecancel.cancellation.models import CERTIFICATES_FOLDER, ReceivedCertificate
from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK, orphans_sweep


def certificate_files_sweep(
    *,
    older_than: dt.timedelta = dt.timedelta(hours=1),
    lookback: dt.timedelta = SWEEP_LOOKBACK,
    now: dt.datetime | None = None,
    ctx: RequestContext,
) -> list[str]:
    """Delete received certificate files no certificate row refers to, older than ``older_than``.

    The certificate's file is written with its row, before the filing is cancelled in the same transaction; when a
    later step fails the transaction rolls back (the inbox keeps the message to apply again) and the file would stay.
    Only the day folders of the ``lookback`` before the cut-off are listed.
    """
    removed = orphans_sweep(
        CERTIFICATES_FOLDER,
        referenced=lambda names: ReceivedCertificate.objects.filter(content__in=names).values_list(
            "content", flat=True
        ),
        now=now or timezone.now(),
        older_than=older_than,
        lookback=lookback,
    )
    record_swept("cancellation.certificates.swept", removed, ctx=ctx)
    return removed
