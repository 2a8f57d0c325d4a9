"""`generate` over several skills: a mix of skills from one seed folder, in one command and one MLflow run.

Each skill is its own generate job in `OUT/skills/<skill>/` (resumable on its own, deduplicated within the skill, its
own nested MLflow run); `OUT` then holds one dataset of every skill's records (each carries its `skill`), the
failures, rejects and surplus tables of all of them, and a `summary.json` with the figures of each skill.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentinstruct.errors import UserError

if TYPE_CHECKING:
    from agentinstruct.runner import GenerateConfig, GenerateSummary

ALL = "all"
SKILLS_DIR = "skills"
TABLES = ("failures", "rejects", "surplus")


def resolve_skills(spec: str) -> list[str]:
    """The skills `--skill` names: one name, a comma-separated list, or `all` (every registered skill).

    Raises:
        UserError: An unknown or repeated name, or an empty list.
    """
    from agentinstruct.programs import skill_names

    known = skill_names()
    if spec.strip() == ALL:
        return list(known)
    names = [name.strip() for name in spec.split(",")]
    if not all(names):
        raise UserError(f"--skill '{spec}' has an empty name; give names separated by commas, or 'all'")
    unknown = [name for name in names if name not in known]
    if unknown:
        raise UserError(f"unknown skill '{unknown[0]}' in --skill (available: {', '.join(known)}, or 'all')")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise UserError(f"--skill names {repeated[0]} more than once")
    return names


def parse_mix(text: str | None, skills: list[str]) -> dict[str, float]:
    """The weight of each skill: `--mix name=weight,...` (skills it leaves out weigh 1), or equal weights.

    Raises:
        UserError: A malformed entry, a skill that is not in `--skill`, or a weight that is not a positive number.
    """
    weights = dict.fromkeys(skills, 1.0)
    if not text:
        return weights
    for entry in text.split(","):
        name, separator, value = entry.partition("=")
        name = name.strip()
        if not separator or not name:
            raise UserError(f"--mix entry '{entry.strip()}' is not name=weight")
        if name not in weights:
            raise UserError(f"--mix names '{name}', which is not among the skills of --skill ({', '.join(skills)})")
        try:
            weight = float(value)
        except ValueError:
            weight = math.nan
        if not (math.isfinite(weight) and weight > 0):
            raise UserError(f"--mix weight of {name} must be a positive number, got '{value.strip()}'")
        weights[name] = weight
    return weights


def quotas(n: int, weights: dict[str, float]) -> dict[str, int]:
    """`n` records split in proportion to the weights, largest remainders first (ties in the skills' order).

    Raises:
        UserError: A skill would get no record.
    """
    total = sum(weights.values())
    exact = {name: n * weight / total for name, weight in weights.items()}
    shares = {name: math.floor(value) for name, value in exact.items()}
    by_remainder = sorted(weights, key=lambda name: -(exact[name] - shares[name]))
    for name in by_remainder[: n - sum(shares.values())]:
        shares[name] += 1
    empty = [name for name, share in shares.items() if share == 0]
    if empty:
        raise UserError(
            f"--n {n} leaves {empty[0]} no record at its share of the mix; raise --n (at least one record per skill)"
        )
    return shares


@dataclass
class MixSummary:
    """The figures of a generate run over several skills (also `summary.json` and the parent MLflow run)."""

    out: str
    run_id: str
    pairs: int
    requested: int
    failures: int
    rejected: int
    surplus: int
    lm_calls: int
    wall_seconds: float
    skills: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per skill: requested, pairs, pass_rate, failures, rejected, lm_calls, lm_calls_per_kept_pair,
    seconds_per_kept_pair, vendi_score, tokens_in, tokens_out, cost_usd, run_id and out."""
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None
    """The skills' spend summed; None when a model is not in LiteLLM's local price map."""
    models: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    decontamination: dict[str, Any] = field(default_factory=dict)
    """With `--decontaminate`: `ngram` and `contaminated`, pairs rejected per benchmark source over all skills."""


def generate_mix(config: GenerateConfig, skills: list[str], *, show_progress: bool = True) -> MixSummary:
    """Generate `config.n` records split over `skills` by `config.mix`, each skill in its own resumable job.

    Raises:
        UserError: Bad input (checked for every skill before anything is written), or a skill's run failed.
    """
    import mlflow

    from agentinstruct.card import CARD, log_card, write_card
    from agentinstruct.plots import PLOTS_DIR, draw_safely, generate_plots
    from agentinstruct.runner import generate
    from agentinstruct.seeds import load_seeds
    from agentinstruct.tracking import store_lock, tracked_run

    if config.program:
        from agentinstruct.optimizers import program_skills, read_program_state

        read_program_state(config.program, skills[0])  # a missing or unreadable file: its own one-line error
        missing = [name for name in skills if name not in program_skills(config.program)]
        if missing:
            raise UserError(
                f"program file {config.program} holds no program for {', '.join(missing)}: compile every skill of "
                f"the mix into one file (agentinstruct compile --skill {','.join(skills)} ...)"
            )
    shares = quotas(config.n, parse_mix(config.mix, skills))
    out = Path(config.out)
    _check_folder(out)
    for name in skills:  # every skill's seeds, before anything is written
        from agentinstruct.programs import get_skill

        try:
            load_seeds(
                config.seeds,
                text_field=config.text_field,
                max_chars=config.max_chars,
                kinds=get_skill(name).seed_kinds,
            )
        except UserError as exc:
            raise UserError(f"skill {name}: {exc}") from None
    started = time.perf_counter()
    params = {**asdict(config), "skills": skills, "quotas": shares}
    results: dict[str, GenerateSummary] = {}
    notes: list[str] = []
    # --max-cost covers the whole mix: each skill gets what the skills before it left.
    budget = config.max_cost
    with tracked_run("generate", params, run_name="generate-mix") as run:
        for name in skills:
            if budget is not None and budget <= 0 and results:
                notes.append(
                    f"stopped at --max-cost ${config.max_cost:g} before {name}; rerun the same command "
                    "(with a higher --max-cost) to continue"
                )
                break
            job = replace(
                config, skill=name, n=shares[name], out=str(out / SKILLS_DIR / name), mix=None, max_cost=budget
            )
            if show_progress:
                print(f"agentinstruct: {name}: {shares[name]} records", file=sys.stderr, flush=True)
            results[name] = generate(job, show_progress=show_progress)
            if budget is not None:
                budget -= results[name].cost_usd or 0.0
        costs = [r.cost_usd for r in results.values()]
        counts = _combine(out, [Path(results[name].out) for name in skills if name in results])
        summary = MixSummary(
            out=str(out),
            run_id=run.info.run_id,
            pairs=counts["data"],
            requested=config.n,
            failures=counts["failures"],
            rejected=counts["rejects"],
            surplus=counts["surplus"],
            lm_calls=sum(r.lm_calls for r in results.values()),
            wall_seconds=round(time.perf_counter() - started, 2),
            skills={name: skill_figures(result) for name, result in results.items()},
            decontamination=_decontamination(config, results.values()),
            tokens_in=sum(r.tokens_in for r in results.values()),
            tokens_out=sum(r.tokens_out for r in results.values()),
            cost_usd=None if any(c is None for c in costs) else sum(c for c in costs if c is not None),
            models=list(dict.fromkeys(m for r in results.values() for m in r.models)),
            notes=[*notes, *(f"{name}: {n}" for name, r in results.items() for n in r.notes if "--max-cost" in n)],
        )
        metrics = {"pairs": summary.pairs, "failures": summary.failures, "rejected": summary.rejected}
        metrics.update({f"contaminated_{k}": v for k, v in summary.decontamination.get("contaminated", {}).items()})
        if summary.cost_usd is not None:
            metrics["cost_usd"] = summary.cost_usd
        for name, figures in summary.skills.items():
            metrics.update({f"{name}/{key}": value for key, value in figures.items() if _is_number(value)})
        jobs = {name: Path(result.out) for name, result in results.items()}
        plots = draw_safely(lambda: generate_plots(out, jobs, config.dedup_threshold), summary.notes)
        (out / "summary.json").write_text(json.dumps(asdict(summary), indent=2), encoding="utf-8")
        card = write_card(out, config, summary)
        with store_lock():
            mlflow.log_metrics(metrics)
            mlflow.log_artifact(str(out / "summary.json"))
            log_card(card, out / CARD)
            for plot in plots:
                mlflow.log_artifact(str(plot), artifact_path=PLOTS_DIR)
    return summary


def _check_folder(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"--out must be a folder, but {out} is a file")
    if out.exists() and any(out.iterdir()) and not (out / SKILLS_DIR).is_dir():
        what = "a single-skill generate job" if (out / ".progress").exists() else "files agentinstruct did not write"
        raise UserError(f"{out} holds {what}; give the mix another --out folder")


def skill_figures(result: GenerateSummary) -> dict[str, Any]:
    """One skill's figures in a mix's summary (and the skills benchmark's table)."""
    return {
        "requested": result.requested,
        "pairs": result.pairs,
        "pass_rate": result.pass_rate,
        "failures": result.failures,
        "rejected": result.rejected,
        "lm_calls": result.lm_calls,
        "lm_calls_per_kept_pair": round(result.lm_calls / result.pairs, 2) if result.pairs else None,
        "seconds_per_kept_pair": round(result.wall_seconds / result.pairs, 2) if result.pairs else None,
        "vendi_score": result.diversity.get("vendi_score"),
        "tokens_in": result.tokens_in,
        "tokens_out": result.tokens_out,
        "cost_usd": result.cost_usd,
        "run_id": result.run_id,
        "out": result.out,
    }


def _decontamination(config: GenerateConfig, results) -> dict[str, Any]:
    """The skills' contaminated counts per benchmark source, summed."""
    if not config.decontaminate:
        return {}
    total: dict[str, int] = {}
    for result in results:
        for name, count in result.decontamination.get("contaminated", {}).items():
            total[name] = total.get(name, 0) + count
    return {"ngram": config.ngram, "contaminated": total}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _combine(out: Path, parts: list[Path]) -> dict[str, int]:
    """One dataset and one table of each kind from the skills' outputs, written beside and moved over the previous
    ones (a crash leaves them whole). Arrow batches are copied; rows never become Python objects."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from agentinstruct.store import publish_saved_dataset, record_features

    staging = out / SKILLS_DIR / ".staging"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    arrow_path = staging / "data.arrow"
    counts = {}
    with pa.OSFile(str(arrow_path), "wb") as sink, pa.ipc.new_stream(sink, record_features().arrow_schema) as arrow:
        for table in ("data", *TABLES):
            name = "train-00000-of-00001.parquet" if table == "data" else f"{table}.parquet"
            sources = [part / table / name for part in parts]
            schema = record_features().arrow_schema if table == "data" else pq.read_schema(sources[0])
            (staging / table).mkdir(parents=True)
            counts[table] = 0
            with pq.ParquetWriter(staging / table / name, schema) as writer:
                for source in sources:
                    for batch in pq.ParquetFile(source).iter_batches():
                        writer.write_batch(batch)
                        counts[table] += batch.num_rows
                        if table == "data":
                            arrow.write_batch(batch)
    moves = [(p, out / table / p.name) for table in ("data", *TABLES) for p in (staging / table).iterdir()]
    for source, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)
    publish_saved_dataset(arrow_path, staging / "hf", out)
    shutil.rmtree(staging)
    return counts


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))


def format_mix_summary(summary: MixSummary) -> str:
    from agentinstruct.cost import format_cost_line
    from agentinstruct.tracking import mlflow_ui_hint

    header = f"{'skill':<22} {'pairs':>9} {'pass rate':>9} {'failures':>8} {'rejected':>8} {'calls/pair':>10}"
    lines = [header]
    for name, figures in summary.skills.items():
        per_pair = figures["lm_calls_per_kept_pair"]
        lines.append(
            f"{name:<22} {figures['pairs']:>4} of {figures['requested']:<2} {figures['pass_rate']:>9.0%} "
            f"{figures['failures']:>8} {figures['rejected']:>8} {per_pair if per_pair is not None else '-':>10}"
        )
    lines += [
        f"pairs written   {summary.pairs} of {summary.requested} requested ({summary.surplus} surplus)",
        f"LM calls        {summary.lm_calls}",
        f"tokens          {format_cost_line(summary.tokens_in, summary.tokens_out, summary.cost_usd, summary.models)}",
        f"wall time       {summary.wall_seconds:.1f} s",
        *(
            [
                f"contaminated    {sum(summary.decontamination['contaminated'].values())} rejected "
                f"({_counts(summary.decontamination['contaminated'])})"
            ]
            if summary.decontamination
            else []
        ),
        f"dataset         {summary.out}  (datasets.load_dataset(DIR, name=SKILL or 'all'); card in README.md; "
        f"each skill's job in {summary.out}/{SKILLS_DIR}/)",
        f"mlflow run      {summary.run_id}  (one nested run per skill; {mlflow_ui_hint()})",
    ]
    lines += [f"note            {note}" for note in summary.notes]
    return "\n".join(lines)
