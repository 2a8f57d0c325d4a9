"""A predictor that always shows its hand-written starter demos, whatever an optimizer does to its `demos`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dspy


class StarterPredict(dspy.Predict):
    """`dspy.Predict` whose starter demos are part of every call, after the demos an optimizer set (nearest the input).

    Optimizers reset, replace and extend `demos` (BootstrapFewShot resets the student; random search and MIPROv2
    score candidates built on `reset_copy()`). Keeping the starters outside `demos` means every candidate is scored
    exactly as it will run, and a small base model never loses its only worked example. The saved state holds only
    what an optimizer found; the starters come with the skill.

    Args:
        signature: The predictor's signature.
        starter_demos: The hand-written worked examples.
    """

    def __init__(self, signature: Any, starter_demos: Sequence[dspy.Example], **config: Any) -> None:
        super().__init__(signature, **config)
        self.starter_demos = list(starter_demos)

    def _forward_preprocess(self, **kwargs: Any):
        if "demos" not in kwargs:
            kwargs["demos"] = [*self.demos, *(demo for demo in self.starter_demos if demo not in self.demos)]
        return super()._forward_preprocess(**kwargs)
