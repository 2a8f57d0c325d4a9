"""Content Transformation Flow as a DSPy module: one predictor per transformation agent."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.agents import IDENTITY, TransformationAgent
from agentinstruct.signatures.transformation import TransformContent


class ContentTransformation(dspy.Module):
    """Rewrites a seed with the named agent; each agent starts with one worked demo on the skill's demo passage.

    The identity agent keeps the seed unchanged without an LM call, so it has no predictor to tune. A skill's
    transformations made by code (`Behaviour.transform`) come first: where they make a text, no LM is called.
    """

    def __init__(
        self,
        agents: Sequence[TransformationAgent],
        demo_passage: str,
        by_code: Callable[[str, str, dict], str | None] | None = None,
    ) -> None:
        super().__init__()
        self._by_code = by_code
        self.agents = {}
        for agent in agents:
            if agent.name == IDENTITY:
                continue
            predictor = StarterPredict(
                TransformContent.with_instructions(agent.instruction),
                [dspy.Example(text=demo_passage, transformed=agent.demo_output)],
            )
            self.agents[agent.name] = predictor

    def forward(self, text: str, transformation: str, config: dict | None = None) -> dspy.Prediction:
        made = self._by_code(text, transformation, config or {}) if self._by_code else None
        if made is not None:
            return dspy.Prediction(transformed=made)
        if transformation == IDENTITY:
            return dspy.Prediction(transformed=text)
        return self.agents[transformation](text=text, config=config or {})
