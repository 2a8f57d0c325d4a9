"""The teacher: answers each final instruction."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.response import Respond


class Response(dspy.Module):
    """Answers an instruction about a passage; starts with the skill's response demos."""

    def __init__(self, demos: Sequence[tuple[str, str]], demo_passage: str) -> None:
        super().__init__()
        self.respond = StarterPredict(
            Respond, [dspy.Example(passage=demo_passage, question=q, answer=a) for q, a in demos]
        )

    def forward(self, passage: str, instruction: str, config: dict | None = None) -> dspy.Prediction:
        return self.respond(passage=passage, question=instruction, config=config or {})
