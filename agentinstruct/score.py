"""`score`: measure any chat dataset (generated here or not) with the same metrics `generate` filters on."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.formats import FORMATS, ChatDataset, read_dataset
from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD
from agentinstruct.options import option


@dataclass
class ScoreConfig:
    """What `agentinstruct score` is asked to do: each field is a CLI option and a keyword of `agentinstruct.score`."""

    dataset: str = option(
        positional=True, help="a folder written by generate, a .jsonl/.parquet file, or a saved HF dataset"
    )
    out: str = option(help="folder for report.json and records.parquet")
    judge_lm: str | None = option(
        None,
        help="also rate rows with this judge LM (an endpoint; the embedded 270M model adds nothing measurable, see "
        "README); default: no judge",
    )
    api_base: str | None = option(None, help="base URL of an OpenAI-compatible server for the judge")
    embedding_model: str | None = option(None, help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    dedup_threshold: float = option(
        DEFAULT_DEDUP_THRESHOLD, help="cosine similarity at which a row duplicates an earlier one, in (0, 1]"
    )
    split: str | None = option(None, help="the split to score when the dataset has several")
    skill: str | None = option(None, help="skill whose validators apply (default: the dataset's `skill` column)")
    concurrency: int = option(1, help="rows judged in parallel")
    format: str = option(
        "auto", choices=("auto", *FORMATS), help="the dataset's format; auto detects it from the columns"
    )
    model_checks: bool = option(True, help="check every row with the embedded model too (about 1 s a row)")

    def validate(self) -> None:
        if not 0 < self.dedup_threshold <= 1:
            raise UserError(f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}")
        if self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {self.concurrency}")


def score_dataset(config: ScoreConfig, *, show_progress: bool = True) -> dict[str, Any]:
    """Score every readable row in input order, write `report.json` and `records.parquet` to `config.out`, log an
    MLflow run.

    Rows that hold no conversation in the dataset's format are left out of every figure and listed in the report
    (`unreadable`, with index and reason); `records.parquet` keeps them in place with their `read_error`.

    Returns:
        The report.
    """
    import mlflow
    import pandas as pd
    from tqdm import tqdm

    from agentinstruct.lm import JUDGE_SETTINGS, build_lm, check_lm
    from agentinstruct.metrics import Embedder, Scorer, dataset_diversity, view_of
    from agentinstruct.metrics.lm_checks import embedded_lm_checks
    from agentinstruct.tracking import tracked_run

    config.validate()
    dataset = read_dataset(config.dataset, config.split, config.format)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out must be a folder, but {out} is a file")
    judge_lm = None
    if config.judge_lm:
        judge_lm = build_lm(config.judge_lm, config.api_base, **JUDGE_SETTINGS)
        check_lm(judge_lm, config.api_base)
    readable = dataset.readable
    row_skills = _row_skills(config.skill, dataset.rows.column("skill"), readable)
    embedder = Embedder(config.embedding_model)
    scorer = Scorer(
        judge_lm=judge_lm,
        embedder=embedder,
        dedup_threshold=config.dedup_threshold,
        min_quality=None,
        lm_checks=embedded_lm_checks(config.model_checks),
    )
    contexts, executions = dataset.rows.column("context"), dataset.rows.column("execution")
    views = [
        view_of(dataset.chats[index].messages, contexts[index], dataset.chats[index].tools, executions[index])
        for index in readable
    ]
    params = {
        "dataset": config.dataset,
        "format": dataset.format,
        "rows": dataset.rows.count,
        "unreadable_rows": len(dataset.unreadable),
        "skill": config.skill or ",".join(sorted({s or UNKNOWN for s in row_skills})),
        "model_checks": config.model_checks,
        "judge_lm": config.judge_lm,
        "embedding_model": embedder.model_path,
        "dedup_threshold": config.dedup_threshold,
    }
    started = time.perf_counter()
    with tracked_run("score", params, run_name="score") as run:
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            scores = list(
                tqdm(
                    pool.map(scorer.assess, views, row_skills),
                    total=len(views),
                    unit="row",
                    desc="scoring",
                    disable=not show_progress,
                )
            )
        # A duplicate names the earlier row by its index in the input, unreadable rows included.
        scorer.admit(views, scores, readable)
        vectors = embedder.embed([view.embedding_text for view in views])
        labels = {}
        for name in ("instruction_type", "transformation"):
            if name in dataset.rows.columns:
                values = dataset.rows.column(name)
                labels[name] = [values[index] for index in readable]
        report = _report(scores, dataset_diversity(vectors, [v.embedding_text for v in views], **labels), scorer)
        report.update(_skill_figures(row_skills, scores))
        report["rows"] = dataset.rows.count
        report["scored_rows"] = len(readable)
        report["format"] = dataset.format
        report["empty_system_turns_dropped"] = dataset.empty_system_turns
        report["unreadable_rows"] = len(dataset.unreadable)
        report["unreadable"] = dataset.unreadable
        report["seconds"] = round(time.perf_counter() - started, 2)
        report["mlflow_run_id"] = run.info.run_id

        out.mkdir(parents=True, exist_ok=True)
        _write_records(dataset, scores, out / "records.parquet")
        (out / "report.json").write_text(json.dumps(report, indent=2), encoding="utf-8")
        mlflow.log_metrics(_numeric(report))
        mlflow.log_artifact(str(out / "report.json"))
        log_frame = pd.DataFrame(
            {
                "instruction": [v.instruction for v in views[:50]],
                "response": [v.response for v in views[:50]],
                "validator_failures": [", ".join(sorted(s.validator_failures)) for s in scores[:50]],
                "novelty": [s.novelty for s in scores[:50]],
            }
        )
        mlflow.log_table(log_frame, artifact_file="scored_samples.json")
    return report


UNKNOWN = "unknown_skill"


def _row_skills(given: str | None, column: list, readable: list[int]) -> list[str | None]:
    """Each readable row's skill: `--skill` for all, else the row's `skill` column; a name no skill has stays as it
    is (it gets the generic checks and is counted as unknown)."""
    return [given or column[index] or None for index in readable]


def _skill_figures(row_skills: list[str | None], scores: list) -> dict:
    """Rows and validator pass rate per skill; rows whose skill is missing or unknown are counted, never hidden."""
    from agentinstruct.programs import skill_names

    known = set(skill_names())
    per_skill: dict[str, list[int]] = {}
    for skill, score in zip(row_skills, scores, strict=True):
        name = skill if skill in known else UNKNOWN
        counts = per_skill.setdefault(name, [0, 0])
        counts[0] += 1
        counts[1] += score.passed
    unknown = sorted({skill or "(none)" for skill in row_skills if skill not in known})
    return {
        "skills": {
            name: {"rows": rows, "validator_pass_rate": round(passed / rows, 4)}
            for name, (rows, passed) in sorted(per_skill.items())
        },
        # Scored with the generic validators only: the row's skill column is missing or names no skill.
        "unknown_skill_rows": per_skill.get(UNKNOWN, [0])[0],
        "unknown_skills": unknown,
    }


def _write_records(dataset: ChatDataset, scores, path: Path) -> None:
    """Every input row in input order: its original columns, `read_error` (null when read), then the score columns
    (null for unreadable rows). A score column replaces an input column of the same name (a rescored `novelty`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agentinstruct.metrics import CRITERIA

    # Fixed types, so that a column that happens to be all null (no judge) or all empty keeps its type.
    types = {
        "read_error": pa.string(),
        "quality": pa.float64(),
        "validator_failures": pa.list_(pa.string()),
        "validator_reasons": pa.list_(pa.string()),
        **{f"judge_{name}": pa.int64() for name in CRITERIA},
        "judge_overall": pa.float64(),
        "judge_rationale": pa.string(),
        "near_duplicate_of": pa.int64(),
        "novelty": pa.float64(),
    }
    columns: dict[str, list] = {name: [None] * dataset.rows.count for name in types}
    for entry in dataset.unreadable:
        columns["read_error"][entry["index"]] = entry["reason"]
    for index, score in zip(dataset.readable, scores, strict=True):
        values = {
            **score.as_columns(),
            "near_duplicate_of": score.near_duplicate_of,
            "novelty": round(score.novelty, 4),
        }
        for name, value in values.items():
            columns[name][index] = value
    table = dataset.rows.arrow()
    for name, values in columns.items():
        array = pa.array(values, type=types[name])
        if name in table.column_names:
            table = table.set_column(table.column_names.index(name), name, array)
        else:
            table = table.append_column(name, array)
    pq.write_table(table, path)


def _report(scores, diversity: dict[str, float], scorer) -> dict[str, Any]:
    from agentinstruct.metrics import CRITERIA

    rows = len(scores) or 1
    judged = [s.judgement for s in scores if s.judgement is not None]
    report: dict[str, Any] = {
        "pass_rate": sum(s.passed for s in scores) / rows,
        **diversity,
        "near_duplicate_rate": sum(s.near_duplicate_of is not None for s in scores) / rows,
        "mean_novelty": sum(s.novelty for s in scores) / rows,
        "validator_failures": dict(Counter(name for s in scores for name in s.validator_failures)),
    }
    if scorer.judge is not None:
        report["judge"] = {
            **{name: (sum(getattr(j, name) for j in judged) / len(judged) if judged else None) for name in CRITERIA},
            "overall": sum(j.overall for j in judged) / len(judged) if judged else None,
            "judged": len(judged),
            "calls": scorer.judge_calls,
            "parse_failures": scorer.judge_parse_failures,
        }
    return report


def _numeric(report: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in report.items():
        if isinstance(value, dict):
            flat.update(_numeric(value, f"{prefix}{key}_"))
        elif isinstance(value, int | float) and not isinstance(value, bool):
            flat[f"{prefix}{key}"] = float(value)
    return flat


def format_report(report: dict[str, Any]) -> str:
    from agentinstruct.tracking import mlflow_ui_hint

    lines = [f"rows                 {report['rows']} ({report['format']} format, {report['scored_rows']} scored)"]
    if report["unreadable_rows"]:
        first = "; ".join(f"row {u['index']}: {u['reason']}" for u in report["unreadable"][:3])
        more = f"; {report['unreadable_rows'] - 3} more in report.json" if report["unreadable_rows"] > 3 else ""
        lines.append(
            f"unreadable rows      {report['unreadable_rows']}, left out of every figure below ({first}{more})"
        )
    if report["empty_system_turns_dropped"]:
        lines.append(f"empty system turns   {report['empty_system_turns_dropped']} dropped")
    lines += [
        f"pass rate            {report['pass_rate']:.1%}",
        f"near-duplicate rate  {report['near_duplicate_rate']:.1%}",
        f"vendi score          {report['vendi_score']:.2f}   "
        f"mean pairwise distance {report['mean_pairwise_distance']:.3f}",
        f"distinct-1/2         {report['distinct_1']:.3f} / {report['distinct_2']:.3f}   "
        f"clusters {report['clusters']:.0f}",
    ]
    skills = report.get("skills") or {}
    if len(skills) > 1 or report.get("unknown_skill_rows"):
        per_skill = ", ".join(f"{name} {f['rows']} ({f['validator_pass_rate']:.0%})" for name, f in skills.items())
        lines.append(f"skills               {per_skill}")
    if report.get("unknown_skill_rows"):
        lines.append(
            f"unknown skills       {report['unknown_skill_rows']} rows ({', '.join(report['unknown_skills'])}): "
            "scored with the generic validators only"
        )
    if report["validator_failures"]:
        failures = ", ".join(f"{k}: {v}" for k, v in sorted(report["validator_failures"].items()))
        lines.append(f"validator failures   {failures}")
    judge = report.get("judge")
    if judge:
        overall = f"{judge['overall']:.2f}/5" if judge["overall"] is not None else "n/a"
        lines.append(
            f"judge                {overall} over {judge['judged']} pairs "
            f"({judge['parse_failures']} unparseable of {judge['calls']})"
        )
    lines.append(f"mlflow run           {report['mlflow_run_id']}  ({mlflow_ui_hint()})")
    return "\n".join(lines)
