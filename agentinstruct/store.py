"""Incremental, resumable storage of a generate run's output folder.

Each finished unit of work (one seed, one draw) is appended as one JSON line to `DIR/.progress/units.jsonl` and
flushed to disk, so an interrupted run loses at most the units in flight, and a rerun of the same command skips every
unit already there. The final dataset is rebuilt from that log at the end of each run:

- `DIR/` as `datasets.Dataset.save_to_disk` writes it (`load_from_disk(DIR)`),
- `DIR/data/train-00000-of-00001.parquet` (`load_dataset("parquet", data_dir=DIR)`),
- `DIR/failures/failures.parquet`, the failed attempts with stage and reason,
- `DIR/summary.json`, the run's figures.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.metrics.judge import CRITERIA
from agentinstruct.records import FAILURE_COLUMNS, RECORD_COLUMNS

Unit = tuple[int, int]
"""(draw, seed index): the order units are generated and records are kept in."""


@dataclass
class UnitResult:
    """What one unit produced: kept records, records the metrics rejected (with `rejection`), failed attempts."""

    unit: Unit
    records: list[dict] = field(default_factory=list)
    failures: list[dict] = field(default_factory=list)
    rejects: list[dict] = field(default_factory=list)


class RunStore:
    """The output folder of one generate job, identified by the settings that determine its content.

    Args:
        out: The output folder.
        identity: Settings that must match to resume (skill, seeds, LM, program, seed, ...); `n` is not one of them,
            so a finished job can be extended by rerunning it with a larger `--n`.

    Raises:
        UserError: The folder holds another job's output, or a file where the folder should be.
    """

    def __init__(self, out: str | Path, identity: dict[str, Any]) -> None:
        self.out = Path(out)
        self.progress = self.out / ".progress"
        if self.out.exists() and not self.out.is_dir():
            raise UserError(f"--out must be a folder, but {self.out} is a file")
        identity_file = self.progress / "identity.json"
        if identity_file.exists():
            previous = json.loads(identity_file.read_text(encoding="utf-8"))
            changed = sorted(k for k in set(previous) | set(identity) if previous.get(k) != identity.get(k))
            if changed:
                raise UserError(
                    f"{self.out} holds output of a different job (changed: {', '.join(changed)}); "
                    "use another --out folder, or rerun with the same settings to resume"
                )
        elif self.out.exists() and any(p.name != ".progress" for p in self.out.iterdir()):
            raise UserError(f"{self.out} is not empty and was not written by agentinstruct generate")
        self.progress.mkdir(parents=True, exist_ok=True)
        identity_file.write_text(json.dumps(identity, indent=2, sort_keys=True), encoding="utf-8")
        self._units_file = self.progress / "units.jsonl"
        self._lock = threading.Lock()
        self.completed: dict[Unit, UnitResult] = self._read_completed()

    def _read_completed(self) -> dict[Unit, UnitResult]:
        completed: dict[Unit, UnitResult] = {}
        if not self._units_file.exists():
            return completed
        with self._units_file.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash: that unit is simply redone
                unit = (entry["unit"][0], entry["unit"][1])
                completed[unit] = UnitResult(unit, entry["records"], entry["failures"], entry.get("rejects", []))
        return completed

    def append(self, result: UnitResult) -> None:
        """Make a unit durable: one line, flushed and fsynced before returning."""
        line = json.dumps(
            {
                "unit": list(result.unit),
                "records": result.records,
                "failures": result.failures,
                "rejects": result.rejects,
            },
            ensure_ascii=False,
        )
        with self._lock:
            with self._units_file.open("a", encoding="utf-8") as handle:
                handle.write(line + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self.completed[result.unit] = result

    def record_count(self) -> int:
        with self._lock:
            return sum(len(result.records) for result in self.completed.values())

    def records(self, limit: int) -> list[dict]:
        """The first `limit` records in unit order (deterministic whatever order the threads finished in)."""
        ordered = [r for unit in sorted(self.completed) for r in self.completed[unit].records]
        return ordered[:limit]

    def failures(self) -> list[dict]:
        return [f for unit in sorted(self.completed) for f in self.completed[unit].failures]

    def rejects(self) -> list[dict]:
        return [r for unit in sorted(self.completed) for r in self.completed[unit].rejects]

    def write_dataset(
        self, records: list[dict], failures: list[dict], rejects: list[dict], summary: dict[str, Any]
    ) -> None:
        """Write the final dataset, the failures and rejects tables and the summary (replacing an earlier run's)."""
        import datasets
        import pandas as pd

        features = _record_features()
        dataset = (
            datasets.Dataset.from_list(records, features=features)
            if records
            else datasets.Dataset.from_dict({name: [] for name in RECORD_COLUMNS}, features=features)
        )
        # Everything is written beside the output, then moved over it: a reader holding the previous dataset
        # memory-mapped keeps a valid file, and a crash mid-write leaves the previous dataset whole.
        staging = self.progress / "staging"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        with _quiet_datasets():
            dataset.save_to_disk(str(staging))
            (staging / "data").mkdir()
            dataset.to_parquet(str(staging / "data" / "train-00000-of-00001.parquet"))
        (staging / "failures").mkdir()
        pd.DataFrame(failures, columns=list(FAILURE_COLUMNS)).to_parquet(
            staging / "failures" / "failures.parquet", index=False
        )
        (staging / "rejects").mkdir()
        reject_rows = [
            {
                **{k: v for k, v in r.items() if k != "messages"},
                "messages": json.dumps(r["messages"], ensure_ascii=False),
            }
            for r in rejects
        ]
        pd.DataFrame(reject_rows, columns=[*RECORD_COLUMNS, "rejection"]).to_parquet(
            staging / "rejects" / "rejects.parquet", index=False
        )
        (staging / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False), encoding="utf-8")
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                target = self.out / path.relative_to(staging)
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
        shutil.rmtree(staging)


@contextmanager
def _quiet_datasets():
    """`datasets` draws a progress bar for every save; the run has its own."""
    import datasets

    enabled = datasets.is_progress_bar_enabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def _record_features():
    import datasets

    string = datasets.Value("string")
    return datasets.Features(
        {
            "record_id": string,
            "messages": datasets.List({"role": string, "content": string}),
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
