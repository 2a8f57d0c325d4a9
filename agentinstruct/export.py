"""`export`: write a dataset's conversations in the format a training tool reads (TRL, LLaMA-Factory, OpenAI, ...).

Every row that is not written is counted by why: filtered out (`--skill`, `--min-quality`), unreadable, or a record
the chosen format cannot carry. Unless `--drop-unsupported` is given, a record the format cannot carry stops the
export before anything is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.formats import (
    FORMAT_COLUMNS,
    FORMATS,
    UnsupportedRecord,
    read_dataset,
    write_chat,
    write_rows,
)
from agentinstruct.options import option

SUFFIXES = (".jsonl", ".parquet")
UNREADABLE = "unreadable input row"


@dataclass
class ExportConfig:
    """What `agentinstruct export` is asked to do: each field is a CLI option and a keyword of
    `agentinstruct.export`."""

    dataset: str = option(positional=True, help="a folder written by generate (or any dataset score reads)")
    format: str = option(
        choices=FORMATS,
        help="messages (TRL, orca-agentinstruct), openai (chat fine-tuning JSONL), sharegpt or alpaca (LLaMA-Factory)",
    )
    out: str = option(help="file to write: .jsonl, or .parquet (not for openai)")
    min_quality: float | None = option(None, help="keep only records whose quality is at least this")
    skill: str | None = option(None, help="keep only records of this skill")
    drop_unsupported: bool = option(
        False, help="skip (and count) records the format cannot carry instead of refusing to export"
    )
    split: str | None = option(None, help="the split to export when the dataset has several")


@dataclass
class ExportResult:
    """What was written, and every row that was not, by reason."""

    out: str
    format: str
    rows: int
    written: int
    filtered: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    columns_left_out: list[str] = field(default_factory=list)


def export_dataset(config: ExportConfig) -> ExportResult:
    """Write the dataset's rows (after filters) as `config.format` to `config.out` (JSONL or Parquet, by suffix).

    Raises:
        UserError: Bad options, an unreadable dataset, filters that leave nothing, or records the format cannot carry
            without `--drop-unsupported` (nothing is written then).
    """
    out = Path(config.out)
    _check_options(config, out)
    dataset = read_dataset(config.dataset, config.split)
    rows = dataset.rows
    selected, filtered = _select(dataset, config)
    if not selected:
        reasons = ", ".join(f"{count} {reason}" for reason, count in filtered.items())
        raise UserError(f"no records of {config.dataset} to export ({reasons})")

    written: list[int] = []
    formatted: list[dict[str, Any]] = []
    dropped: Counter[str] = Counter()
    first_row: dict[str, int] = {}
    unreadable = {entry["index"]: entry for entry in dataset.unreadable}
    for index in selected:
        chat = dataset.chats[index]
        try:
            if chat is None:
                raise UnsupportedRecord(UNREADABLE)
            formatted.append(write_chat(chat, config.format, tools_as_json=out.suffix == ".parquet"))
            written.append(index)
        except UnsupportedRecord as exc:
            dropped[str(exc)] += 1
            first_row.setdefault(str(exc), index)
    if dropped and not config.drop_unsupported:
        reasons = "; ".join(f"{reason}: {count} (first: row {first_row[reason]})" for reason, count in dropped.items())
        raise UserError(
            f"{sum(dropped.values())} of {len(selected)} records cannot be written as {config.format} ({reasons}); "
            f"nothing was written. Pass --drop-unsupported to write the other {len(written)} and count these"
            + ("" if set(dropped) <= {UNREADABLE} else ", or export as messages, which carries every readable record")
        )
    if not written:
        raise UserError(f"no record of {config.dataset} can be written as {config.format}")

    # The record's own columns (lineage, scores) travel beside the format's, except for OpenAI, whose fine-tuning
    # files hold messages and tools only. A column named like one the output format writes cannot travel.
    own = [name for name in rows.columns if name not in FORMAT_COLUMNS[dataset.format]]
    left_out = own if config.format == "openai" else [name for name in own if name in FORMAT_COLUMNS[config.format]]
    travelling = [name for name in own if name not in left_out]
    passthrough = rows.arrow(written, travelling) if travelling else None
    write_rows(formatted, out, passthrough)
    return ExportResult(
        out=str(out),
        format=config.format,
        rows=rows.count,
        written=len(written),
        filtered=filtered,
        dropped=dict(dropped),
        unreadable=[unreadable[i] for i in selected if i in unreadable],
        columns_left_out=left_out,
    )


def _check_options(config: ExportConfig, out: Path) -> None:
    if config.format not in FORMATS:
        raise UserError(f"unknown format '{config.format}' (choose from {', '.join(FORMATS)})")
    if out.is_dir():
        raise UserError(f"--out must be a file, but {out} is a folder")
    if out.suffix not in SUFFIXES:
        raise UserError(f"--out must end in .jsonl or .parquet, got {out}")
    if config.format == "openai" and out.suffix != ".jsonl":
        raise UserError("OpenAI fine-tuning reads JSONL only: use --out FILE.jsonl")
    if config.min_quality is not None and not 0 <= config.min_quality <= 1:
        raise UserError(f"--min-quality must be in [0, 1], got {config.min_quality}")


def _select(dataset, config: ExportConfig) -> tuple[list[int], dict[str, int]]:
    """The rows that pass `--skill` and `--min-quality`, and how many each filter removed."""
    rows = dataset.rows
    selected = list(range(rows.count))
    filtered: dict[str, int] = {}
    if config.skill is not None:
        if "skill" not in rows.columns:
            raise UserError(f"--skill needs a 'skill' column, and {config.dataset} has none")
        skills = rows.column("skill")
        kept = [i for i in selected if skills[i] == config.skill]
        if not kept:
            present = sorted({s for s in skills if s is not None})
            raise UserError(f"no records of skill '{config.skill}' in {config.dataset} (skills: {', '.join(present)})")
        filtered[f"not of skill {config.skill}"] = len(selected) - len(kept)
        selected = kept
    if config.min_quality is not None:
        qualities = _qualities(rows, config.dataset)
        kept = [i for i in selected if qualities[i] is not None and qualities[i] >= config.min_quality]
        filtered[f"below quality {config.min_quality}"] = len(selected) - len(kept)
        selected = kept
    return selected, filtered


def _qualities(rows, source: str) -> list[float | None]:
    """Each row's quality: `scores.quality` in a generate folder, `quality` in a `score` output's records.parquet."""
    if "scores" in rows.columns:
        return [s.get("quality") if isinstance(s, dict) else None for s in rows.column("scores")]
    if "quality" in rows.columns:
        return rows.column("quality")
    raise UserError(f"--min-quality needs quality scores, and {source} has no 'scores' or 'quality' column")


def format_export(result: ExportResult) -> str:
    """The summary `export` prints."""
    lines = [f"written        {result.written} of {result.rows} rows as {result.format} to {result.out}"]
    for reason, count in result.filtered.items():
        lines.append(f"filtered       {count} {reason}")
    for reason, count in result.dropped.items():
        lines.append(f"dropped        {count}: {reason} (--drop-unsupported)")
    for entry in result.unreadable[:3]:
        lines.append(f"unreadable     row {entry['index']}: {entry['reason']}")
    if result.columns_left_out:
        names = ", ".join(result.columns_left_out)
        lines.append(f"not written    columns {names}: the {result.format} format has no place for them")
    return "\n".join(lines)
