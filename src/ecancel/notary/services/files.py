"""Material files left on storage by an intake that never committed."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.core.storage import SWEEP_LOOKBACK, orphans_sweep
from ecancel.notary.models import MATERIALS_FOLDER, ReceivedMaterial


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
    if removed:
        record_event("notary.materials.swept", data={"count": len(removed), "names": removed[:200]}, ctx=ctx)
    return removed
