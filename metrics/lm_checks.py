"""A check a small local model can make where word overlap cannot: does the answer depend on the question?

`off_question` reads log-probabilities from the embedded model (no sampling, no endpoint): how much more likely the
response becomes when the model also sees the question, summed over the response's tokens,
log P(response | passage, question) - log P(response | passage). An answer that ignores the question (a summary of
the passage, a copied unrelated sentence, a fact about something else) gains nothing from it, or loses. It costs two
prompt evaluations per pair.

The threshold was chosen on the project's labelled benchmark (`benchmarks/metric_validity.py`, README "How good the
metric is"). Asked the other way round — "is this answer correct?" — the 270M model answers "yes" to nearly
everything (measured there too), so it is not used as a verifier.
"""

from __future__ import annotations

from typing import Any

from agentinstruct.metrics.text import PairView

OFF_QUESTION_BELOW = -1.0
"""Summed log-probability gain from seeing the question below which a response ignores it."""


class LMChecks:
    """The model-based check, on an engine that can score text (`EmbeddedEngine.continuation_logprobs`)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def question_gain(self, view: PairView) -> float:
        """log P(response | passage, question) - log P(response | passage), summed over the response's tokens."""
        answer = " " + view.response
        with_question = self.engine.continuation_logprobs(
            f"Passage: {view.passage}\n\nQuestion: {view.instruction}\nAnswer:", answer
        )
        without_question = self.engine.continuation_logprobs(f"Passage: {view.passage}\n\nAnswer:", answer)
        return sum(with_question) - sum(without_question)

    def check(self, view: PairView) -> dict[str, str]:
        """The failed checks by name, with their reasons (empty when the pair passes).

        Pairs without a passage are not checked, nor responses saying the passage does not tell (they rightly
        depend on the passage's silence more than on the question's words).
        """
        from agentinstruct.metrics.validators import says_passage_is_silent

        if not view.passage or not view.response or says_passage_is_silent(view.response):
            return {}
        gain = self.question_gain(view)
        if gain < OFF_QUESTION_BELOW:
            return {"off_question": f"the response does not depend on the question (log-probability gain {gain:+.1f})"}
        return {}


def embedded_lm_checks(enabled: bool) -> LMChecks | None:
    """The model checks on the process's embedded model (checked to run on this machine first), or None.

    Raises:
        UserError: The embedded model cannot run here (see `agentinstruct.lm.check_lm`).
    """
    if not enabled:
        return None
    from agentinstruct.lm import EMBEDDED, build_lm, check_lm

    lm = build_lm(EMBEDDED)
    check_lm(lm)
    return LMChecks(lm.engine)
