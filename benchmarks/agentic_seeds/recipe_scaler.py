"""Scale a recipe to a different number of servings and convert a few kitchen units."""

GRAMS_PER_CUP = {"flour": 125, "sugar": 200, "butter": 227}


def scale_quantity(quantity: float, servings_from: int, servings_to: int) -> float:
    """The quantity of an ingredient for `servings_to` servings, given the amount for `servings_from`."""
    if servings_from <= 0 or servings_to <= 0:
        raise ValueError("servings must be positive")
    return quantity * servings_to / servings_from


def cups_to_grams(cups: float, ingredient: str) -> float:
    """Convert cups of an ingredient to grams; unknown ingredients raise KeyError."""
    return cups * GRAMS_PER_CUP[ingredient]


def oven_fahrenheit(celsius: int) -> int:
    """An oven temperature in Fahrenheit, rounded to the nearest 5 degrees as oven dials are."""
    fahrenheit = celsius * 9 / 5 + 32
    return int(5 * round(fahrenheit / 5))
