"""What every application service shares: finding the seller's own application, worded refusals, audit."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from ecancel.accounts.actors import Actor
from ecancel.accounts.models import Organisation, OrganisationKind
from ecancel.audit.services import record_event
from ecancel.cancellation.models import Application
from ecancel.cancellation.transitions import ApplicationStatus, application_move
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, field_error

ApplicationId = uuid.UUID | str


REFUSALS: dict[tuple[str, str], tuple[str, str]] = {
    ("edit", ApplicationStatus.PUSHED): (
        "申请已推送公证处，不能修改；如需更正，请先撤销申请",
        "The application has been pushed; revoke it first to correct it",
    ),
    ("edit", ApplicationStatus.AWAITING_BUYERS): (
        "申请已推送公证处，不能修改；如需更正，请先撤销申请",
        "The application has been pushed; revoke it first to correct it",
    ),
    ("edit", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认撤销后再修改",
        "The revoke is waiting for the notary office; edit once it is confirmed",
    ),
    ("push", ApplicationStatus.PUSHED): (
        "申请已推送，正在等待公证处受理，不能重复推送",
        "Already pushed and waiting for the notary office",
    ),
    ("push", ApplicationStatus.AWAITING_BUYERS): (
        "申请已被公证处受理，不能重复推送；如需更正，请先撤销申请",
        "The notary office has accepted it; revoke it first to push a correction",
    ),
    ("push", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认撤销、修改后再推送",
        "The revoke is waiting for the notary office; push again once it is confirmed",
    ),
    ("request_revoke", ApplicationStatus.DRAFT): (
        "申请尚未推送公证处，无需撤销，可直接修改",
        "The application has not been pushed; edit it directly",
    ),
    ("request_revoke", ApplicationStatus.REFUSED): (
        "公证处已不予办理，申请已可修改，无需撤销",
        "The notary office refused it; it can be edited without a revoke",
    ),
    ("request_revoke", ApplicationStatus.REVOKING): (
        "撤销申请已提交，正在等待公证处确认",
        "A revoke is already waiting for the notary office",
    ),
    ("request_revoke", ApplicationStatus.UNDER_REVIEW): (
        "全部买受人已提交认证材料，公证处正在审核，不能撤销；如需更正，请联系公证处",
        "All buyers have submitted and the notary office is reviewing; contact the office to correct anything",
    ),
    ("abandon", ApplicationStatus.PUSHED): (
        "申请已推送公证处，不能直接作废；请先撤销申请，待公证处确认后再作废",
        "The application has been pushed; revoke it and wait for the confirmation before abandoning it",
    ),
    ("abandon", ApplicationStatus.AWAITING_BUYERS): (
        "申请已推送公证处，不能直接作废；请先撤销申请，待公证处确认后再作废",
        "The application has been pushed; revoke it and wait for the confirmation before abandoning it",
    ),
    ("abandon", ApplicationStatus.REVOKING): (
        "申请正在撤销，请等待公证处确认后再作废",
        "The revoke is waiting for the notary office; abandon it once it is confirmed",
    ),
}


def guarded_move(application: Application, action: str) -> ApplicationStatus:
    try:
        return application_move(application, action)
    except InvalidTransition as refused:
        worded = REFUSALS.get((action, application.status))
        if worded is None:
            raise
        raise InvalidTransition(*worded) from refused


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
