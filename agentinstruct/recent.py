"""A bounded map of the most recently used values, shared between threads (formatted prompts, embeddings)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class RecentValues:
    """The values of the `size` most recently used keys; shared between threads."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def found(self, keys: Iterable[Hashable]) -> dict[Hashable, Any]:
        """The values held for `keys` (each now the most recently used); keys not held are left out."""
        with self._lock:
            held = {}
            for key in keys:
                if key in self._values:
                    self._values.move_to_end(key)
                    held[key] = self._values[key]
            return held

    def add(self, values: Mapping[Hashable, Any]) -> None:
        """Hold `values`, dropping the least recently used beyond `size`."""
        with self._lock:
            for key, value in values.items():
                self._values[key] = value
                self._values.move_to_end(key)
            while len(self._values) > self.size:
                self._values.popitem(last=False)

    def get_or_make(self, key: Hashable, make: Callable[[], T]) -> T:
        held = self.found([key])
        if key in held:
            return held[key]
        value = make()  # outside the lock: two threads may both make a missing value, never a different one
        self.add({key: value})
        return value

    def __len__(self) -> int:
        return len(self._values)
