"""Raw seeds: loaders for files, folders, tables and saved datasets; chunking; content-hash ids; a sample corpus."""

from pathlib import Path

from agentinstruct.seeds.chunking import chunk_text
from agentinstruct.seeds.loaders import DEFAULT_MAX_CHARS, Seed, SeedKind, SeedSet, SkippedSeed, load_seeds, seed_id_of

BUNDLED_CORPUS = Path(__file__).parent / "corpus"
"""A small corpus written for this project: prose across varied domains, plus a few source files."""
BUNDLED = "bundled"
"""What `--seeds` names the bundled corpus by."""


def seeds_path(value: str) -> str:
    """`bundled` names the sample corpus shipped with the package; anything else is a path."""
    return str(BUNDLED_CORPUS) if value == BUNDLED else value


__all__ = [
    "BUNDLED",
    "BUNDLED_CORPUS",
    "DEFAULT_MAX_CHARS",
    "Seed",
    "SeedKind",
    "SeedSet",
    "SkippedSeed",
    "chunk_text",
    "load_seeds",
    "seed_id_of",
    "seeds_path",
]
