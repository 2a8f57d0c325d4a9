"""A least-recently-used (LRU) cache built on collections.OrderedDict."""

from collections import OrderedDict


class LRUCache:
    """Fixed-size mapping that evicts the least recently used entry.

    Both ``get`` and ``put`` run in O(1) time: OrderedDict keeps keys in
    insertion order and can move a key to the end in constant time, so the
    first key is always the least recently used one.
    """

    def __init__(self, capacity):
        if capacity <= 0:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._data = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key, default=None):
        """Return the value for ``key`` and mark it as most recently used."""
        if key not in self._data:
            self.misses += 1
            return default
        self.hits += 1
        self._data.move_to_end(key)
        return self._data[key]

    def put(self, key, value):
        """Insert or update ``key``, evicting the oldest entry if full."""
        if key in self._data:
            self._data.move_to_end(key)
        self._data[key] = value
        if len(self._data) > self.capacity:
            self._data.popitem(last=False)

    def __contains__(self, key):
        return key in self._data

    def __len__(self):
        return len(self._data)


if __name__ == "__main__":
    cache = LRUCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.get("a")  # "a" is now most recently used
    cache.put("c", 3)  # evicts "b"
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    print(f"hits={cache.hits} misses={cache.misses} size={len(cache)}")
