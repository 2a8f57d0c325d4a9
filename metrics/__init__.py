"""Reference-free quality (validators + LLM judge) and embedding diversity (sentence-transformers + faiss)."""

from agentinstruct.metrics.composite import CompositeMetric, Weights
from agentinstruct.metrics.diversity import (
    DEFAULT_DEDUP_THRESHOLD,
    Embedder,
    NoveltyIndex,
    cluster_count,
    dataset_diversity,
    distinct_n,
    entropy,
    mean_pairwise_distance,
    vendi_score,
)
from agentinstruct.metrics.judge import CRITERIA, Judge, Judgement, JudgeParseError
from agentinstruct.metrics.scoring import DEFAULT_MIN_QUALITY, RecordScore, Scorer
from agentinstruct.metrics.text import PairView, record_view, view_of
from agentinstruct.metrics.validators import VALIDATORS, Validator, degeneracy, validate, validators_for

__all__ = [
    "CRITERIA",
    "DEFAULT_DEDUP_THRESHOLD",
    "DEFAULT_MIN_QUALITY",
    "VALIDATORS",
    "CompositeMetric",
    "Embedder",
    "Judge",
    "JudgeParseError",
    "Judgement",
    "NoveltyIndex",
    "PairView",
    "RecordScore",
    "Scorer",
    "Validator",
    "Weights",
    "cluster_count",
    "dataset_diversity",
    "degeneracy",
    "distinct_n",
    "entropy",
    "mean_pairwise_distance",
    "validate",
    "validators_for",
    "vendi_score",
    "record_view",
    "view_of",
]
