"""Material files left on storage by an intake that never committed."""

from __future__ import annotations

import datetime as dt

from django.core.files.storage import default_storage
from django.utils import timezone

from ecancel.audit.services import record_event
from ecancel.core.context import RequestContext
from ecancel.notary.models import MATERIALS_FOLDER, ReceivedMaterial


def material_files_sweep(*, older_than: dt.timedelta = dt.timedelta(hours=1), ctx: RequestContext) -> list[str]:
    """Delete received files no material row refers to, older than ``older_than``.

    Intake writes a file before its row and removes it when its own steps fail; when the inbox's
    transaction rolls back afterwards (the sender will deliver again), the row goes but the file stays.
    """
    cutoff = timezone.now() - older_than
    referenced = set(ReceivedMaterial.objects.values_list("content", flat=True))
    removed = [
        name
        for name in _stored_names(MATERIALS_FOLDER)
        if name not in referenced and default_storage.get_modified_time(name) <= cutoff
    ]
    for name in removed:
        default_storage.delete(name)
    if removed:
        record_event("notary.materials.swept", data={"count": len(removed), "names": removed[:200]}, ctx=ctx)
    return removed


def _stored_names(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    directories, files = default_storage.listdir(folder)
    return [f"{folder}/{f}" for f in files] + [n for d in directories for n in _stored_names(f"{folder}/{d}")]
