"""Working days, as offices and the filing authority count deadlines: weekdays, less holidays, plus the weekend days
worked instead (调休上班). Pure: the calendar and the days are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

# 公证程序规则: a notary office finishes a case within 15 working days, counted from the day after acceptance.
REVIEW_WORKING_DAYS = 15
# No office closes for this long in a row: a calendar that claims so is wrong, not a reason to loop for ever.
LONGEST_CLOSURE = timedelta(days=366)

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class WorkCalendar:
    """Which days an office works: weekdays, less its holidays, plus the weekend days listed as working days."""

    holidays: frozenset[date] = field(default_factory=frozenset)
    working_weekend_days: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() < 5 or day in self.working_weekend_days

    def nth_working_day(self, day: date, count: int, *, backwards: bool = False) -> date:
        """The ``count``-th working day from ``day`` on (or back); ``day`` itself counts when it is one."""
        if count < 1:
            raise ValueError("count must be at least 1")
        direction = -ONE_DAY if backwards else ONE_DAY
        found, idle = 0, timedelta(0)
        while True:
            if self.is_working_day(day):
                found, idle = found + 1, timedelta(0)
                if found == count:
                    return day
            elif idle > LONGEST_CLOSURE:
                raise ValueError("the calendar has no working day for a whole year")
            day, idle = day + direction, idle + ONE_DAY

    def add_working_days(self, start: date, count: int) -> date:
        """The ``count``-th working day after ``start`` (``start`` itself not counted); ``count`` ≥ 1."""
        return self.nth_working_day(start + ONE_DAY, count)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after ``start`` up to and including ``end`` (negative when ``end`` is before it)."""
        if end < start:
            return -self.working_days_between(end, start)
        return sum(1 for n in range(1, (end - start).days + 1) if self.is_working_day(start + timedelta(days=n)))

    def latest_start_due_by(self, day: date, count: int = REVIEW_WORKING_DAYS) -> date:
        """The last acceptance date whose deadline (``count`` working days) is ``day`` or earlier.

        Deadlines never go back when acceptance moves later, so "due by ``day``" is "accepted on or before this
        date" — which is how a list filters by deadline in the database without computing one per row.
        """
        return self.nth_working_day(day, count, backwards=True) - ONE_DAY


def review_due_date(accepted_on: date, calendar: WorkCalendar, *, days: int = REVIEW_WORKING_DAYS) -> date:
    """The last day to finish the review of a case accepted on ``accepted_on``."""
    return calendar.add_working_days(accepted_on, days)
