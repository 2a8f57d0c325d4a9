"""The LLM judge: a DSPy module rating pairs 1-5 on a written rubric, with a one-sentence rationale."""

from __future__ import annotations

from dataclasses import dataclass

import dspy

from agentinstruct.metrics.text import PairView
from agentinstruct.signatures.judge import JudgePair

CRITERIA = ("relevance", "answerability", "clarity", "difficulty", "helpfulness")

_DEMO = dspy.Example(
    passage="The Orin bridge opened in 1931. It is 420 meters long and carried 9,000 cars a day by 1960.",
    instruction="How many cars a day did the Orin bridge carry by 1960, and how long is it?",
    response="About 9,000 cars a day by 1960; the bridge is 420 meters long, as the passage states.",
    relevance=5,
    answerability=5,
    clarity=5,
    difficulty=2,
    helpfulness=4,
    rationale="It only asks to look up two stated numbers, so it is easy.",
)


@dataclass(frozen=True)
class Judgement:
    """The judge's ratings of one pair; `overall` is their mean."""

    relevance: int
    answerability: int
    clarity: int
    difficulty: int
    helpfulness: int
    rationale: str

    @property
    def overall(self) -> float:
        return sum(getattr(self, name) for name in CRITERIA) / len(CRITERIA)


class JudgeParseError(ValueError):
    """The judge's output had a rating outside 1-5 or could not be parsed."""


class Judge(dspy.Module):
    """Rates one pair; raises `JudgeParseError` when the judge LM's output is unusable, so callers can count it."""

    def __init__(self) -> None:
        super().__init__()
        self.rate = dspy.Predict(JudgePair)
        self.rate.demos = [_DEMO]

    def forward(self, view: PairView) -> Judgement:
        from dspy.utils.exceptions import AdapterParseError

        try:
            rated = self.rate(passage=view.passage, instruction=view.instruction, response=view.response)
        except AdapterParseError as exc:
            raise JudgeParseError(str(exc)) from exc
        scores = {name: getattr(rated, name) for name in CRITERIA}
        if not all(isinstance(value, int) and 1 <= value <= 5 for value in scores.values()):
            raise JudgeParseError(f"ratings outside 1-5: {scores}")
        return Judgement(**scores, rationale=(rated.rationale or "").strip())
