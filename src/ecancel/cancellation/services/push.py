"""生成注销电子材料并推送公证处: sign the two documents, then lock the contract and send the materials."""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ecancel.accounts.actors import Actor
from ecancel.cancellation import materials
from ecancel.cancellation.checks import raise_unless_ready
from ecancel.cancellation.models import Application, ApplicationPush
from ecancel.cancellation.services.common import (
    ApplicationId,
    audit_application,
    expect_version,
    locked_application,
    notary_office_of,
    operator_move,
    seller_application,
)
from ecancel.cancellation.transitions import ApplicationStatus
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition
from ecancel.exchange.services import outbox_put
from ecancel.filing.models import FiledContract
from ecancel.filing.services import contract_start_cancellation
from ecancel.filing.transitions import ContractStatus


def application_push(
    *,
    application_id: ApplicationId,
    notary_office_id: uuid.UUID | str | None = None,
    expected_version: int | None = None,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    """生成注销电子材料并推送公证处: sign both documents, then lock the contract and send the materials.

    Rendering and signing come first, outside the transaction, so no row is locked while they run; the
    locked step re-checks everything and refuses if the application changed meanwhile.
    """
    application = seller_application(application_id, seller=actor.organisation)
    _check_pushable(application, notary_office_id, expected_version)
    prepared = materials.prepare_documents(application, operator=str(actor))
    return _push_prepared(
        application_id=application_id,
        notary_office_id=notary_office_id,
        expected_version=expected_version,
        prepared=prepared,
        actor=actor,
        ctx=ctx,
    )


def _check_pushable(
    application: Application, notary_office_id: uuid.UUID | str | None, expected_version: int | None
) -> ApplicationStatus:
    """The push's checks, run before signing (to refuse early) and again under the lock; the status it moves to."""
    expect_version(application, expected_version)
    target = operator_move(application, "push")
    if notary_office_id is not None:
        application.notary_office = notary_office_of(notary_office_id)
    raise_unless_ready(application)
    return target


@transaction.atomic
def _push_prepared(
    *,
    application_id: ApplicationId,
    notary_office_id: uuid.UUID | str | None,
    expected_version: int | None,
    prepared: materials.PreparedMaterials,
    actor: Actor,
    ctx: RequestContext,
) -> Application:
    application = locked_application(application_id, actor)
    target = _check_pushable(application, notary_office_id, expected_version)
    assert application.notary_office is not None
    contract = FiledContract.objects.select_for_update().get(pk=application.contract_id)
    previous = application.pushes.order_by("-version").first()
    if contract.status == ContractStatus.FILED:
        contract_start_cancellation(contract_id=contract.pk, actor=actor.user, ctx=ctx)
    elif not (contract.status == ContractStatus.CANCELLING and previous is not None):
        raise InvalidTransition(
            gettext_lazy("合同当前状态为「%(status)s」，不能推送"),
            params={"status": ContractStatus(contract.status).label},
        )
    pushed_at = timezone.now()
    form, agreement = materials.store_documents(application, prepared, operator=str(actor), actor=actor.user, ctx=ctx)
    snapshot = materials.snapshot(application)
    changes = materials.changes(previous.snapshot, snapshot) if previous is not None else []
    message, attachments = materials.pushed_message(
        application,
        form=form,
        agreement=agreement,
        pushed_at=pushed_at,
        pushed_by=str(actor),
        previous_version=previous.version if previous is not None else None,
        changes=changes,
    )
    outbox_put(
        sender=application.seller,
        recipient=application.notary_office,
        body=message,
        attachments=attachments,
    )
    ApplicationPush.objects.create(
        application=application,
        version=application.version,
        notary_office=application.notary_office,
        pushed_by=actor.user,
        message_type=message.TYPE,
        snapshot=snapshot,
        changes=changes,
        form_document=form,
        agreement_document=agreement,
    )
    application.applicants.update(submitted_at=None)
    application.status = target
    application.notary_message_code, application.notary_message = "", ""
    application.save(update_fields=["status", "notary_office", "notary_message_code", "notary_message", "updated_at"])
    audit_application(
        "cancellation.application.pushed",
        application,
        actor=actor,
        ctx=ctx,
        data={
            "notary_office": application.notary_office.name,
            "message_type": message.TYPE,
            "documents": {"form": form.sha256, "agreement": agreement.sha256},
            "changes": changes,
        },
    )
    return application
