"""Incremental, resumable storage of a generate run's output folder, with memory that stays flat as it grows.

Two things are written while a run goes, both under `DIR/.progress/`:

- `units.jsonl`, the source of truth for resume: one line per *finished* unit (its pairs with their order-free scores,
  its failures, its counts), written as the unit arrives from a worker, before it is admitted. A rerun never runs a
  unit that is there again. A last line cut short (a full disk, a power cut) is cut off on open, so the next line
  never glues onto it.
- `shards/shard-NNNNNN.parquet`, the *admitted* units in admission order: one row per unit with its kept records (and
  their embeddings, so a rerun rebuilds the novelty index without embedding again), its rejects and its failures.
  Each shard is written beside its final name and renamed into place, so a shard is whole or absent. Units that were
  admitted but not yet in a shard when a run died are admitted again from `units.jsonl` (admission is deterministic).

At the end the outputs are assembled from the shards, one shard at a time (never all records as Python objects):

- `DIR/` as `datasets.DatasetDict.save_to_disk` writes a one-split (`train`) dataset: `load_from_disk(DIR)["train"]`,
- `DIR/data/train-00000-of-00001.parquet`: `load_dataset(DIR, name=SKILL)` (the card's configs point there) and
  `load_dataset("parquet", data_dir=DIR)`,
- `DIR/failures/failures.parquet` and `DIR/rejects/rejects.parquet`, every failed attempt and every rejected pair,
- `DIR/surplus/surplus.parquet`, pairs kept after `--n` was reached (a rerun with a larger `--n` uses them first),
- `DIR/summary.json`, the run's figures.

Only one process may use a folder at a time: the store holds an exclusive lock on `DIR/.progress/lock`.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.metrics.judge import CRITERIA
from agentinstruct.records import FAILURE_COLUMNS, RECORD_COLUMNS

UnitKey = tuple[int, str]
PROGRESS_FORMAT = 4
"""Bumped when the progress files change shape: a folder written in another format is refused, not misread."""
SHARD_ROWS = 2000
"""Records, rejects and failures buffered before a shard is written: small enough to keep memory flat."""
SHARD_SECONDS = 30.0
"""A shard is also written when this long has passed since the last one, so a crash re-admits little."""
FSYNC_SECONDS = 1.0
"""Finished units reach the OS at once (a killed process loses nothing); they are fsynced at most this often."""


@dataclass
class AdmittedUnit:
    """One unit after admission: kept records (with their embeddings), rejected records, failures."""

    key: UnitKey
    kept: list[dict]
    kept_vectors: list[list[float]]
    rejects: list[dict]
    failures: list[dict]


class RunStore:
    """The output folder of one generate job, identified by the settings that determine its content.

    Args:
        out: The output folder.
        identity: Settings that must match to resume (skill, seeds, LM, program, seed, ...); `n` is not one of them,
            so a finished job can be extended by rerunning it with a larger `--n`.

    Raises:
        UserError: The folder is in use by another run, holds another job's output, or is a file.
    """

    def __init__(self, out: str | Path, identity: dict[str, Any]) -> None:
        self.out = Path(out)
        self.progress = self.out / ".progress"
        self.shards_dir = self.progress / "shards"
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"--out must be a folder, but {self.out} is a file")
        if (
            self.out.exists()
            and any(p.name != ".progress" for p in self.out.iterdir())
            and not self._identity_file.exists()
        ):
            raise UserError(f"{self.out} is not empty and was not written by agentinstruct generate")
        self.progress.mkdir(parents=True, exist_ok=True)
        self._lock_handle = _lock_folder(self.progress / "lock", self.out)
        self.identity = {**identity, "progress_format": PROGRESS_FORMAT}
        self._units_file = self.progress / "units.jsonl"
        self.repairs: list[str] = []
        self.finished: dict[UnitKey, int] = {}
        """Every finished unit's key and the byte offset of its line in `units.jsonl`."""
        self._read_finished()
        self.shards: list[Path] = []
        self.admitted: dict[UnitKey, tuple[int, int, int]] = {}
        """Every admitted unit's key and its (kept, rejected, failed) counts, in admission order."""
        self._read_shards()
        self._check_identity()
        self._pending: list[AdmittedUnit] = []
        self._pending_rows = 0
        self._last_shard = time.monotonic()
        self._last_fsync = 0.0
        self._units_handle = None

    @property
    def _identity_file(self) -> Path:
        return self.progress / "identity.json"

    def _check_identity(self) -> None:
        """Refuse another job's folder; a folder whose runs finished no unit holds nothing, and is anyone's."""
        if not self._identity_file.exists():
            return
        previous = json.loads(self._identity_file.read_text(encoding="utf-8"))
        changed = sorted(k for k in set(previous) | set(self.identity) if previous.get(k) != self.identity.get(k))
        if changed and (self.finished or self.admitted):
            raise UserError(
                f"{self.out} holds output of a different job (changed: {', '.join(changed)}); "
                "use another --out folder, or rerun with the same settings to resume"
            )

    def _read_finished(self) -> None:
        if not self._units_file.exists():
            return
        with self._units_file.open("rb+") as handle:
            offset = 0
            end = handle.seek(0, os.SEEK_END)
            handle.seek(0)
            for line in handle:
                if not line.endswith(b"\n"):
                    # Cut short by a full disk or a crash: cut it off, so the next unit's line starts clean.
                    handle.truncate(offset)
                    self.repairs.append(f"removed an incomplete last line of {self._units_file} (that unit is redone)")
                    break
                try:
                    unit = json.loads(line)["unit"]
                    key = (int(unit[0]), str(unit[1]))
                except (ValueError, KeyError, IndexError, TypeError):
                    self.repairs.append(f"skipped an unreadable line at byte {offset} of {self._units_file}")
                else:
                    self.finished.setdefault(key, offset)
                offset += len(line)
            assert offset <= end

    def _read_shards(self) -> None:
        import pyarrow.parquet as pq

        if not self.shards_dir.exists():
            return
        for stale in self.shards_dir.glob("*.tmp"):
            stale.unlink()
        for path in sorted(self.shards_dir.glob("shard-*.parquet")):
            table = pq.read_table(path, columns=["draw", "seed_id", "kept_count", "reject_count", "failure_count"])
            for row in table.to_pylist():
                self.admitted[(row["draw"], row["seed_id"])] = (
                    row["kept_count"],
                    row["reject_count"],
                    row["failure_count"],
                )
            self.shards.append(path)

    # ---- finished units (the progress log) ----

    def append_finished(self, outcome: dict[str, Any]) -> None:
        """Make a finished unit durable (the OS has it when this returns; fsynced at most every second)."""
        line = json.dumps(outcome, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        if self._units_handle is None:
            # The identity is written with the first finished unit: a run that finished nothing leaves no claim.
            self._identity_file.write_text(json.dumps(self.identity, indent=2, sort_keys=True), encoding="utf-8")
            self._units_handle = self._units_file.open("ab")
        offset = self._units_handle.tell()
        self._units_handle.write(line)
        self._units_handle.flush()
        now = time.monotonic()
        if now - self._last_fsync >= FSYNC_SECONDS:
            os.fsync(self._units_handle.fileno())
            self._last_fsync = now
        key = (int(outcome["unit"][0]), str(outcome["unit"][1]))
        self.finished.setdefault(key, offset)

    def read_finished(self, key: UnitKey) -> dict[str, Any]:
        """A finished unit's line, read back (for units finished by an earlier run and not yet admitted)."""
        if self._units_handle is not None:
            self._units_handle.flush()
        with self._units_file.open("rb") as handle:
            handle.seek(self.finished[key])
            return json.loads(handle.readline())

    # ---- admitted units (the shards) ----

    def kept_count(self) -> int:
        return sum(kept for kept, _, _ in self.admitted.values())

    def kept_vectors(self) -> Iterator[tuple[list[str], Any]]:
        """(record ids, embeddings) of the kept records, shard by shard, in admission order."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        for path in self.shards:
            table = pq.read_table(path, columns=["kept", "kept_vectors"])
            ids = pc.struct_field(pc.list_flatten(table["kept"]), "record_id").to_pylist()
            if ids:
                yield ids, shard_vectors(table["kept_vectors"])

    def add_admitted(self, unit: AdmittedUnit) -> None:
        """Queue an admitted unit for the next shard; write the shard when it is full or due."""
        self._pending.append(unit)
        self.admitted[unit.key] = (len(unit.kept), len(unit.rejects), len(unit.failures))
        self._pending_rows += max(1, len(unit.kept) + len(unit.rejects) + len(unit.failures))
        if self._pending_rows >= SHARD_ROWS or time.monotonic() - self._last_shard >= SHARD_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the queued admitted units as one shard (atomically) and fsync the progress log."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._units_handle is not None:
            self._units_handle.flush()
            os.fsync(self._units_handle.fileno())
        self._last_shard = time.monotonic()
        if not self._pending:
            return
        units, self._pending, self._pending_rows = self._pending, [], 0
        table = pa.Table.from_pylist(
            [
                {
                    "draw": u.key[0],
                    "seed_id": u.key[1],
                    "kept_count": len(u.kept),
                    "reject_count": len(u.rejects),
                    "failure_count": len(u.failures),
                    "kept": u.kept,
                    "kept_vectors": u.kept_vectors,
                    "rejects": [_reject_row(r) for r in u.rejects],
                    "failures": u.failures,
                }
                for u in units
            ],
            schema=shard_schema(),
        )
        self.shards_dir.mkdir(parents=True, exist_ok=True)
        number = int(self.shards[-1].stem.split("-")[1]) + 1 if self.shards else 0
        final = self.shards_dir / f"shard-{number:06d}.parquet"
        temporary = final.with_suffix(".tmp")
        pq.write_table(table, temporary)
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, final)
        self.shards.append(final)

    def close(self) -> None:
        """Write what is queued and release the folder."""
        try:
            self.flush()
        finally:
            if self._units_handle is not None:
                self._units_handle.close()
                self._units_handle = None
            if self._lock_handle is not None:
                self._lock_handle.close()
                self._lock_handle = None

    # ---- the final outputs ----

    def write_summary(self, summary: dict[str, Any]) -> None:
        staging = self.progress / "summary.json.tmp"
        staging.write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(staging, self.out / "summary.json")

    def write_outputs(self, n: int) -> dict[str, int]:
        """Assemble the dataset (the first `n` kept records), surplus, rejects and failures from the shards, one
        shard at a time, and move them over the previous outputs. Returns the row count of each table."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.flush()
        staging = self.progress / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        for folder in ("data", "failures", "rejects", "surplus", "arrow", "hf"):
            (staging / folder).mkdir(parents=True)
        record_schema = record_features().arrow_schema
        reject_schema = pa.schema(shard_schema().field("rejects").type.value_type)
        failure_schema = pa.schema(shard_schema().field("failures").type.value_type)
        writers = {
            "data": pq.ParquetWriter(staging / "data" / "train-00000-of-00001.parquet", record_schema),
            "surplus": pq.ParquetWriter(staging / "surplus" / "surplus.parquet", record_schema),
            "rejects": pq.ParquetWriter(staging / "rejects" / "rejects.parquet", reject_schema),
            "failures": pq.ParquetWriter(staging / "failures" / "failures.parquet", failure_schema),
        }
        arrow_path = staging / "arrow" / "data.arrow"
        counts = dict.fromkeys(writers, 0)
        with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_stream(sink, record_schema) as arrow:
            for path in self.shards:
                shard = pq.read_table(path, columns=["kept", "rejects", "failures"])
                kept = _flat(shard["kept"], record_schema)
                room = max(0, n - counts["data"])
                parts = {"data": kept.slice(0, room), "surplus": kept.slice(room)}
                parts["rejects"] = _flat(shard["rejects"], reject_schema)
                parts["failures"] = _flat(shard["failures"], failure_schema)
                for name, part in parts.items():
                    if part.num_rows:
                        writers[name].write_table(part)
                        counts[name] += part.num_rows
                if parts["data"].num_rows:
                    arrow.write_table(parts["data"])
        for writer in writers.values():
            writer.close()
        moves = [
            (staging / f / p.name, self.out / f / p.name)
            for f in ("data", "failures", "rejects", "surplus")
            for p in (staging / f).iterdir()
        ]
        # Each file is written beside the output, then moved over it: a crash mid-write leaves the previous one whole.
        for source, target in moves:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
        publish_saved_dataset(arrow_path, staging / "hf", self.out)
        shutil.rmtree(staging)
        return counts

    def dataset_rows(self, columns: list[str], limit: int) -> Iterator[dict]:
        """The first `limit` kept records (only `columns`), shard by shard."""
        import pyarrow.parquet as pq

        seen = 0
        for path in self.shards:
            if seen >= limit:
                return
            for unit in pq.read_table(path, columns=["kept"])["kept"].to_pylist():
                for record in unit:
                    if seen >= limit:
                        return
                    seen += 1
                    yield {c: record[c] for c in columns}

    def dataset_vectors(self, limit: int, step: int = 1) -> Any:
        """Embeddings of every `step`-th of the first `limit` kept records (float32 rows); only those are held."""
        import numpy as np

        chunks, seen = [], 0
        for _, vectors in self.kept_vectors():
            part = vectors[: max(0, limit - seen)]
            chunks.append(part[-seen % step :: step].copy())  # a copy: the shard's own array is not kept alive
            seen += len(part)
            if seen >= limit:
                break
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), dtype=np.float32)


def shard_vectors(column) -> Any:
    """A shard's `kept_vectors` column (a list of embeddings per unit) as one float32 array, a row per kept record,
    straight from Arrow (as Python lists, one shard's embeddings took about 20 times their size)."""
    import numpy as np
    import pyarrow.compute as pc

    vectors = pc.list_flatten(column)
    if len(vectors) == 0:
        return np.zeros((0, 0), dtype=np.float32)
    values = pc.list_flatten(vectors).to_numpy()
    return values.astype(np.float32, copy=False).reshape(len(vectors), -1)


def _flat(column, schema):
    """The rows of a list-of-struct column as one table of `schema` (Arrow only)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = pc.list_flatten(column)
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if len(values) == 0:
        return schema.empty_table()
    return pa.Table.from_batches([pa.RecordBatch.from_struct_array(values)]).cast(schema)


def _reject_row(record: dict) -> dict:
    """A rejected record as the rejects table stores it: `messages` as JSON text (a reader need not parse turns)."""
    return {**record, "messages": json.dumps(record["messages"], ensure_ascii=False)}


def _lock_folder(path: Path, out: Path):
    """Hold an exclusive lock on the folder for this process's life; a second run on it is refused."""
    handle = path.open("a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise UserError(
            f"{out} is being written by another agentinstruct generate ({holder}); wait for it to finish, "
            "or use another --out folder"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"pid {os.getpid()}")
    handle.flush()
    return handle


@contextmanager
def quiet_datasets():
    """`datasets` draws a progress bar for every save; the run has its own."""
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def record_features():
    import datasets

    string = datasets.Value("string")
    return datasets.Features(
        {
            "record_id": string,
            "messages": datasets.List(
                {
                    "role": string,
                    "content": string,
                    "tool_calls": datasets.List(
                        {"id": string, "type": string, "function": {"name": string, "arguments": string}}
                    ),
                    "tool_call_id": string,
                    "name": string,
                }
            ),
            "context": string,
            "tools": string,
            "execution": {
                "verified": datasets.Value("bool"),
                "command": string,
                "exit_code": datasets.Value("int32"),
                "tests_passed": datasets.Value("int32"),
                "tests_failed": datasets.Value("int32"),
                "output": string,
                "detail": string,
            },
            "written_by_code": datasets.List(string),
            "skill": string,
            "instruction_type": string,
            "transformation": string,
            "refinement_rounds": datasets.Value("int32"),
            "refinement_goals": datasets.List(string),
            "seed_id": string,
            "seed_source": string,
            "program_id": string,
            "generator_lm": string,
            "run_id": string,
            "created_at": string,
            "scores": {
                "quality": datasets.Value("float64"),
                "validator_failures": datasets.List(string),
                "validator_reasons": datasets.List(string),
                **{f"judge_{name}": datasets.Value("int32") for name in CRITERIA},
                "judge_overall": datasets.Value("float64"),
                "judge_rationale": string,
            },
            "novelty": datasets.Value("float64"),
        }
    )


def shard_schema():
    """One row per admitted unit: its key, counts, kept records (+ embeddings), rejects and failures."""
    import pyarrow as pa

    record = record_features().arrow_schema
    reject = pa.struct(
        [
            pa.field(f.name, pa.string()) if f.name == "messages" else pa.field(f.name, f.type)
            for f in record
            if f.name in RECORD_COLUMNS
        ]
        + [pa.field("rejection", pa.string())]
    )
    failure = pa.struct([pa.field(c, pa.int64() if c == "draw" else pa.string()) for c in FAILURE_COLUMNS])
    return pa.schema(
        [
            pa.field("draw", pa.int64()),
            pa.field("seed_id", pa.string()),
            pa.field("kept_count", pa.int64()),
            pa.field("reject_count", pa.int64()),
            pa.field("failure_count", pa.int64()),
            pa.field("kept", pa.list_(pa.struct(list(record)))),
            pa.field("kept_vectors", pa.list_(pa.list_(pa.float32()))),
            pa.field("rejects", pa.list_(reject)),
            pa.field("failures", pa.list_(failure)),
        ]
    )


SPLIT = "train"


def publish_saved_dataset(arrow_path: Path, staging: Path, out: Path) -> None:
    """Save the records in `arrow_path` as a one-split `DatasetDict` (`out/dataset_dict.json`, `out/train/`) and
    move it over the previous one.

    A split folder, not `Dataset.save_to_disk` at the top: `datasets.load_dataset(out)` refuses a folder with a
    `state.json` at its top, and the dataset card's per-skill configs must load with it.
    """
    import datasets

    with quiet_datasets():
        # Memory-mapped: save_to_disk copies Arrow batches, never Python rows.
        records = datasets.Dataset.from_file(str(arrow_path))
        # An empty dataset would be saved with no shard at all, which `load_from_disk` cannot read back.
        shards = None if len(records) else {SPLIT: 1}
        datasets.DatasetDict({SPLIT: records}).save_to_disk(str(staging), num_shards=shards)
    # Left by a version that saved a bare Dataset at the top; load_dataset(out) refuses a folder holding them.
    for stale in [*out.glob("data-*.arrow"), out / "state.json", out / "dataset_info.json"]:
        stale.unlink(missing_ok=True)
    previous = out / f".{SPLIT}-previous"
    shutil.rmtree(previous, ignore_errors=True)
    if (out / SPLIT).exists():
        os.replace(out / SPLIT, previous)
    os.replace(staging / SPLIT, out / SPLIT)
    os.replace(staging / "dataset_dict.json", out / "dataset_dict.json")
    shutil.rmtree(previous, ignore_errors=True)
