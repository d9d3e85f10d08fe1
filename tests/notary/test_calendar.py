"""The review deadline: 15 working days after acceptance, on the office's calendar (holidays, 调休 weekends)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecancel.core.calendar import WorkCalendar, review_due_date
from ecancel.notary.calendar import deadline_window

# The 2025 National Day arrangement: 1–8 October off, Sunday 28 September and Saturday 11 October worked.
NATIONAL_DAY_2025 = WorkCalendar(
    holidays=frozenset(date(2025, 10, d) for d in range(1, 9)),
    working_weekend_days=frozenset({date(2025, 9, 28), date(2025, 10, 11)}),
)
PLAIN = WorkCalendar()


def test_fifteen_weekdays_without_holidays() -> None:
    # Accepted on Friday 9 January 2026: the count starts on Monday the 12th, three full weeks.
    assert review_due_date(date(2026, 1, 9), PLAIN) == date(2026, 1, 30)


def test_acceptance_on_a_weekend_counts_from_the_next_working_day() -> None:
    assert review_due_date(date(2026, 1, 10), PLAIN) == date(2026, 1, 30)
    assert review_due_date(date(2026, 1, 11), PLAIN) == date(2026, 1, 30)


def test_holidays_are_skipped_and_worked_weekend_days_count() -> None:
    # 26 Sep (1), Sun 28 Sep worked (2), 29–30 Sep (3, 4), 1–8 Oct off, 9–10 Oct (5, 6), Sat 11 Oct worked (7),
    # 13–17 Oct (8–12), 20–22 Oct (13–15).
    assert review_due_date(date(2025, 9, 25), NATIONAL_DAY_2025) == date(2025, 10, 22)
    # The same days on a calendar that knows no holiday: six days earlier.
    assert review_due_date(date(2025, 9, 25), PLAIN) == date(2025, 10, 16)


def test_acceptance_inside_a_holiday_counts_from_its_end() -> None:
    # 9 Oct (1), 10 Oct (2), Sat 11 Oct (3), 13–17 (4–8), 20–24 (9–13), 27–28 (14, 15).
    assert review_due_date(date(2025, 10, 3), NATIONAL_DAY_2025) == date(2025, 10, 28)


def test_working_days_between() -> None:
    assert NATIONAL_DAY_2025.working_days_between(date(2025, 9, 30), date(2025, 10, 9)) == 1
    assert NATIONAL_DAY_2025.working_days_between(date(2025, 10, 9), date(2025, 9, 30)) == -1
    assert PLAIN.working_days_between(date(2026, 1, 9), date(2026, 1, 9)) == 0


def test_deadline_window_bounds_the_acceptance_dates() -> None:
    # On Wednesday 22 October 2025 a case accepted on 25 September is due today: not overdue, but due soon.
    window = deadline_window(date(2025, 10, 22), NATIONAL_DAY_2025)
    assert window.overdue_if_accepted_by < date(2025, 9, 25) <= window.due_soon_if_accepted_by
    # The next day it is overdue.
    assert date(2025, 9, 25) <= deadline_window(date(2025, 10, 23), NATIONAL_DAY_2025).overdue_if_accepted_by


def test_a_calendar_without_working_days_is_refused() -> None:
    closed = WorkCalendar(holidays=frozenset(date(2026, 1, 1) + timedelta(days=n) for n in range(800)))
    with pytest.raises(ValueError):
        review_due_date(date(2026, 1, 1), closed)


days = st.dates(min_value=date(2025, 1, 1), max_value=date(2027, 12, 31))


@given(
    start=days,
    day=days,
    holidays=st.frozensets(days, max_size=40),
    worked=st.frozensets(days, max_size=10),
)
def test_latest_start_due_by_agrees_with_the_due_date(
    start: date, day: date, holidays: frozenset[date], worked: frozenset[date]
) -> None:
    """Filtering by acceptance date is the same as computing every deadline."""
    calendar = WorkCalendar(holidays=holidays, working_weekend_days=worked)
    assert (start <= calendar.latest_start_due_by(day)) == (review_due_date(start, calendar) <= day)
