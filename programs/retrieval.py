"""The corpus a retrieval-augmented skill searches: the job's seeds cut into passages, embedded once, searched by faiss.

A unit of work sees only its own seed. A skill whose `Behaviour.uses_corpus` is set also needs the job's *other* seeds
(the distractors a retriever would return beside the relevant passage), so whoever builds its pipeline hands it a
`Retriever` over them: the runner puts the job's seeds into the `UnitSpec` as plain data (`job_corpus`) and each
worker builds one `Retriever` from them (its index is built on the first search, once per worker, not per unit);
compile builds one over its train seeds.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from agentinstruct.errors import UserError

if TYPE_CHECKING:
    from agentinstruct.programs.skills import Skill
    from agentinstruct.seeds import Seed

PASSAGE_CHARS = 700
"""Retrieved passages are cut to at most this many characters (at paragraph, then sentence boundaries)."""
MIN_CORPUS_SEEDS = 2
MAX_CORPUS_SEEDS = 5000
"""A job with more seeds searches an evenly spaced sample of this many: every worker embeds its corpus once, at about
a few hundred passages a second on a CPU."""

Embed = Callable[[list[str]], Any]
"""Texts -> unit-norm float32 embeddings, one row per text (`Embedder.embed`, `EmbeddingBatcher.embed`)."""


def passages_of(text: str, max_chars: int = PASSAGE_CHARS) -> list[str]:
    """`text` cut into passages of at most `max_chars`, each on its own without blank lines (so a list of numbered
    passages a blank line apart reads back unambiguously)."""
    from agentinstruct.seeds.chunking import chunk_text

    pieces = (re.sub(r"\n\s*\n", "\n", chunk).strip() for chunk in chunk_text(text, max_chars))
    return [piece for piece in pieces if piece]


@dataclass(frozen=True)
class Passage:
    """One retrievable passage and the seed it was cut from."""

    seed_id: str
    text: str
    score: float = 0.0


class Retriever:
    """Exact inner-product search (faiss `IndexFlatIP` over unit-norm embeddings) over the corpus's passages.

    Thread-safe; the index is built on the first search. Copying a pipeline (optimizers deep-copy their candidates)
    shares the retriever: it is read-only once built.

    Args:
        corpus: (seed id, text) pairs: the job's seeds.
        embed: Embeds texts (unit-norm rows).
        passage_chars: The most characters per passage.
    """

    def __init__(self, corpus: Sequence[Sequence[str]], embed: Embed, passage_chars: int = PASSAGE_CHARS) -> None:
        self.passages = [
            Passage(str(seed_id), text)
            for seed_id, seed_text in corpus
            for text in passages_of(seed_text, passage_chars)
        ]
        self._per_seed: dict[str, int] = {}
        for passage in self.passages:
            self._per_seed[passage.seed_id] = self._per_seed.get(passage.seed_id, 0) + 1
        self._embed = embed
        self._index: Any = None
        self._lock = threading.Lock()

    def __deepcopy__(self, memo: dict) -> Retriever:
        return self

    def __len__(self) -> int:
        return len(self.passages)

    def __repr__(self) -> str:  # what traces show of a responder's inputs: not the whole corpus
        return f"Retriever({len(self.passages)} passages from {len(self._per_seed)} seeds)"

    def _built(self) -> Any:
        with self._lock:
            if self._index is None:
                import faiss
                import numpy as np

                vectors = np.ascontiguousarray(self._embed([p.text for p in self.passages]), dtype=np.float32)
                index = faiss.IndexFlatIP(vectors.shape[1])
                index.add(vectors)
                self._index = index
            return self._index

    def search(self, query: str, k: int, exclude_seed: str, avoid: Sequence[str] = ()) -> list[Passage]:
        """The `k` passages most similar to `query`, best first, none cut from `exclude_seed` and none whose text is
        one of (or inside one of) `avoid` (whitespace aside); fewer when the corpus has fewer."""
        import numpy as np

        if not self.passages or k < 1:
            return []
        index = self._built()
        vector = np.ascontiguousarray(self._embed([query]), dtype=np.float32).reshape(1, -1)
        avoided = [_flat(text) for text in avoid]
        wanted = min(len(self.passages), k + self._per_seed.get(exclude_seed, 0) + 8)
        while True:
            scores, positions = index.search(vector, wanted)
            found: list[Passage] = []
            seen: set[str] = set()
            for score, position in zip(scores[0], positions[0], strict=True):
                if position < 0:
                    continue
                passage = self.passages[position]
                flat = _flat(passage.text)
                if passage.seed_id == exclude_seed or flat in seen or any(flat in other for other in avoided):
                    continue
                seen.add(flat)
                found.append(Passage(passage.seed_id, passage.text, float(score)))
                if len(found) == k:
                    return found
            if wanted >= len(self.passages):
                return found
            wanted = len(self.passages)


def _flat(text: str) -> str:
    return " ".join(text.split())


def job_corpus(skill: Skill, seeds: Sequence[Seed]) -> list[list[str]] | None:
    """The job's seeds as [seed id, text] pairs (JSON data for a `UnitSpec`) when the skill's responder retrieves from
    them, else None.

    Raises:
        UserError: The skill retrieves, and the job has fewer than two seeds (no other seed to draw distractors from).
    """
    if not skill.behaviour.uses_corpus:
        return None
    if len({seed.seed_id for seed in seeds}) < MIN_CORPUS_SEEDS:
        raise UserError(
            f"the {skill.name} skill retrieves distractor passages from the job's other seeds, so it needs at least "
            f"{MIN_CORPUS_SEEDS} seeds; got {len(seeds)} (add seed files, or lower --max-chars to cut long ones into "
            "several chunks)"
        )
    step = max(1, -(-len(seeds) // MAX_CORPUS_SEEDS))
    return [[seed.seed_id, seed.text] for seed in list(seeds)[::step]]


def corpus_retriever(skill: Skill, seeds: Sequence[Seed], embed: Embed) -> Retriever | None:
    """A `Retriever` over `seeds` for a skill that retrieves (checked as `job_corpus` checks), else None."""
    corpus = job_corpus(skill, seeds)
    return Retriever(corpus, embed) if corpus is not None else None
