"""An LM-call budget for optimizers: after the cap every call fails fast, so any optimizer winds down cleanly.

DSPy optimizers have no common budget knob. Failing calls instead of stopping the optimizer keeps every optimizer's
own control flow intact: the pipeline reports failed stages, the metric scores them 0, and the optimizer finishes
with the best program it found before the cap.
"""

from __future__ import annotations

import threading
from typing import Any

import dspy


class BudgetExhausted(RuntimeError):
    """The compile's LM-call budget is spent."""


class CallBudget:
    """A thread-safe count of LM calls against an optional cap (None: unlimited)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.spent = 0
        self.refused = 0
        self._lock = threading.Lock()

    def take(self) -> None:
        with self._lock:
            if self.limit is not None and self.spent >= self.limit:
                self.refused += 1
                raise BudgetExhausted(f"LM-call budget of {self.limit} spent")
            self.spent += 1

    @property
    def exhausted(self) -> bool:
        return self.limit is not None and self.spent >= self.limit


class BudgetedLM:
    """Mixin for a `dspy.LM` (of any subclass) whose calls draw on a shared `CallBudget`; copies share it."""

    budget: CallBudget
    _classes: dict[type, type] = {}

    @classmethod
    def wrap(cls, lm: dspy.LM, budget: CallBudget) -> dspy.LM:
        """A copy of `lm` that spends `budget`; it keeps `lm`'s class behaviour (engine, DummyLM answers, ...)."""
        base = type(lm)
        if base not in cls._classes:
            cls._classes[base] = type(f"Budgeted{base.__name__}", (cls, base), {})
        wrapped = lm.copy()
        wrapped.__class__ = cls._classes[base]
        wrapped.budget = budget
        return wrapped

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.budget.take()
        return super().__call__(*args, **kwargs)
