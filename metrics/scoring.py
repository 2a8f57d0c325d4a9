"""Score records: validators, the optional LLM judge, and novelty against the records accepted before.

One `Scorer` serves both `generate` (scoring each unit's pairs as they arrive, rejecting on the fly) and `score`
(a whole dataset in input order); the same code therefore decides what a generated dataset keeps and what a
scored one reports.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD, Embedder, NoveltyIndex
from agentinstruct.metrics.judge import CRITERIA, Judge, Judgement, JudgeParseError
from agentinstruct.metrics.lm_checks import LMChecks
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate

DEFAULT_MIN_QUALITY = 0.5


@dataclass
class RecordScore:
    """Everything measured about one record.

    `quality` is 0 when a validator fails; otherwise the judge's mean rating mapped from 1-5 to 0-1 when judged, and
    1 when not.
    """

    validator_failures: dict[str, str] = field(default_factory=dict)
    judgement: Judgement | None = None
    judge_error: str | None = None
    novelty: float = 1.0
    near_duplicate_of: Any = None

    @property
    def passed(self) -> bool:
        return not self.validator_failures

    @property
    def quality(self) -> float:
        if self.validator_failures:
            return 0.0
        return (self.judgement.overall - 1) / 4 if self.judgement else 1.0

    def as_columns(self) -> dict[str, Any]:
        """The flat per-record columns written by `score` and stored in a generated record's `scores`."""
        columns: dict[str, Any] = {
            "quality": round(self.quality, 4),
            "validator_failures": sorted(self.validator_failures),
            "validator_reasons": [self.validator_failures[name] for name in sorted(self.validator_failures)],
        }
        for name in CRITERIA:
            columns[f"judge_{name}"] = getattr(self.judgement, name) if self.judgement else None
        columns["judge_overall"] = round(self.judgement.overall, 3) if self.judgement else None
        columns["judge_rationale"] = self.judgement.rationale if self.judgement else None
        return columns

    def rejection(self, min_quality: float | None) -> str | None:
        """Why a generating run drops this record, or None when it keeps it."""
        if self.near_duplicate_of is not None:
            return f"near_duplicate_of:{self.near_duplicate_of}"
        if min_quality is not None and self.quality < min_quality:
            if self.validator_failures:
                return "validators:" + ",".join(sorted(self.validator_failures))
            return f"quality:{self.quality:.2f}<{min_quality}"
        return None


class Scorer:
    """Scores records in order, keeping the accepted ones' embeddings for novelty and near-duplicate checks.

    Args:
        skill: Adds the skill's validators (e.g. RC: a question must ask something).
        judge_lm: The judge role's LM; None skips the judge.
        lm_checks: The model-based checks (`LMChecks`) run on pairs the validators pass; None skips them.
        embedder: Embeddings for novelty; None skips novelty (every record gets 1.0 and no duplicate).
        dedup_threshold: Cosine similarity at or above which a record duplicates an accepted one.
        min_quality: Records below it are rejected (and not indexed); None keeps every record that is not a duplicate.
    """

    def __init__(
        self,
        skill: str | None = None,
        judge_lm: Any = None,
        embedder: Embedder | None = None,
        dedup_threshold: float = DEFAULT_DEDUP_THRESHOLD,
        min_quality: float | None = DEFAULT_MIN_QUALITY,
        lm_checks: LMChecks | None = None,
    ) -> None:
        self.skill = skill
        self.lm_checks = lm_checks
        self.judge_lm = judge_lm
        self.judge = Judge() if judge_lm is not None else None
        self.embedder = embedder
        self.dedup_threshold = dedup_threshold
        self.min_quality = min_quality
        self.judge_calls = 0
        self.judge_parse_failures = 0
        self._index: NoveltyIndex | None = None
        self._lock = threading.Lock()

    def assess(self, view: PairView, skill: str | None = None) -> RecordScore:
        """Validators and judge: order-free, so callers may run it on many threads. `skill` overrides the scorer's
        own for this record (a dataset that mixes skills)."""
        import dspy

        score = RecordScore(validator_failures=validate(view, skill or self.skill))
        if self.lm_checks is not None and score.passed:
            score.validator_failures.update(self.lm_checks.check(view))
        if self.judge is not None and score.passed:
            with self._lock:
                self.judge_calls += 1
            try:
                with dspy.context(lm=self.judge_lm):
                    score.judgement = self.judge(view)
            except JudgeParseError as exc:
                score.judge_error = str(exc)[:300]
                with self._lock:
                    self.judge_parse_failures += 1
        return score

    def admit(self, views: Sequence[PairView], scores: Sequence[RecordScore], ids: Sequence[Any]) -> None:
        """Novelty and near-duplicates, in order, against everything admitted before; fills the scores in place.

        A record enters the index unless it duplicates one already there or falls below `min_quality`.
        """
        if self.embedder is None or not views:
            return
        self.admit_embedded(self.embedder.embed([view.embedding_text for view in views]), scores, ids)

    def admit_embedded(self, vectors, scores: Sequence[RecordScore], ids: Sequence[Any]) -> None:
        """`admit` with the records' embeddings already computed (by a worker, off the admitting thread)."""
        with self._lock:
            for vector, score, record_id in zip(vectors, scores, ids, strict=True):
                similarity, nearest = self._index_for(vector).nearest(vector[None, :])
                best = float(similarity[0])
                if nearest[0] is not None:
                    score.novelty = max(0.0, 1.0 - best)
                    if best >= self.dedup_threshold:
                        score.near_duplicate_of = nearest[0]
                if score.rejection(self.min_quality) is None:
                    self._index.add(vector[None, :], [record_id])

    def remember(self, views: Sequence[PairView], ids: Sequence[Any]) -> None:
        """Index records kept by an earlier run (a resumed job) without scoring them again."""
        if self.embedder is None or not views:
            return
        self.remember_embedded(self.embedder.embed([view.embedding_text for view in views]), ids)

    def remember_embedded(self, vectors, ids: Sequence[Any]) -> None:
        """`remember` with the records' embeddings already computed (read back from the run's shards)."""
        if not len(vectors):
            return
        with self._lock:
            self._index_for(vectors[0]).add(vectors, list(ids))

    def _index_for(self, vector) -> NoveltyIndex:
        """The index of admitted records, created on first use with the embeddings' dimension (under the lock)."""
        if self._index is None:
            self._index = NoveltyIndex(len(vector))
        return self._index
