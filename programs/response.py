"""The teacher: answers each final instruction."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.response import response_signature
from agentinstruct.signatures.skill_data import Wording


class Response(dspy.Module):
    """Answers an instruction about a source text, following the skill's response instruction and demos."""

    def __init__(self, demos: Sequence[tuple[str, str]], demo_source: str, wording: Wording, instruction: str) -> None:
        super().__init__()
        self._wording = wording
        self.respond = StarterPredict(
            response_signature(wording, instruction),
            [
                dspy.Example(**{wording.source: demo_source, wording.instruction: q, wording.response: a})
                for q, a in demos
            ],
        )

    def forward(self, passage: str, instruction: str, config: dict | None = None) -> dspy.Prediction:
        wording = self._wording
        result = self.respond(**{wording.source: passage, wording.instruction: instruction}, config=config or {})
        return dspy.Prediction(answer=getattr(result, wording.response))
