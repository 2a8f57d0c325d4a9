"""Read raw seeds from files, folders, JSONL/Parquet tables and Hugging Face datasets saved on disk.

A table (or dataset) without the text column that holds conversations in a recognised chat format gives each
conversation's prose as one seed.

Every source becomes a list of `Seed`s (chunked to a maximum size, identified by a content hash). Anything that
cannot be used is reported as a `SkippedSeed` with its reason rather than failing the run, unless nothing usable
remains.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from agentinstruct.errors import UserError
from agentinstruct.formats import FORMAT_COLUMNS, UnreadableRow, chat_text, detect_format, read_chat
from agentinstruct.seeds.chunking import chunk_text

SeedKind = Literal["text", "code"]

TEXT_SUFFIXES = {".txt", ".md", ".markdown", ".rst", ".text", ""}
CODE_SUFFIXES = {
    ".py",
    ".js",
    ".mjs",
    ".ts",
    ".tsx",
    ".jsx",
    ".java",
    ".kt",
    ".go",
    ".rs",
    ".c",
    ".h",
    ".cc",
    ".cpp",
    ".hpp",
    ".cs",
    ".rb",
    ".php",
    ".swift",
    ".scala",
    ".sql",
    ".sh",
    ".bash",
    ".r",
    ".jl",
    ".lua",
    ".pl",
    ".hs",
    ".ml",
}
TABLE_SUFFIXES = {".jsonl", ".parquet"}
MIN_SEED_CHARS = 80
DEFAULT_MAX_CHARS = 2000


@dataclass(frozen=True)
class Seed:
    """One unit of raw content a skill's flows start from.

    Attributes:
        seed_id: First 16 hex digits of the SHA-256 of `text`: the same content always gets the same id.
        text: The content (one chunk of the source).
        source: Where it came from: a path, with `#row=N` and/or `#chunk=N` when the source held several.
        kind: Whether it is prose or source code; skills declare which kinds they use.
    """

    seed_id: str
    text: str
    source: str
    kind: SeedKind = "text"


@dataclass(frozen=True)
class SkippedSeed:
    """A source (or part of one) that yielded no seed, and why."""

    source: str
    reason: str


@dataclass
class SeedSet:
    """The seeds loaded from one path, and what was skipped on the way."""

    path: str
    seeds: list[Seed] = field(default_factory=list)
    skipped: list[SkippedSeed] = field(default_factory=list)


def seed_id_of(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def load_seeds(
    path: str | Path,
    *,
    text_field: str = "text",
    max_chars: int = DEFAULT_MAX_CHARS,
    kinds: Iterable[SeedKind] = ("text", "code"),
) -> SeedSet:
    """Load, chunk and de-duplicate seeds from a file or folder.

    Args:
        path: A text or source file, a `.jsonl`/`.parquet` table, a folder of any of these, or a folder written by
            `datasets.Dataset.save_to_disk`.
        text_field: The column holding the text in tables and Hugging Face datasets. A table without it that is a
            chat dataset (`agentinstruct.formats`: messages, ShareGPT, Alpaca) gives the text of its conversations:
            user, assistant and tool turns, a blank line apart.
        max_chars: Chunks are cut at paragraph, then sentence boundaries to at most this many characters.
        kinds: The seed kinds to keep; others are reported as skipped.

    Raises:
        UserError: The path does not exist or yields no usable seed.
    """
    root = Path(path).expanduser()
    if not root.exists():
        raise UserError(f"seeds path does not exist: {path}")
    if max_chars < MIN_SEED_CHARS:
        raise UserError(f"--max-chars must be at least {MIN_SEED_CHARS}, got {max_chars}")
    wanted = set(kinds)
    result = SeedSet(path=str(path))
    seen: dict[str, str] = {}
    for source, text, kind in _iter_documents(root, text_field, result.skipped):
        if kind not in wanted:
            result.skipped.append(SkippedSeed(source, f"{kind} seeds are not used by this skill"))
            continue
        chunks = chunk_text(text, max_chars)
        for index, chunk in enumerate(chunks):
            chunk_source = f"{source}#chunk={index}" if len(chunks) > 1 else source
            if len(chunk) < MIN_SEED_CHARS:
                result.skipped.append(SkippedSeed(chunk_source, f"shorter than {MIN_SEED_CHARS} characters"))
                continue
            seed_id = seed_id_of(chunk)
            if seed_id in seen:
                result.skipped.append(SkippedSeed(chunk_source, f"duplicate of {seen[seed_id]}"))
                continue
            seen[seed_id] = chunk_source
            result.seeds.append(Seed(seed_id=seed_id, text=chunk, source=chunk_source, kind=kind))
    if not result.seeds:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in result.skipped[:3])
        raise UserError(f"no usable seeds in {path}" + (f" ({reasons})" if reasons else ""))
    return result


def _iter_documents(root: Path, text_field: str, skipped: list[SkippedSeed]) -> Iterator[tuple[str, str, SeedKind]]:
    if root.is_dir() and _is_saved_hf_dataset(root):
        yield from _iter_hf_dataset(root, text_field, skipped)
        return
    files = sorted(p for p in root.rglob("*") if p.is_file() and not _is_hidden(p, root)) if root.is_dir() else [root]
    for file in files:
        suffix = file.suffix.lower()
        if suffix == ".jsonl":
            yield from _iter_jsonl(file, text_field, skipped)
        elif suffix == ".parquet":
            yield from _iter_parquet(file, text_field, skipped)
        else:
            text = _read_text_file(file, skipped)
            if text is not None:
                yield str(file), text, "code" if suffix in CODE_SUFFIXES else "text"


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _is_saved_hf_dataset(folder: Path) -> bool:
    return (folder / "state.json").is_file() or (folder / "dataset_dict.json").is_file()


def _read_text_file(file: Path, skipped: list[SkippedSeed]) -> str | None:
    try:
        raw = file.read_bytes()
    except OSError as exc:
        skipped.append(SkippedSeed(str(file), f"unreadable: {exc.strerror or exc}"))
        return None
    if b"\x00" in raw[:8192]:
        skipped.append(SkippedSeed(str(file), "binary file"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        skipped.append(SkippedSeed(str(file), "not UTF-8 text"))
        return None
    if not text.strip():
        skipped.append(SkippedSeed(str(file), "empty"))
        return None
    return text


def _row_text(row: object, source: str, text_field: str, skipped: list[SkippedSeed]) -> str | None:
    value = row.get(text_field) if isinstance(row, dict) else None
    if not isinstance(value, str) or not value.strip():
        reason = f"no text in field '{text_field}'" if isinstance(row, dict) else "row is not a JSON object"
        skipped.append(SkippedSeed(source, reason))
        return None
    return value


def _chat_seeds(
    rows: Iterable[tuple[str, object]], fmt: str, skipped: list[SkippedSeed]
) -> Iterator[tuple[str, str, SeedKind]]:
    """Seed text from the rows of a chat dataset: the prose of each conversation (`formats.chat_text`)."""
    for source, row in rows:
        try:
            if not isinstance(row, dict):
                raise UnreadableRow("row is not a JSON object")
            text = chat_text(read_chat(row, fmt))
        except UnreadableRow as exc:
            skipped.append(SkippedSeed(source, f"unreadable {fmt} row: {exc}"))
            continue
        if not text.strip():
            skipped.append(SkippedSeed(source, "no text in its turns"))
            continue
        yield source, text, "text"


def _chat_format(columns: Iterable[str], text_field: str) -> str | None:
    """The chat format of a table without the text column, whose conversations then become the seed text."""
    columns = list(columns)
    return None if text_field in columns else detect_format(columns)


def _iter_jsonl(file: Path, text_field: str, skipped: list[SkippedSeed]) -> Iterator[tuple[str, str, SeedKind]]:
    text = _read_text_file(file, skipped)
    if text is None:
        return
    rows: list[tuple[str, object]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        source = f"{file}#row={number}"
        try:
            rows.append((source, json.loads(line)))
        except json.JSONDecodeError as exc:
            skipped.append(SkippedSeed(source, f"invalid JSON: {exc.msg}"))
    fmt = _chat_format(dict.fromkeys(key for _, row in rows if isinstance(row, dict) for key in row), text_field)
    if fmt is not None:
        yield from _chat_seeds(rows, fmt, skipped)
        return
    for source, row in rows:
        value = _row_text(row, source, text_field, skipped)
        if value is not None:
            yield source, value, "text"


def _iter_parquet(file: Path, text_field: str, skipped: list[SkippedSeed]) -> Iterator[tuple[str, str, SeedKind]]:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(file)
    except Exception as exc:  # pyarrow raises several unrelated types for a bad file
        skipped.append(SkippedSeed(str(file), f"unreadable parquet: {exc}"))
        return
    fmt = _chat_format(table.column_names, text_field)
    if fmt is not None:
        present = [name for name in FORMAT_COLUMNS[fmt] if name in table.column_names]
        rows = table.select(present).to_pylist()
        yield from _chat_seeds(((f"{file}#row={n}", row) for n, row in enumerate(rows, start=1)), fmt, skipped)
        return
    if text_field not in table.column_names:
        skipped.append(SkippedSeed(str(file), f"no column '{text_field}' (columns: {', '.join(table.column_names)})"))
        return
    for number, value in enumerate(table.column(text_field).to_pylist(), start=1):
        source = f"{file}#row={number}"
        value = _row_text({text_field: value}, source, text_field, skipped)
        if value is not None:
            yield source, value, "text"


def _iter_hf_dataset(folder: Path, text_field: str, skipped: list[SkippedSeed]) -> Iterator[tuple[str, str, SeedKind]]:
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError, pyarrow errors...
        raise UserError(f"cannot load the Hugging Face dataset at {folder}: {exc}") from exc
    splits = loaded.items() if isinstance(loaded, datasets.DatasetDict) else [(None, loaded)]
    for split, dataset in splits:
        prefix = f"{folder}#split={split}" if split else str(folder)
        fmt = _chat_format(dataset.column_names, text_field)
        if fmt is not None:
            present = [name for name in FORMAT_COLUMNS[fmt] if name in dataset.column_names]
            rows = dataset.select_columns(present).to_list()
            yield from _chat_seeds(((f"{prefix}#row={n}", row) for n, row in enumerate(rows, start=1)), fmt, skipped)
            continue
        if text_field not in dataset.column_names:
            skipped.append(
                SkippedSeed(prefix, f"no column '{text_field}' (columns: {', '.join(dataset.column_names)})")
            )
            continue
        for number, value in enumerate(dataset[text_field], start=1):
            source = f"{prefix}#row={number}"
            value = _row_text({text_field: value}, source, text_field, skipped)
            if value is not None:
                yield source, value, "text"
