"""A thread-safe token-bucket rate limiter.

A bucket holds up to ``capacity`` tokens and is refilled continuously at
``rate`` tokens per second. Each request spends one or more tokens; when the
bucket is empty, requests are refused (or made to wait) until it refills.
"""

import threading
import time


class TokenBucket:
    """Token-bucket limiter allowing short bursts up to ``capacity``.

    Args:
        rate: Tokens added per second. Must be positive.
        capacity: Maximum number of tokens the bucket can hold.
        clock: Function returning the current time in seconds; injectable for tests.
    """

    def __init__(self, rate, capacity, clock=time.monotonic):
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = float(rate)
        self.capacity = float(capacity)
        self._clock = clock
        self._tokens = float(capacity)
        self._last = clock()
        self._lock = threading.Lock()

    def _refill(self):
        """Add tokens for the time elapsed since the last refill."""
        now = self._clock()
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
        self._last = now

    def try_acquire(self, tokens=1):
        """Spend ``tokens`` if available and return True; otherwise return False."""
        if tokens > self.capacity:
            raise ValueError("cannot acquire more tokens than the capacity")
        with self._lock:
            self._refill()
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def wait_time(self, tokens=1):
        """Return the seconds to wait until ``tokens`` could be acquired."""
        with self._lock:
            self._refill()
            missing = tokens - self._tokens
            return max(0.0, missing / self.rate)

    def acquire(self, tokens=1):
        """Block until ``tokens`` are available, then spend them."""
        while not self.try_acquire(tokens):
            time.sleep(self.wait_time(tokens))


if __name__ == "__main__":
    bucket = TokenBucket(rate=5, capacity=10)
    allowed = sum(bucket.try_acquire() for _ in range(15))
    print(f"allowed {allowed} of 15 requests in a burst")  # about 10
