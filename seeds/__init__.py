"""Raw seeds: loaders for files, folders, tables and saved datasets; chunking; content-hash ids; a sample corpus."""

from pathlib import Path

from agentinstruct.seeds.chunking import chunk_text
from agentinstruct.seeds.loaders import DEFAULT_MAX_CHARS, Seed, SeedKind, SeedSet, SkippedSeed, load_seeds, seed_id_of

BUNDLED_CORPUS = Path(__file__).parent / "corpus"
"""A small corpus written for this project: prose across varied domains, plus a few source files."""

__all__ = [
    "BUNDLED_CORPUS",
    "DEFAULT_MAX_CHARS",
    "Seed",
    "SeedKind",
    "SeedSet",
    "SkippedSeed",
    "chunk_text",
    "load_seeds",
    "seed_id_of",
]
