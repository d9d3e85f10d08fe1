"""Jobs of the buyers' journey: sealing a submitted buyer's manifest after the submission commits, and the sweep."""

from celery import shared_task

from ecancel.buyers.services.submission import manifest_seal, manifests_seal_pending
from ecancel.core.context import RequestContext


@shared_task(name="ecancel.buyers.seal_manifest", ignore_result=True)
def seal_manifest(journey_id: str) -> bool:
    """Queued on the commit of a submission: sign the manifest, and start the case's review if it was the last."""
    return manifest_seal(journey_id=journey_id, ctx=RequestContext.system("buyers_seal"))


@shared_task(name="ecancel.buyers.seal_pending", ignore_result=True)
def seal_pending_manifests() -> int:
    """Beat's sweep: submitted manifests whose queued sealing never ran (its process died)."""
    return manifests_seal_pending(ctx=RequestContext.system("buyers_seal_sweep"))
