"""Library loan rules: due dates, overdue fines and renewals for a small branch library."""

from datetime import date, timedelta

LOAN_DAYS = {"book": 21, "dvd": 7, "magazine": 7}
DAILY_FINE = {"book": 0.20, "dvd": 1.00, "magazine": 0.10}
MAX_FINE = 10.00
MAX_RENEWALS = 2


def due_date(borrowed: date, item_type: str) -> date:
    """The date an item of `item_type` borrowed on `borrowed` is due back."""
    return borrowed + timedelta(days=LOAN_DAYS[item_type])


def overdue_fine(due: date, returned: date, item_type: str) -> float:
    """The fine for returning an item on `returned` when it was due on `due`, capped at MAX_FINE."""
    days_late = (returned - due).days
    if days_late <= 0:
        return 0.0
    return round(min(days_late * DAILY_FINE[item_type], MAX_FINE), 2)


def can_renew(renewals_so_far: int, reserved_by_someone: bool) -> bool:
    """Whether a loan may be renewed again: not if reserved, and at most MAX_RENEWALS times."""
    return not reserved_by_someone and renewals_so_far < MAX_RENEWALS
