"""Charges and permitted stays for a town's pay-and-display car parks."""

HOURLY_RATE = {"short_stay": 1.80, "long_stay": 0.90, "coach": 4.00}
MAX_STAY_HOURS = {"short_stay": 3, "long_stay": 24, "coach": 12}
EVENING_FLAT_FEE = 2.50
EVENING_START_HOUR = 18


def charge(car_park: str, hours: float) -> float:
    """The charge in pounds for `hours` in `car_park`, each started hour paid in full."""
    if car_park not in HOURLY_RATE:
        raise ValueError(f"unknown car park: {car_park}")
    if hours <= 0:
        raise ValueError("hours must be positive")
    if hours > MAX_STAY_HOURS[car_park]:
        raise ValueError(f"the longest stay in {car_park} is {MAX_STAY_HOURS[car_park]} hours")
    started_hours = int(hours) if hours == int(hours) else int(hours) + 1
    return round(started_hours * HOURLY_RATE[car_park], 2)


def evening_charge(car_park: str, arrival_hour: int, hours: float) -> float:
    """After EVENING_START_HOUR the flat evening fee applies, unless the hourly charge is lower."""
    if arrival_hour >= EVENING_START_HOUR:
        return min(EVENING_FLAT_FEE, charge(car_park, hours))
    return charge(car_park, hours)


def change_due(paid: float, car_park: str, hours: float) -> float:
    """The change from `paid` pounds; the meter gives no change below 10 pence."""
    owed = charge(car_park, hours)
    if paid < owed:
        raise ValueError(f"{owed - paid:.2f} pounds still to pay")
    change = paid - owed
    return round(change, 2) if change >= 0.10 else 0.0
