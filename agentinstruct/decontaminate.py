"""Benchmark decontamination: drop records that share a word n-gram with a benchmark item.

What counts as a match:

- Text is normalised first: Unicode NFKC, casefolded, every run of punctuation (anything but letters, digits and
  whitespace) turned into a space, whitespace collapsed. So re-cased, re-spaced and re-punctuated copies match.
- A record matches when one of its texts (each message's content, and its `context`) contains `n` consecutive words
  (default 13, the usual choice since GPT-3) that also occur consecutively in one text of a benchmark item. A window
  never spans two turns, or two fields of an item.
- A benchmark text shorter than `n` words matches when the record contains it whole (as consecutive words); texts
  shorter than `MIN_ITEM_WORDS` are skipped (and counted), since a three-word answer such as "the United States"
  occurs in countless clean records. This is the GPT-3 paper's floor on its per-benchmark n.

The index is compact: one sorted `uint64` array of n-gram hashes and one `uint16` array naming each hash's source
(about 10 bytes per distinct n-gram, so 100k items of ~100 words take under 100 MB). A hash is stable across processes
and machines (never Python's salted `hash`): each word is hashed with blake2b (8 bytes) and a window's hash is a
polynomial in its words' hashes modulo 2^64, computed with numpy for all windows at once. Two distinct 13-grams
share a hash with probability about 2^-64, so a hit is not re-checked against the item's text; the reject reason
names the matched words as they appear (normalised) in the record.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import time
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.options import option

DEFAULT_NGRAM = 13
MIN_ITEM_WORDS = 8
"""Benchmark texts shorter than this many words (or than n, if n is smaller) are not indexed."""
REASON = "contaminated"
"""The rejection kind: a rejected row's `rejection` is `contaminated:<source>:<matched n-gram>`."""
BENCHMARK_SUFFIXES = (".jsonl", ".json", ".parquet", ".txt")
_PUNCTUATION = re.compile(r"[\W_]+")
_MULTIPLIER = 0x9E3779B97F4A7C15  # odd, so multiplying by it is a bijection modulo 2^64
_CHUNK_RECORDS = 2000
"""Records checked per numpy pass: large enough to amortise numpy's per-call cost, small enough to keep memory flat."""


def normalise(text: str) -> str:
    """NFKC, casefold, punctuation to spaces, whitespace collapsed (see the module docstring)."""
    return " ".join(_PUNCTUATION.sub(" ", unicodedata.normalize("NFKC", text).casefold()).split())


def words(text: str) -> list[str]:
    return normalise(text).split()


class _Vocabulary:
    """Word -> id, and each id's stable 64-bit hash (blake2b), so each distinct word is hashed once per run."""

    def __init__(self) -> None:
        import numpy as np

        self.ids: dict[str, int] = {}
        self._hashes = np.zeros(1024, dtype=np.uint64)

    def encode(self, tokens: list[str]):
        """The tokens' hashes as a uint64 array."""
        import numpy as np

        ids, known = self.ids, len(self.ids)
        for new_word in set(tokens).difference(ids):  # set order varies, but ids only name hashes, never leave here
            ids[new_word] = len(ids)
        encoded = list(map(ids.__getitem__, tokens))
        if len(ids) > known:
            new = list(itertools.islice(ids, known, None))  # ids are given in insertion order
            if len(ids) > len(self._hashes):
                grown = np.zeros(max(len(ids), 2 * len(self._hashes)), dtype=np.uint64)
                grown[: len(self._hashes)] = self._hashes
                self._hashes = grown
            self._hashes[known : len(ids)] = [
                int.from_bytes(hashlib.blake2b(w.encode("utf-8"), digest_size=8).digest(), "little") for w in new
            ]
        return self._hashes[np.asarray(encoded, dtype=np.int64)]


def _window_hashes(token_hashes, length: int):
    """Hash of every window of `length` consecutive tokens (wrapping uint64 arithmetic: stable everywhere)."""
    import numpy as np

    count = len(token_hashes) - length + 1
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    multiplier = np.uint64(_MULTIPLIER)
    with np.errstate(over="ignore"):
        result = token_hashes[:count].copy()
        for offset in range(1, length):
            result *= multiplier
            result += token_hashes[offset : offset + count]
        # A length tag: a whole short item never collides with a window of another length.
        result ^= np.uint64(length) * np.uint64(0xD6E8FEB86659FD93)
    return result


@dataclass
class _Segments:
    """Many texts' tokens concatenated, with each token's text index (windows must stay inside one text)."""

    tokens: list[str]
    hashes: Any
    owner: Any
    """Per token: the index of its text."""

    @classmethod
    def build(cls, texts: Sequence[str], vocabulary: _Vocabulary) -> _Segments:
        import numpy as np

        tokens: list[str] = []
        lengths = []
        for text in texts:
            split = words(text)
            tokens.extend(split)
            lengths.append(len(split))
        owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
        return cls(tokens, vocabulary.encode(tokens), owner)

    def windows(self, length: int):
        """(start positions, hashes) of the windows of `length` tokens that lie inside one text."""
        import numpy as np

        hashes = _window_hashes(self.hashes, length)
        if not len(hashes):
            return np.zeros(0, dtype=np.int64), hashes
        inside = self.owner[: len(hashes)] == self.owner[length - 1 :]
        starts = np.flatnonzero(inside)
        return starts, hashes[starts]


@dataclass
class SourceStats:
    """What one benchmark source put in the index."""

    path: str
    items: int = 0
    texts: int = 0
    ngrams: int = 0
    short_texts: int = 0
    """Texts under n words, matched whole."""
    skipped_texts: int = 0
    """Texts under the minimum length, not indexed."""


class BenchmarkIndex:
    """N-gram hashes of benchmark items, each with the source it came from."""

    def __init__(self, ngram: int, sources: dict[str, SourceStats], lengths: dict[int, tuple[Any, Any]]) -> None:
        self.ngram = ngram
        self.sources = sources
        self.names = list(sources)
        self._lengths = lengths
        """Window length -> (sorted hashes, source index per hash)."""

    @classmethod
    def build(
        cls, paths: Sequence[str], *, ngram: int = DEFAULT_NGRAM, fields: Sequence[str] | None = None
    ) -> BenchmarkIndex:
        """Index every benchmark file under `paths` (see `benchmark_files` and `read_items`).

        Raises:
            UserError: A missing path, an unreadable file, a field no row has, or an n below 1.
        """
        import numpy as np

        if ngram < 1:
            raise UserError(f"--ngram must be at least 1, got {ngram}")
        files = benchmark_files(paths)
        minimum = min(MIN_ITEM_WORDS, ngram)
        vocabulary = _Vocabulary()
        parts: dict[int, list[tuple[Any, int]]] = {}
        sources: dict[str, SourceStats] = {}
        for number, (name, path) in enumerate(files):
            stats = sources[name] = SourceStats(path=str(path))
            texts: list[str] = []
            for item in read_items(path, fields):
                stats.items += 1
                texts.extend(item)
            stats.texts = len(texts)
            for start in range(0, len(texts), 20000):
                segments = _Segments.build(texts[start : start + 20000], vocabulary)
                sizes = np.bincount(segments.owner, minlength=min(20000, len(texts) - start))
                starts, hashes = segments.windows(ngram)
                parts.setdefault(ngram, []).append((hashes, number))
                stats.ngrams += len(hashes)
                short = (sizes >= minimum) & (sizes < ngram)
                stats.short_texts += int(short.sum())
                stats.skipped_texts += int((sizes < minimum).sum())
                for length in np.unique(sizes[short]):
                    chosen = np.flatnonzero(short & (sizes == length))
                    first = np.concatenate(([0], np.cumsum(sizes)))[chosen]
                    whole = _window_hashes(segments.hashes, int(length))[first]
                    parts.setdefault(int(length), []).append((whole, number))
                    stats.ngrams += len(whole)
        lengths = {}
        for length, chunks in parts.items():
            hashes = np.concatenate([h for h, _ in chunks]) if chunks else np.zeros(0, dtype=np.uint64)
            owners = np.concatenate([np.full(len(h), n, dtype=np.uint16) for h, n in chunks])
            # Stable sort keeps the first source of a hash first: a match is credited to the earliest --against file.
            order = np.argsort(hashes, kind="stable")
            hashes, owners = hashes[order], owners[order]
            keep = np.ones(len(hashes), dtype=bool)
            keep[1:] = hashes[1:] != hashes[:-1]
            lengths[length] = (hashes[keep], owners[keep])
        return cls(ngram, sources, lengths)

    @property
    def size(self) -> int:
        """Distinct hashes held."""
        return sum(len(h) for h, _ in self._lengths.values())

    def check(self, records: Sequence[Sequence[str]]) -> list[str | None]:
        """For each record (a list of its texts), None when clean, else `contaminated:<source>:<matched words>`
        for its first match (in text order; a full n-gram before a short whole item at the same place)."""
        return list(self.check_many(records, _Vocabulary()))

    def check_many(
        self, records: Iterable[Sequence[str]], vocabulary: _Vocabulary | None = None
    ) -> Iterator[str | None]:
        """`check` over an iterable, in chunks (memory stays flat however many records there are)."""
        vocabulary = vocabulary or _Vocabulary()
        chunk: list[Sequence[str]] = []
        for record in records:
            chunk.append(record)
            if len(chunk) == _CHUNK_RECORDS:
                yield from self._check_chunk(chunk, vocabulary)
                chunk = []
        if chunk:
            yield from self._check_chunk(chunk, vocabulary)

    def _check_chunk(self, records: Sequence[Sequence[str]], vocabulary: _Vocabulary) -> list[str | None]:
        import numpy as np

        texts: list[str] = []
        record_of: list[int] = []
        for index, record in enumerate(records):
            texts.extend(record)
            record_of.extend([index] * len(record))
        segments = _Segments.build(texts, vocabulary)
        text_record = np.asarray(record_of, dtype=np.int64)
        best: dict[int, tuple[int, int, int]] = {}  # record -> (start, -length, source)
        for length, (index_hashes, owners) in self._lengths.items():
            if not len(index_hashes):
                continue
            starts, hashes = segments.windows(length)
            # Sorted queries walk the index in order (cache-friendly): about ten times faster than in text order.
            order = np.argsort(hashes)
            slots = np.searchsorted(index_hashes, hashes[order]).clip(max=len(index_hashes) - 1)
            found = np.flatnonzero(index_hashes[slots] == hashes[order])
            for position, slot in zip(order[found].tolist(), slots[found].tolist(), strict=True):
                start = int(starts[position])
                record = int(text_record[segments.owner[start]])
                candidate = (start, -length, int(owners[slot]))
                if record not in best or candidate < best[record]:
                    best[record] = candidate
        reasons: list[str | None] = [None] * len(records)
        for record, (start, negative, source) in best.items():
            matched = " ".join(segments.tokens[start : start - negative])
            reasons[record] = f"{REASON}:{self.names[source]}:{matched}"
        return reasons


def reason_source(rejection: str) -> str | None:
    """The source named in a `contaminated:<source>:<n-gram>` rejection, else None."""
    kind, _, rest = rejection.partition(":")
    return rest.partition(":")[0] if kind == REASON else None


# ---------------------------------------------------------------------------------------------------------------
# Benchmark files


def benchmark_files(paths: Sequence[str], option_name: str = "--against") -> list[tuple[str, Path]]:
    """(source name, path) of every benchmark under `paths`: a file, a `save_to_disk` folder, or a folder of those
    (searched recursively). The name is the file's stem (the folder's name for a saved dataset), made unique by
    prefixing parent folders when two collide.

    Raises:
        UserError: A missing path, a file of an unknown type, or a folder with no benchmark in it.
    """
    found: list[Path] = []
    for value in paths:
        path = Path(value)
        if not path.exists():
            raise UserError(f"{option_name} path does not exist: {value}")
        if path.is_file():
            if path.suffix.lower() not in BENCHMARK_SUFFIXES:
                raise UserError(f"cannot read benchmark {value}: expected {', '.join(BENCHMARK_SUFFIXES)} or a folder")
            found.append(path)
        elif _is_saved_dataset(path):
            found.append(path)
        else:
            inside = sorted(_folder_benchmarks(path))
            if not inside:
                raise UserError(
                    f"{option_name} folder {value} holds no {', '.join(BENCHMARK_SUFFIXES)} file or dataset"
                )
            found.extend(inside)
    names: dict[str, Path] = {}
    for path in found:
        name, parents = _stem(path), list(path.resolve().parents)
        while name in names and names[name].resolve() != path.resolve() and parents:
            name = f"{parents.pop(0).name}/{name}"
        if name not in names:
            names[name] = path
    return [(name, path) for name, path in names.items()]


def _stem(path: Path) -> str:
    # ':' separates the parts of a rejection reason.
    return (path.name if path.is_dir() else path.stem).replace(":", "_")


def _is_saved_dataset(folder: Path) -> bool:
    return (folder / "dataset_dict.json").exists() or (folder / "state.json").exists()


def _folder_benchmarks(folder: Path) -> Iterator[Path]:
    for child in sorted(folder.iterdir()):
        if child.name.startswith("."):
            continue
        if child.is_dir():
            if _is_saved_dataset(child):
                yield child
            else:
                yield from _folder_benchmarks(child)
        elif child.suffix.lower() in BENCHMARK_SUFFIXES:
            yield child


def read_items(path: Path, fields: Sequence[str] | None = None) -> Iterator[list[str]]:
    """Each benchmark item of one file or saved dataset as its list of texts: every string in the named fields (all
    of the row's fields by default; strings inside lists and objects count, so a `choices` list is read). A `.txt`
    file has one item per non-empty line.

    Raises:
        UserError: An unreadable file, or a named field that no row has.
    """
    if path.suffix.lower() == ".txt" and path.is_file():
        if fields:
            raise UserError(f"--field does not apply to the text file {path} (one item per line)")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read benchmark {path}: {exc}") from exc
        for line in text.splitlines():
            if line.strip():
                yield [line]
        return
    rows, columns = _benchmark_rows(path)
    if fields:
        missing = [f for f in fields if f not in columns]
        if missing:
            raise UserError(
                f"benchmark {path} has no field {', '.join(repr(m) for m in missing)} (fields: {', '.join(columns)})"
            )
    for row in rows:
        if row is None:
            continue
        values = [row.get(f) for f in fields] if fields else list(row.values())
        yield list(_strings(values))


def _benchmark_rows(path: Path) -> tuple[Iterable[dict | None], list[str]]:
    from agentinstruct.formats import load_rows

    if path.is_dir():
        import datasets

        from agentinstruct.store import quiet_datasets

        try:
            with quiet_datasets():
                loaded = datasets.load_from_disk(str(path))
        except Exception as exc:  # datasets raises FileNotFoundError, ValueError, pyarrow errors...
            raise UserError(f"cannot read benchmark {path}: {type(exc).__name__}: {exc}") from exc
        # Every split of a benchmark is a benchmark (test, validation, few-shot dev sets...).
        splits = list(loaded.values()) if isinstance(loaded, datasets.DatasetDict) else [loaded]
        columns = list(dict.fromkeys(c for split in splits for c in split.column_names))
        return (row for split in splits for row in split.with_format("arrow")[:].to_pylist()), columns
    try:
        rows = load_rows(path)
    except UserError as exc:
        raise UserError(f"benchmark: {exc}") from None
    return rows.values(rows.columns), rows.columns


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if value.strip():
            yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def sources_digest(paths: Sequence[str]) -> list[dict[str, str]]:
    """Each benchmark file's resolved path and a digest of its contents (a saved dataset: of all its files), for a
    run's identity: a resume against other or edited benchmarks is refused."""
    described = []
    for name, path in benchmark_files(paths):
        digest = hashlib.sha256()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(path) if path.is_dir() else file.name).encode())
            with file.open("rb") as handle:
                for block in iter(lambda h=handle: h.read(1 << 20), b""):
                    digest.update(block)
        described.append({"source": name, "path": str(path.resolve()), "sha256": digest.hexdigest()[:16]})
    return described


def record_texts(messages: Any, context: Any = None) -> list[str]:
    """The texts of a record that are checked: every turn's content, and the context when there is one."""
    texts = [str(m.get("content") or "") for m in messages or [] if isinstance(m, dict)]
    if isinstance(context, str) and context:
        texts.append(context)
    return texts


# ---------------------------------------------------------------------------------------------------------------
# The command


@dataclass
class DecontaminateConfig:
    """What `agentinstruct decontaminate` is asked to do: each field is a CLI option."""

    dataset: str = option(
        positional=True, help="a folder written by generate, a .jsonl/.parquet file, or a saved HF dataset"
    )
    against: list[str] = option(
        help="benchmark files or folders: .jsonl/.json/.parquet, .txt (one item per line), saved HF datasets",
        metavar="PATH",
    )
    out: str = option(help="folder for the clean dataset, rejects/contaminated.parquet and report.json")
    ngram: int = option(
        DEFAULT_NGRAM,
        help=f"words per n-gram; shorter benchmark texts (from {MIN_ITEM_WORDS} words) match when they appear whole",
    )
    field: list[str] | None = option(
        None, metavar="NAME", help="benchmark fields to read (default: every string field of a row, lists included)"
    )
    split: str | None = option(None, help="the split of the dataset to check when it has several")


@dataclass
class DecontaminateReport:
    """The figures of one decontamination (also `report.json`)."""

    dataset: str
    out: str
    ngram: int
    records: int
    """Rows of the dataset checked (unreadable rows are kept, unchecked, and counted in `unreadable`)."""
    contaminated: int
    kept: int
    contaminated_by_source: dict[str, int]
    sources: dict[str, dict[str, Any]]
    """Per source: path, items, texts, n-grams indexed, short (whole-item) texts, texts too short to index."""
    unreadable: int = 0
    index_seconds: float = 0.0
    check_seconds: float = 0.0
    seconds: float = 0.0
    examples: list[dict[str, Any]] = field(default_factory=list)
    """The first few contaminated rows: index and rejection."""


def decontaminate_dataset(config: DecontaminateConfig, show_progress: bool = True) -> DecontaminateReport:
    """Check every row of `config.dataset` against the benchmarks and write the clean rows (same columns, a
    one-split dataset as `generate` writes it), `rejects/contaminated.parquet` and `report.json` to `config.out`.

    Raises:
        UserError: An unreadable dataset or benchmark, a field no benchmark row has, an out path that is a file.
    """
    from tqdm import tqdm

    from agentinstruct.formats import read_dataset

    started = time.perf_counter()
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out must be a folder, but {out} is a file")
    if Path(config.dataset).resolve() == out.resolve():
        raise UserError("--out must be another folder than the dataset")
    dataset = read_dataset(config.dataset, config.split)
    index = BenchmarkIndex.build(config.against, ngram=config.ngram, fields=config.field)
    index_seconds = time.perf_counter() - started
    contexts = dataset.rows.column("context")
    readable = dataset.readable
    texts = (record_texts(dataset.chats[i].messages, contexts[i]) for i in readable)
    checked = time.perf_counter()
    reasons = list(
        tqdm(
            index.check_many(texts), total=len(readable), unit="row", desc="decontaminating", disable=not show_progress
        )
    )
    check_seconds = time.perf_counter() - checked
    rejected = {row: reason for row, reason in zip(readable, reasons, strict=True) if reason}
    kept_rows = [i for i in range(dataset.rows.count) if i not in rejected]
    by_source = Counter(reason_source(r) for r in rejected.values())
    _write_outputs(dataset.rows, kept_rows, rejected, out)
    report = DecontaminateReport(
        dataset=config.dataset,
        out=str(out),
        ngram=config.ngram,
        records=len(readable),
        contaminated=len(rejected),
        kept=len(kept_rows),
        contaminated_by_source={name: by_source.get(name, 0) for name in index.names},
        sources={name: asdict(stats) for name, stats in index.sources.items()},
        unreadable=len(dataset.unreadable),
        index_seconds=round(index_seconds, 2),
        check_seconds=round(check_seconds, 2),
        seconds=round(time.perf_counter() - started, 2),
        examples=[{"index": row, "rejection": reason} for row, reason in list(rejected.items())[:5]],
    )
    (out / "report.json").write_text(json.dumps(asdict(report), indent=2, ensure_ascii=False), encoding="utf-8")
    return report


def _write_outputs(rows, kept: list[int], rejected: dict[int, str], out: Path) -> None:
    """The clean rows as `generate` lays out a dataset (`data/train-00000-of-00001.parquet` and a one-split
    `save_to_disk` folder), the contaminated ones with their `rejection` in `rejects/contaminated.parquet`."""
    import shutil

    import pyarrow as pa
    import pyarrow.parquet as pq

    from agentinstruct.store import publish_saved_dataset

    staging = out / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    for folder in ("data", "rejects", "hf"):
        (staging / folder).mkdir(parents=True)
    clean = rows.arrow(kept)
    dirty = rows.arrow(list(rejected))
    dirty = dirty.append_column("rejection", pa.array(list(rejected.values()), pa.string()))
    pq.write_table(clean, staging / "data" / "train-00000-of-00001.parquet")
    pq.write_table(dirty, staging / "rejects" / "contaminated.parquet")
    arrow_path = staging / "data.arrow"
    with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_stream(sink, clean.schema) as stream:
        stream.write_table(clean)
    for folder, name in (("data", "train-00000-of-00001.parquet"), ("rejects", "contaminated.parquet")):
        (out / folder).mkdir(parents=True, exist_ok=True)
        (staging / folder / name).replace(out / folder / name)
    publish_saved_dataset(arrow_path, staging / "hf", out)
    shutil.rmtree(staging)


def format_report(report: DecontaminateReport) -> str:
    """The terminal summary of a decontamination."""
    per_source = ", ".join(f"{name} {count}" for name, count in report.contaminated_by_source.items())
    indexed = sum(s["ngrams"] for s in report.sources.values())
    items = sum(s["items"] for s in report.sources.values())
    timing = f"index {report.index_seconds:.1f} s, check {report.check_seconds:.1f} s"
    lines = [
        f"records checked {report.records}"
        + (f" ({report.unreadable} unreadable rows kept unchecked)" if report.unreadable else ""),
        f"contaminated    {report.contaminated}  ({per_source})",
        f"kept            {report.kept}",
        f"benchmarks      {len(report.sources)} sources, {items} items, {indexed} {report.ngram}-grams or short items",
        f"time            {report.seconds:.1f} s ({timing})",
        f"dataset         {report.out}  (datasets.load_from_disk(DIR)); rejects in rejects/contaminated.parquet",
    ]
    for example in report.examples[:3]:
        lines.append(f"example         row {example['index']}: {example['rejection'][:100]}")
    return "\n".join(lines)
