"""Files left on storage by a transaction that never committed: received materials and identity evidence."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ecancel.audit.services import record_swept
from ecancel.buyers.models import JourneyUpload
from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK, orphans_sweep
from ecancel.identity.evidence import evidence_folder, evidence_purposes
from ecancel.identity.models import CheckEvidence
from ecancel.notary.models import MATERIALS_FOLDER, CaseArchive, ReceivedMaterial


def material_files_sweep(
    *,
    older_than: dt.timedelta = dt.timedelta(hours=1),
    lookback: dt.timedelta = SWEEP_LOOKBACK,
    now: dt.datetime | None = None,
    ctx: RequestContext,
) -> list[str]:
    """Delete received files no material row refers to, older than ``older_than``.

    Intake writes a file before its row and removes it when its own steps fail; when the inbox's
    transaction rolls back afterwards (the sender will deliver again), the row goes but the file stays. Only the
    day folders of the ``lookback`` before the cut-off are listed (never a walk of the whole storage).
    """
    removed = orphans_sweep(
        MATERIALS_FOLDER,
        referenced=lambda names: ReceivedMaterial.objects.filter(content__in=names).values_list("content", flat=True),
        now=now or timezone.now(),
        older_than=older_than,
        lookback=lookback,
    )
    record_swept("notary.materials.swept", removed, ctx=ctx)
    return removed


def _evidence_claimed(names: list[str]) -> set[str]:
    """The names a check, a buyer's upload or a case archive still holds (a purged row holds none)."""
    return {
        *CheckEvidence.objects.filter(stored_name__in=names).values_list("stored_name", flat=True),
        *JourneyUpload.objects.filter(stored_name__in=names).values_list("stored_name", flat=True),
        *CaseArchive.objects.filter(stored_name__in=names).values_list("stored_name", flat=True),
    }


def evidence_files_sweep(
    *,
    older_than: dt.timedelta = dt.timedelta(hours=1),
    lookback: dt.timedelta = SWEEP_LOOKBACK,
    now: dt.datetime | None = None,
    ctx: RequestContext,
) -> list[str]:
    """Delete identity evidence (faces, ID photos, videos, signatures, archives) no row refers to, older than
    ``older_than``.

    A check, an upload or an archive stores its file before its row; when the transaction rolls back, the row goes
    but the file would stay, out of reach of the retention purge, which works from rows. Each purpose's day folders
    of the ``lookback`` before the cut-off are listed, nothing else.
    """
    now = now or timezone.now()
    removed = [
        name
        for purpose in evidence_purposes()
        for name in orphans_sweep(
            evidence_folder(purpose), referenced=_evidence_claimed, now=now, older_than=older_than, lookback=lookback
        )
    ]
    record_swept("identity.evidence.swept", removed, ctx=ctx)
    return removed
