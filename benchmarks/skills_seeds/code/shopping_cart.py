"""A small shopping cart: add items, remove them, apply a percentage discount code and total the bill."""

DISCOUNT_CODES = {"SPRING10": 10, "STAFF25": 25}


class Cart:
    def __init__(self) -> None:
        self.items: dict[str, tuple[float, int]] = {}
        self.discount = 0

    def add(self, name: str, price: float, quantity: int = 1) -> None:
        """Add `quantity` of an item at `price` each; adding an item again raises its quantity."""
        if price < 0 or quantity < 1:
            raise ValueError("price must be >= 0 and quantity >= 1")
        old_price, old_quantity = self.items.get(name, (price, 0))
        self.items[name] = (price, old_quantity + quantity)

    def remove(self, name: str) -> None:
        """Remove an item entirely; removing an unknown item raises KeyError."""
        del self.items[name]

    def apply_code(self, code: str) -> None:
        """Apply a discount code from DISCOUNT_CODES; an unknown code raises ValueError."""
        if code not in DISCOUNT_CODES:
            raise ValueError(f"unknown code {code}")
        self.discount = DISCOUNT_CODES[code]

    def total(self) -> float:
        """The bill after the discount, rounded to cents."""
        subtotal = sum(price * quantity for price, quantity in self.items.values())
        return round(subtotal * (100 - self.discount) / 100, 2)
