"""Convert temperatures between Celsius, Fahrenheit and Kelvin, and summarise a week of readings."""


def celsius_to_fahrenheit(celsius: float) -> float:
    """Return the Fahrenheit value of a Celsius temperature."""
    return celsius * 9 / 5 + 32


def fahrenheit_to_celsius(fahrenheit: float) -> float:
    """Return the Celsius value of a Fahrenheit temperature."""
    return (fahrenheit - 32) * 5 / 9


def celsius_to_kelvin(celsius: float) -> float:
    """Return the Kelvin value of a Celsius temperature; below absolute zero is an error."""
    if celsius < -273.15:
        raise ValueError("below absolute zero")
    return celsius + 273.15


def weekly_summary(readings: list[float]) -> dict:
    """Return the lowest, highest and mean of a list of Celsius readings."""
    if not readings:
        raise ValueError("no readings")
    return {"low": min(readings), "high": max(readings), "mean": sum(readings) / len(readings)}
