"""Assigning a case under review to a notary, and the office calendar: who may, what, and what is recorded."""

from __future__ import annotations

from datetime import date

import pytest

from ecancel.accounts.models import NotaryOffice, Organisation, Role, User
from ecancel.audit.models import AuditEvent
from ecancel.core.context import RequestContext
from ecancel.core.errors import InvalidTransition, NotFound, PermissionRefused, ValidationFailed
from ecancel.notary.models import CalendarDayKind, NotaryCase, OfficeCalendarDay
from ecancel.notary.review import office_calendar
from ecancel.notary.services.review import case_assign, office_calendar_day_remove, office_calendar_day_set
from tests.factories import NotaryOfficeFactory, UserFactory
from tests.notary.helpers import make_case
from tests.notary.review_data import under_review

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

CTX = RequestContext.system("test")


def staff(office: NotaryOffice, role: str) -> User:
    user: User = UserFactory(organisation=office.organisation, role=role, password=None)
    return user


@pytest.fixture
def case(office: NotaryOffice, seller: Organisation) -> NotaryCase:
    return under_review(make_case(office, seller))


def test_the_admin_assigns_a_notary_of_the_office_and_it_is_audited(office: NotaryOffice, case: NotaryCase) -> None:
    admin, notary = staff(office, Role.NOTARY_ADMIN), staff(office, Role.NOTARY)
    assigned = case_assign(case=case, notary=notary, actor=admin, ctx=CTX)
    assert assigned.assignee == notary and assigned.assigned_at is not None
    case.refresh_from_db()
    assert case.assignee_id == notary.pk
    event = AuditEvent.objects.get(tag="notary.case.assigned", object_id=str(case.pk))
    assert event.actor_id == admin.pk and event.data["notary"] == str(notary.uuid) and event.data["previous"] is None
    # Reassigning names the previous notary; taking it back leaves it unassigned.
    other = staff(office, Role.NOTARY)
    case_assign(case=case, notary=other, actor=admin, ctx=CTX)
    assert AuditEvent.objects.filter(tag="notary.case.assigned").latest("occurred_at").data["previous"] == str(
        notary.uuid
    )
    case_assign(case=case, notary=None, actor=admin, ctx=CTX)
    case.refresh_from_db()
    assert case.assignee is None and case.assigned_at is None
    assert AuditEvent.objects.filter(tag="notary.case.unassigned", object_id=str(case.pk)).count() == 1


def test_a_notary_of_another_office_is_refused_with_a_clear_message(office: NotaryOffice, case: NotaryCase) -> None:
    admin = staff(office, Role.NOTARY_ADMIN)
    stranger = staff(NotaryOfficeFactory(), Role.NOTARY)
    with pytest.raises(ValidationFailed) as refused:
        case_assign(case=case, notary=stranger, actor=admin, ctx=CTX)
    assert refused.value.fields["notary"].zh == f"{stranger}不是本公证处的工作人员，不能承办本处案件"
    assert "not on this notary office's staff" in refused.value.fields["notary"].en
    case.refresh_from_db()
    assert case.assignee is None
    assert not AuditEvent.objects.filter(tag="notary.case.assigned").exists()


@pytest.mark.parametrize("role", [Role.NOTARY_CLERK, Role.NOTARY_ADMIN])
def test_someone_who_is_not_a_notary_is_refused(office: NotaryOffice, case: NotaryCase, role: str) -> None:
    admin = staff(office, Role.NOTARY_ADMIN)
    with pytest.raises(ValidationFailed) as refused:
        case_assign(case=case, notary=staff(office, role), actor=admin, ctx=CTX)
    assert "不是公证员" in refused.value.fields["notary"].zh
    case.refresh_from_db()
    assert case.assignee is None


@pytest.mark.parametrize("role", [Role.NOTARY_CLERK, Role.NOTARY])
def test_only_the_office_admin_assigns(office: NotaryOffice, case: NotaryCase, role: str) -> None:
    notary = staff(office, Role.NOTARY)
    with pytest.raises(PermissionRefused):
        case_assign(case=case, notary=notary, actor=staff(office, role), ctx=CTX)
    with pytest.raises(PermissionRefused):
        case_assign(case=case, notary=notary, actor=staff(NotaryOfficeFactory(), Role.NOTARY_ADMIN), ctx=CTX)
    case.refresh_from_db()
    assert case.assignee is None


def test_only_a_case_under_review_is_assigned(office: NotaryOffice, seller: Organisation) -> None:
    waiting = make_case(office, seller)
    with pytest.raises(InvalidTransition) as refused:
        case_assign(case=waiting, notary=staff(office, Role.NOTARY), actor=staff(office, Role.NOTARY_ADMIN), ctx=CTX)
    assert "只有审核中的案件可以指派" in refused.value.zh


def test_the_office_admin_keeps_the_calendar_and_it_is_audited(office: NotaryOffice) -> None:
    admin = staff(office, Role.NOTARY_ADMIN)
    holiday = office_calendar_day_set(
        office=office, day=date(2026, 10, 1), kind=CalendarDayKind.HOLIDAY, note="国庆节", actor=admin, ctx=CTX
    )
    office_calendar_day_set(
        office=office, day=date(2026, 9, 27), kind=CalendarDayKind.WORKING_DAY, note="国庆调休", actor=admin, ctx=CTX
    )
    calendar = office_calendar(office)
    assert not calendar.is_working_day(date(2026, 10, 1)) and calendar.is_working_day(date(2026, 9, 27))
    # Setting the same day again changes it; removing it makes it an ordinary day.
    office_calendar_day_set(
        office=office, day=date(2026, 10, 1), kind=CalendarDayKind.HOLIDAY, note="国庆节假期", actor=admin, ctx=CTX
    )
    assert OfficeCalendarDay.objects.filter(office=office).count() == 2
    office_calendar_day_remove(office=office, entry_id=holiday.pk, actor=admin, ctx=CTX)
    assert office_calendar(office).is_working_day(date(2026, 10, 1))
    tags = list(AuditEvent.objects.filter(tag__startswith="notary.calendar.").values_list("tag", flat=True))
    assert sorted(tags) == ["notary.calendar.day_removed", *["notary.calendar.day_set"] * 3]


def test_calendar_refusals_change_nothing(office: NotaryOffice) -> None:
    admin = staff(office, Role.NOTARY_ADMIN)
    with pytest.raises(ValidationFailed) as refused:
        office_calendar_day_set(
            office=office, day=date(2026, 9, 28), kind=CalendarDayKind.WORKING_DAY, note="", actor=admin, ctx=CTX
        )
    assert refused.value.fields["kind"].zh == "2026-09-28是工作日，无需设为调休上班日"
    for someone in (staff(office, Role.NOTARY), staff(NotaryOfficeFactory(), Role.NOTARY_ADMIN)):
        with pytest.raises(PermissionRefused):
            office_calendar_day_set(
                office=office, day=date(2026, 10, 1), kind=CalendarDayKind.HOLIDAY, note="", actor=someone, ctx=CTX
            )
    other_office = NotaryOfficeFactory()
    theirs = office_calendar_day_set(
        office=other_office,
        day=date(2026, 10, 1),
        kind=CalendarDayKind.HOLIDAY,
        note="",
        actor=staff(other_office, Role.NOTARY_ADMIN),
        ctx=CTX,
    )
    with pytest.raises(NotFound):
        office_calendar_day_remove(office=office, entry_id=theirs.pk, actor=admin, ctx=CTX)
    assert not OfficeCalendarDay.objects.filter(office=office).exists()
