"""Working days of a notary office and the review deadline counted in them.

A notary office must finish a case within 15 working days of accepting it (公证程序规则: the period starts the day
after acceptance). Saturdays and Sundays are off unless the office lists them as working days (调休上班), and the
office lists its public holidays. Everything here is pure: the calendar and the day to judge at are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ecancel.core.calendar import ONE_DAY, WorkCalendar

# A case is "due soon" when its deadline falls within this many working days, counting today if it is one.
DUE_SOON_WORKING_DAYS = 3


@dataclass(frozen=True)
class DeadlineWindow:
    """Acceptance-date bounds of the queue's deadline filters, for one office on one day."""

    overdue_if_accepted_by: date  # accepted on or before: the deadline has passed
    due_soon_if_accepted_by: date  # accepted on or before (and not overdue): due within DUE_SOON_WORKING_DAYS


def deadline_window(today: date, calendar: WorkCalendar) -> DeadlineWindow:
    soon_until = calendar.nth_working_day(today, DUE_SOON_WORKING_DAYS)
    return DeadlineWindow(
        overdue_if_accepted_by=calendar.latest_start_due_by(today - ONE_DAY),
        due_soon_if_accepted_by=calendar.latest_start_due_by(soon_until),
    )
