"""What every application service shares: finding the seller's own application, the operator's guard, audit."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.audit.services import record_event
from ecancel.cancellation.models import Application, RevokeRequest
from ecancel.cancellation.transitions import WAITS_FOR_REVOKE, ApplicationStatus, RevokeStatus, application_move
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, field_error

ApplicationId = uuid.UUID | str


def operator_move(application: Application, action: str) -> ApplicationStatus:
    """Where the operator's ``action`` takes the application; refused, with the reason, while a revoke waits."""
    if action in WAITS_FOR_REVOKE and pending_revoke(application) is not None:
        raise InvalidTransition(
            _("撤销申请已提交，正在等待公证处确认；公证处答复后才能继续操作"),
            code="revoke_pending",
        )
    return application_move(application, action)


def pending_revoke(application: Application) -> RevokeRequest | None:
    """The application's revoke request still waiting for the notary office, if any (at most one)."""
    return application.revoke_requests.filter(status=RevokeStatus.PENDING).select_related("push").first()


def locked_application(application_id: ApplicationId, actor: Actor) -> Application:
    """The application under a row lock; NotFound for anyone outside the seller's company."""
    return seller_application(application_id, seller=actor.organisation, lock=True)


def seller_application(application_id: ApplicationId, *, seller: Organisation, lock: bool = False) -> Application:
    """``seller``'s application, found by id and owner together (row-locked if asked); NotFound for any other."""
    rows = Application.objects.select_for_update(of=("self",)) if lock else Application.objects.all()
    try:
        return rows.select_related("contract", "seller", "notary_office").get(pk=application_id, seller=seller)
    except (Application.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise NotFound(_("未找到该注销申请")) from exc


def expect_version(application: Application, expected_version: int | None) -> None:
    """A request made from an older page (another tab, a slow network) must not act on a newer version."""
    if expected_version is not None and expected_version != application.version:
        raise InvalidTransition(
            _("申请已更新为第%(application_version)s版（您看到的是第%(expected_version)s版），请刷新页面后再操作"),
            code="stale_version",
            params={"application_version": application.version, "expected_version": expected_version},
        )


def audit_application(
    tag: str,
    application: Application,
    *,
    actor: Actor | None,
    ctx: RequestContext,
    data: dict[str, Any] | None = None,
    actor_label: str = "",
) -> None:
    record_event(
        tag,
        actor=actor.user if actor is not None else None,
        organisation=application.seller,
        obj=application,
        data={
            "number": application.number,
            "version": application.version,
            "status": application.status,
            **(data or {}),
        },
        ctx=ctx,
        actor_label=actor_label or (str(actor) if actor is not None else ""),
    )


def notary_office_of(notary_office_id: uuid.UUID | str) -> Organisation:
    try:
        return Organisation.objects.get(
            pk=notary_office_id, kind=OrganisationKind.NOTARY_OFFICE, notary_office__isnull=False
        )
    except (Organisation.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise field_error("notary_office", _("请从列表中选择公证处")) from exc
