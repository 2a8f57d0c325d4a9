"""The composite metric DSPy optimizers climb: validators, judge and novelty of a pipeline's pairs, weighted.

It takes the two forms DSPy calls: `metric(example, pred, trace=None)` (a float; while bootstrapping, when `trace` is
set, a strict bool: every pair passes the validators' tighter demonstration checks and the score reaches the
threshold) and GEPA's `metric(gold, pred, trace, pred_name, pred_trace)` returning
`dspy.Prediction(score=..., feedback=...)`, whose feedback names the failed validators and the judge's rationale.
It is reference-free: the example only supplies the seed.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import dspy

from agentinstruct.metrics.diversity import Embedder, NoveltyIndex
from agentinstruct.metrics.scoring import RecordScore, Scorer
from agentinstruct.metrics.text import PairView, view_of
from agentinstruct.metrics.validators import validate


@dataclass(frozen=True)
class Weights:
    """Weights of the composite score's parts (normalised by their sum; the judge's weight counts only when judged)."""

    validators: float = 0.6
    judge: float = 0.2
    novelty: float = 0.2


class CompositeMetric:
    """Scores one pipeline prediction (all pairs of one seed) in [0, 1].

    Per pair: validator pass (1 or 0), the judge's mean rating mapped to 0-1, and novelty against the pool of pairs
    this metric accepted for *other* seeds (so re-evaluating a seed never competes with its own earlier outputs).
    A prediction with no pairs scores 0.

    Args:
        skill: Skill name, for the skill's validators.
        judge_lm: The judge's LM; None leaves the judge out.
        embedder: Embeddings for novelty; None leaves novelty out.
        weights: How the parts combine.
        bootstrap_threshold: The score a prediction needs to count as a success when `trace` is set.
        lm_checks: The model checks (`LMChecks`) the validators' verdict includes, as in `generate`.
    """

    def __init__(
        self,
        skill: str | None = None,
        judge_lm: Any = None,
        embedder: Embedder | None = None,
        weights: Weights = Weights(),
        bootstrap_threshold: float = 0.7,
        lm_checks: Any = None,
    ) -> None:
        self.scorer = Scorer(skill=skill, judge_lm=judge_lm, embedder=None, min_quality=None, lm_checks=lm_checks)
        self.embedder = embedder
        self.weights = weights
        self.bootstrap_threshold = bootstrap_threshold
        self._pool: NoveltyIndex | None = None
        self._lock = threading.Lock()
        self._last = threading.local()

    @property
    def last_details(self) -> tuple[list[RecordScore], list[float | None]]:
        """The per-pair scores and novelties of this thread's last `evaluate` (for reports, without re-judging)."""
        return getattr(self._last, "scores", []), getattr(self._last, "novelties", [])

    def __call__(self, example: Any, pred: Any, trace: Any = None) -> float | bool:
        score, _ = self.evaluate(example, pred)
        if trace is not None:
            # Every traced call becomes a demonstration: one pair that fails, or passes only by a hair, spoils it.
            views = getattr(self._last, "views", [])
            return (
                score >= self.bootstrap_threshold
                and bool(views)
                and all(not validate(view, self.scorer.skill, for_demo=True) for view in views)
            )
        return score

    def feedback(
        self, gold: Any, pred: Any, trace: Any = None, pred_name: str | None = None, pred_trace: Any = None
    ) -> dspy.Prediction:
        """GEPA's form: the score and a textual feedback on what to fix."""
        score, notes = self.evaluate(gold, pred)
        return dspy.Prediction(score=score, feedback=notes)

    def evaluate(self, example: Any, pred: Any) -> tuple[float, str]:
        samples = list(getattr(pred, "samples", None) or [])
        self._last.scores, self._last.novelties, self._last.views = [], [], []
        if not samples:
            failures = getattr(pred, "failures", None) or []
            reasons = "; ".join(f"{f.stage}: {f.reason} ({f.detail})" for f in failures[:3])
            return 0.0, "No pair was produced." + (f" Failures: {reasons}" if reasons else "")
        views = [view_of(sample.messages, sample.context, sample.tools, sample.execution) for sample in samples]
        scores = [self.scorer.assess(view) for view in views]
        novelties = self._novelty(views, scores, _seed_key(example))
        self._last.scores, self._last.novelties, self._last.views = scores, novelties, views
        totals, notes = [], []
        for view, score, novelty in zip(views, scores, novelties, strict=True):
            totals.append(self._combine(score, novelty))
            notes.append(_note(view, score, novelty))
        return sum(totals) / len(totals), "\n".join(notes)

    def _combine(self, score: RecordScore, novelty: float | None) -> float:
        parts = [(self.weights.validators, 1.0 if score.passed else 0.0)]
        if score.judgement is not None:
            parts.append((self.weights.judge, (score.judgement.overall - 1) / 4))
        if novelty is not None:
            parts.append((self.weights.novelty, novelty if score.passed else 0.0))
        weight = sum(w for w, _ in parts)
        return sum(w * value for w, value in parts) / weight if weight else 0.0

    def _novelty(self, views: list[PairView], scores: list[RecordScore], seed_key: str) -> list[float | None]:
        if self.embedder is None:
            return [None] * len(views)
        vectors = self.embedder.embed([view.embedding_text for view in views])
        novelties: list[float | None] = []
        with self._lock:
            if self._pool is None:
                self._pool = NoveltyIndex(vectors.shape[1])
            for vector, score in zip(vectors, scores, strict=True):
                others = [similarity for similarity, key in self._pool.search(vector, 16) if key != seed_key]
                novelties.append(1.0 - max(others) if others else 1.0)
                if score.passed:
                    self._pool.add(vector[None, :], [seed_key])
        return [None if n is None else max(0.0, min(1.0, n)) for n in novelties]


def _seed_key(example: Any) -> str:
    getter = example.get if hasattr(example, "get") else lambda key, default=None: getattr(example, key, default)
    return str(getter("seed_id", None) or hash(getter("seed", "")))


def _note(view: PairView, score: RecordScore, novelty: float | None) -> str:
    parts = [f"Instruction: {view.instruction[:160]!r}."]
    if score.validator_failures:
        parts.append("Failed validators: " + "; ".join(f"{k} ({v})" for k, v in score.validator_failures.items()) + ".")
    else:
        parts.append("Passed all validators.")
    if score.judgement is not None:
        parts.append(f"Judge {score.judgement.overall:.1f}/5: {score.judgement.rationale}")
    elif score.judge_error:
        parts.append("The judge's output could not be parsed.")
    if novelty is not None and novelty < 0.2:
        parts.append(f"Too similar to pairs of other seeds (novelty {novelty:.2f}).")
    return " ".join(parts)
