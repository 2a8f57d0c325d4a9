"""Germination records for a village seed bank: test results, viability and which packets to regrow."""

VIABILITY_THRESHOLD = 0.75
SEEDS_PER_TEST = 20
SHELF_LIFE_YEARS = {"tomato": 5, "bean": 3, "onion": 1, "lettuce": 4}


def germination_rate(sprouted: int, sown: int = SEEDS_PER_TEST) -> float:
    """The share of sown seeds that sprouted, rounded to two decimals."""
    if sown <= 0:
        raise ValueError("at least one seed must be sown")
    if not 0 <= sprouted <= sown:
        raise ValueError("sprouted must be between 0 and the number sown")
    return round(sprouted / sown, 2)


def is_viable(sprouted: int, sown: int = SEEDS_PER_TEST) -> bool:
    """A packet stays in the bank while its germination rate is at least VIABILITY_THRESHOLD."""
    return germination_rate(sprouted, sown) >= VIABILITY_THRESHOLD


def needs_regrowing(crop: str, packed_year: int, this_year: int) -> bool:
    """A packet past its crop's shelf life is grown out again to renew the stock."""
    years = this_year - packed_year
    if years < 0:
        raise ValueError("packed_year is in the future")
    return years >= SHELF_LIFE_YEARS.get(crop, 2)


def regrow_list(packets: dict[str, int], this_year: int) -> list[str]:
    """The crops whose packets (crop -> year packed) need regrowing, in alphabetical order."""
    return sorted(crop for crop, packed in packets.items() if needs_regrowing(crop, packed, this_year))
