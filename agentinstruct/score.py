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
from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD


@dataclass
class ScoreConfig:
    """What `agentinstruct score` was asked to do."""

    dataset: str
    out: str
    judge: bool = True
    judge_lm: str = "embedded"
    api_base: str | None = None
    embedding_model: str | None = None
    dedup_threshold: float = DEFAULT_DEDUP_THRESHOLD
    split: str | None = None
    skill: str | None = None
    concurrency: int = 1


def load_chat_dataset(path: str, split: str | None = None):
    """A `datasets.Dataset` with a `messages` column from a generate folder, a .jsonl/.parquet file, or a saved HF
    dataset.

    Raises:
        UserError: Missing path, unreadable file, several splits and none chosen, or no `messages` column.
    """
    import datasets

    source = Path(path)
    if not source.exists():
        raise UserError(f"dataset path does not exist: {path}")
    try:
        if source.is_dir():
            loaded = datasets.load_from_disk(str(source))
        elif source.suffix == ".jsonl":
            loaded = datasets.Dataset.from_json(str(source))
        elif source.suffix == ".parquet":
            loaded = datasets.Dataset.from_parquet(str(source))
        else:
            raise UserError(f"cannot score {path}: expected a folder, a .jsonl or a .parquet file")
    except UserError:
        raise
    except Exception as exc:  # datasets/pyarrow raise many unrelated types for an unreadable input
        raise UserError(f"cannot read dataset {path}: {type(exc).__name__}: {exc}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) != 1:
            raise UserError(f"{path} has splits {', '.join(loaded)}; choose one with --split")
        name = split or next(iter(loaded))
        if name not in loaded:
            raise UserError(f"{path} has no split '{name}' (splits: {', '.join(loaded)})")
        loaded = loaded[name]
    if "messages" not in loaded.column_names:
        raise UserError(f"{path} has no 'messages' column (columns: {', '.join(loaded.column_names)})")
    return loaded


def score_dataset(config: ScoreConfig, *, show_progress: bool = True) -> dict[str, Any]:
    """Score every row in input order, write `report.json` and `records.parquet` to `config.out`, log an MLflow run.

    Returns:
        The report.
    """
    import mlflow
    import pandas as pd
    from tqdm import tqdm

    from agentinstruct.lm import JUDGE_SETTINGS, build_lm, check_lm
    from agentinstruct.metrics import Embedder, Scorer, dataset_diversity, view_of
    from agentinstruct.tracking import tracked_run

    dataset = load_chat_dataset(config.dataset, config.split)
    out = Path(config.out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out must be a folder, but {out} is a file")
    judge_lm = None
    if config.judge:
        judge_lm = build_lm(config.judge_lm, config.api_base, **JUDGE_SETTINGS)
        check_lm(judge_lm, config.api_base)
    skill = config.skill or _single_skill(dataset)
    embedder = Embedder(config.embedding_model)
    scorer = Scorer(
        skill=skill, judge_lm=judge_lm, embedder=embedder, dedup_threshold=config.dedup_threshold, min_quality=None
    )
    views = [view_of(messages or []) for messages in dataset["messages"]]
    params = {
        "dataset": config.dataset,
        "rows": len(views),
        "skill": skill,
        "judge": config.judge,
        "judge_lm": config.judge_lm if config.judge else None,
        "embedding_model": embedder.model_path,
        "dedup_threshold": config.dedup_threshold,
    }
    started = time.perf_counter()
    with tracked_run("score", params, run_name="score") as run:
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            scores = list(
                tqdm(
                    pool.map(scorer.assess, views),
                    total=len(views),
                    unit="row",
                    desc="scoring",
                    disable=not show_progress,
                )
            )
        scorer.admit(views, scores, list(range(len(views))))
        vectors = embedder.embed([view.embedding_text for view in views])
        labels = {
            name: dataset[name] for name in ("instruction_type", "transformation") if name in dataset.column_names
        }
        report = _report(scores, dataset_diversity(vectors, [v.embedding_text for v in views], **labels), scorer)
        report["rows"] = len(views)
        report["seconds"] = round(time.perf_counter() - started, 2)
        report["mlflow_run_id"] = run.info.run_id

        out.mkdir(parents=True, exist_ok=True)
        frame = dataset.to_pandas()
        for column, values in _score_columns(scores).items():
            frame[column] = values
        frame.to_parquet(out / "records.parquet", index=False)
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


def _single_skill(dataset) -> str | None:
    if "skill" not in dataset.column_names:
        return None
    skills = set(dataset["skill"])
    return skills.pop() if len(skills) == 1 else None


def _score_columns(scores) -> dict[str, list]:
    columns: dict[str, list] = {}
    for score in scores:
        for name, value in score.as_columns().items():
            columns.setdefault(name, []).append(value)
    columns["near_duplicate_of"] = [s.near_duplicate_of for s in scores]
    columns["novelty"] = [round(s.novelty, 4) for s in scores]
    return columns


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
    lines = [
        f"rows                 {report['rows']}",
        f"pass rate            {report['pass_rate']:.1%}",
        f"near-duplicate rate  {report['near_duplicate_rate']:.1%}",
        f"vendi score          {report['vendi_score']:.2f}   "
        f"mean pairwise distance {report['mean_pairwise_distance']:.3f}",
        f"distinct-1/2         {report['distinct_1']:.3f} / {report['distinct_2']:.3f}   "
        f"clusters {report['clusters']:.0f}",
    ]
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
    lines.append(f"mlflow run           {report['mlflow_run_id']}")
    return "\n".join(lines)
