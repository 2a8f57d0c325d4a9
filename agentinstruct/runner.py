"""`generate`: run a skill's pipeline over seeds until N accepted records exist, durably, resumably, tracked in MLflow.

Every pair is scored as it arrives (validators, the judge when a judge LM is given, novelty against the records kept
so far); pairs below `--min-quality` or within `--dedup-threshold` of a kept one go to the rejects table.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError
from agentinstruct.lm import EMBEDDED, JUDGE_SETTINGS, build_lm, check_lm, role_api_base
from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD
from agentinstruct.metrics.scoring import DEFAULT_MIN_QUALITY
from agentinstruct.seeds import DEFAULT_MAX_CHARS, load_seeds
from agentinstruct.store import RunStore, Unit, UnitResult

MAX_UNITS_PER_RECORD = 4
"""Stop after this many (seed, draw) units per requested record if the LM keeps failing, instead of looping."""


@dataclass
class GenerateConfig:
    """What `agentinstruct generate` was asked to do (the CLI's options)."""

    skill: str
    seeds: str
    n: int
    out: str
    lm: str = EMBEDDED
    api_base: str | None = None
    judge_lm: str | None = None
    program: str | None = None
    seed: int = 0
    refine_rounds: int = 1
    concurrency: int = 1
    text_field: str = "text"
    max_chars: int = DEFAULT_MAX_CHARS
    temperature: float = 0.7
    max_tokens: int = 512
    min_quality: float = DEFAULT_MIN_QUALITY
    dedup_threshold: float = DEFAULT_DEDUP_THRESHOLD
    embedding_model: str | None = None
    model_checks: bool | None = None
    """The embedded model's checks on every pair (`metrics/lm_checks.py`); None: only when the generator is the
    embedded model (an endpoint run would wait on the local model)."""

    @property
    def uses_model_checks(self) -> bool:
        return self.model_checks if self.model_checks is not None else self.lm == EMBEDDED

    def validate(self) -> None:
        if self.n < 1:
            raise UserError(f"--n must be at least 1, got {self.n}")
        if self.refine_rounds < 0:
            raise UserError(f"--refine-rounds must be 0 or more, got {self.refine_rounds}")
        if self.concurrency < 1:
            raise UserError(f"--concurrency must be at least 1, got {self.concurrency}")
        if not 0 <= self.min_quality <= 1:
            raise UserError(f"--min-quality must be in [0, 1], got {self.min_quality}")
        if not 0 < self.dedup_threshold <= 1:
            raise UserError(f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}")


@dataclass
class GenerateSummary:
    """The figures of one generate run (also written to `summary.json` and logged to MLflow)."""

    out: str
    run_id: str
    pairs: int
    requested: int
    generated: int
    failures: int
    failures_by_reason: dict[str, int]
    failures_by_stage: dict[str, int]
    rejected: int
    rejected_by_reason: dict[str, int]
    pass_rate: float
    seeds: int
    seeds_skipped: int
    skipped_seeds: list[dict[str, str]]
    units_resumed: int
    units_run: int
    lm_calls: int
    tokens_in: int
    tokens_out: int
    parse_failure_rate: float
    wall_seconds: float
    pairs_per_second: float
    program_id: str
    diversity: dict[str, float] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)


def _call_counter():
    """A DSPy callback counting LM calls (cache hits included) across threads."""
    from dspy.utils.callback import BaseCallback

    class LMCallCounter(BaseCallback):
        def __init__(self) -> None:
            self.calls = 0
            self._lock = threading.Lock()

        def on_lm_start(self, call_id, instance, inputs) -> None:
            with self._lock:
                self.calls += 1

    return LMCallCounter()


def generate(config: GenerateConfig, *, show_progress: bool = True) -> GenerateSummary:
    """Generate `config.n` records into `config.out`, resuming whatever an earlier run of the same job finished.

    Raises:
        UserError: Bad input (paths, skill, program, LM), reported by the CLI as one line.
    """
    import dspy

    from agentinstruct.metrics import Embedder, Scorer, view_of
    from agentinstruct.metrics.lm_checks import embedded_lm_checks
    from agentinstruct.optimizers import load_program, program_id, program_metadata
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.records import make_failure, make_record
    from agentinstruct.tracking import log_table_dataset, tracked_run

    config.validate()
    skill = get_skill(config.skill)
    seed_set = load_seeds(
        config.seeds, text_field=config.text_field, max_chars=config.max_chars, kinds=skill.seed_kinds
    )
    pipeline = AgentInstructPipeline(skill)
    if config.program:
        load_program(pipeline, config.program)
    pid = program_id(pipeline)
    lm = build_lm(config.lm, config.api_base, temperature=config.temperature, max_tokens=config.max_tokens)
    judge_lm = None
    if config.judge_lm:
        judge_lm = build_lm(config.judge_lm, role_api_base(config.judge_lm, config.api_base), **JUDGE_SETTINGS)
    embedder = Embedder(config.embedding_model)
    identity = {
        "skill": skill.name,
        "seeds": str(Path(config.seeds).resolve()),
        "text_field": config.text_field,
        "max_chars": config.max_chars,
        "lm": config.lm,
        "api_base": config.api_base,
        "program_id": pid,
        "seed": config.seed,
        "refine_rounds": config.refine_rounds,
        "temperature": config.temperature,
        "max_tokens": config.max_tokens,
        "judge_lm": config.judge_lm,
        "min_quality": config.min_quality,
        "dedup_threshold": config.dedup_threshold,
        "embedding_model": embedder.model_path,
        "model_checks": config.uses_model_checks,
    }
    store = RunStore(config.out, identity)
    resumed = len(store.completed)
    if store.record_count() < config.n:
        check_lm(lm, config.api_base)
        if judge_lm is not None:
            check_lm(judge_lm, config.api_base)

    scorer = Scorer(
        skill=skill.name,
        judge_lm=judge_lm,
        embedder=embedder,
        dedup_threshold=config.dedup_threshold,
        min_quality=config.min_quality,
        lm_checks=embedded_lm_checks(config.uses_model_checks) if store.record_count() < config.n else None,
    )
    kept = [r for unit in sorted(store.completed) for r in store.completed[unit].records]
    scorer.remember([view_of(r["messages"]) for r in kept], [r["record_id"] for r in kept])

    compile_run_id = program_metadata(config.program).get("compile_run_id") if config.program else None
    params = {
        **asdict(config),
        "program_id": pid,
        "compile_run_id": compile_run_id,
        "generator_lm": lm.model,
        "seeds_loaded": len(seed_set.seeds),
        "seeds_skipped": len(seed_set.skipped),
    }
    counter = _call_counter()
    token_totals: Counter = Counter()
    totals_lock = threading.Lock()
    started = time.perf_counter()
    link = {"agentinstruct.compile_run_id": compile_run_id} if compile_run_id else None
    with tracked_run("generate", params, run_name=f"generate-{skill.name}", tags=link) as run:
        run_id = run.info.run_id
        lineage = {"program_id": pid, "generator_lm": lm.model, "run_id": run_id}
        log_table_dataset(
            [{"seed_id": s.seed_id, "source": s.source, "text": s.text} for s in seed_set.seeds],
            name="seeds",
            source=str(config.seeds),
            context="seeds",
        )

        def run_unit(unit: Unit) -> tuple[UnitResult, list]:
            """Generate and assess one unit (on a worker thread); admission happens on the main thread, in order."""
            draw, index = unit
            seed = seed_set.seeds[index]
            with dspy.context(lm=lm, callbacks=[*dspy.settings.callbacks, counter]), dspy.track_usage() as usage:
                prediction = pipeline(
                    seed=seed.text,
                    seed_id=seed.seed_id,
                    draw=draw,
                    random_seed=config.seed,
                    refine_rounds=config.refine_rounds,
                )
            with totals_lock:
                for entry in usage.get_total_tokens().values():
                    token_totals["in"] += int(entry.get("prompt_tokens") or 0)
                    token_totals["out"] += int(entry.get("completion_tokens") or 0)
            records = [make_record(pair, seed, skill, **lineage) for pair in prediction.pairs]
            scores = [scorer.assess(view_of(record["messages"])) for record in records]
            failures = [make_failure(f, seed, skill, draw, **lineage) for f in prediction.failures]
            return UnitResult(unit, records, failures), scores

        def admit(result: UnitResult, scores: list) -> UnitResult:
            keys = [f"{r['seed_id']}-{result.unit[0]}-{i}" for i, r in enumerate(result.records)]
            scorer.admit([view_of(r["messages"]) for r in result.records], scores, keys)
            kept, rejects = [], []
            for record, score, key in zip(result.records, scores, keys, strict=True):
                record.update(scores=score.as_columns(), novelty=round(score.novelty, 4), record_id=key)
                rejection = score.rejection(config.min_quality)
                (rejects.append({**record, "rejection": rejection}) if rejection else kept.append(record))
            return UnitResult(result.unit, kept, result.failures, rejects)

        max_units = MAX_UNITS_PER_RECORD * config.n + len(seed_set.seeds)
        pending = (u for u in _unit_order(len(seed_set.seeds), max_units) if u not in store.completed)
        units_run = _run_units(run_unit, admit, pending, store, config, show_progress)

        records = store.records(config.n)
        failures, rejects = store.failures(), store.rejects()
        wall = time.perf_counter() - started
        reasons = Counter(f["reason"] for f in failures)
        scored = len(rejects) + store.record_count()
        passed = scored - sum(bool(r["scores"]["validator_failures"]) for r in rejects)
        summary = GenerateSummary(
            out=str(config.out),
            run_id=run_id,
            pairs=len(records),
            requested=config.n,
            generated=scored,
            failures=len(failures),
            failures_by_reason=dict(reasons),
            failures_by_stage=dict(Counter(f["stage"] for f in failures)),
            rejected=len(rejects),
            rejected_by_reason=dict(Counter(r["rejection"].split(":")[0] for r in rejects)),
            pass_rate=round(passed / scored, 4) if scored else 0.0,
            seeds=len(seed_set.seeds),
            seeds_skipped=len(seed_set.skipped),
            skipped_seeds=[{"source": s.source, "reason": s.reason} for s in seed_set.skipped],
            units_resumed=resumed,
            units_run=units_run,
            lm_calls=counter.calls,
            tokens_in=token_totals["in"],
            tokens_out=token_totals["out"],
            parse_failure_rate=reasons["parse_failure"] / counter.calls if counter.calls else 0.0,
            wall_seconds=round(wall, 2),
            pairs_per_second=round(len(records) / wall, 4) if wall else 0.0,
            program_id=pid,
            diversity=_diversity(records, embedder),
            judge=_judge_figures(records, scorer),
        )
        store.write_dataset(records, failures, rejects, asdict(summary))
        _log_run_outputs(summary, records, store, pipeline)
    return summary


def _unit_order(n_seeds: int, max_units: int) -> Iterator[Unit]:
    """Every seed once per draw, draw after draw: coverage of the seeds before repetition."""
    for number in range(max_units):
        yield divmod(number, n_seeds)


def _run_units(
    run_unit: Callable[[Unit], tuple[UnitResult, list]],
    admit: Callable[[UnitResult, list], UnitResult],
    units: Iterator[Unit],
    store: RunStore,
    config: GenerateConfig,
    show_progress: bool,
) -> int:
    """Run units on `config.concurrency` threads until `config.n` records are kept; each is stored on arrival."""
    from tqdm import tqdm

    have = store.record_count()
    bar = tqdm(total=config.n, initial=min(have, config.n), unit="pair", disable=not show_progress, desc="generating")
    finished = 0
    failed = sum(len(r.failures) for r in store.completed.values())
    rejected = sum(len(r.rejects) for r in store.completed.values())
    in_flight: set[Future] = set()
    try:
        with ThreadPoolExecutor(max_workers=config.concurrency) as pool:
            exhausted = False
            while True:
                while not exhausted and have < config.n and len(in_flight) < config.concurrency:
                    unit = next(units, None)
                    if unit is None:
                        exhausted = True
                        break
                    in_flight.add(pool.submit(run_unit, unit))
                if not in_flight:
                    break
                done, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    result = admit(*future.result())
                    store.append(result)
                    finished += 1
                    before, have = have, have + len(result.records)
                    bar.update(max(0, min(have, config.n) - min(before, config.n)))
                    failed += len(result.failures)
                    rejected += len(result.rejects)
                    bar.set_postfix(failed=failed, rejected=rejected)
    except KeyboardInterrupt:
        for future in in_flight:
            future.cancel()
        raise
    finally:
        bar.close()
    return finished


def _diversity(records: list[dict], embedder) -> dict[str, float]:
    from agentinstruct.metrics import dataset_diversity, view_of

    if not records:
        return {}
    views = [view_of(r["messages"]) for r in records]
    vectors = embedder.embed([v.embedding_text for v in views])
    figures = dataset_diversity(
        vectors,
        [v.embedding_text for v in views],
        instruction_type=[r["instruction_type"] for r in records],
        transformation=[r["transformation"] for r in records],
    )
    figures["mean_novelty"] = sum(r["novelty"] for r in records) / len(records)
    return {k: round(v, 4) for k, v in figures.items()}


def _judge_figures(records: list[dict], scorer) -> dict[str, Any]:
    from agentinstruct.metrics import CRITERIA

    if scorer.judge is None:
        return {}
    judged = [r["scores"] for r in records if r["scores"]["judge_overall"] is not None]
    figures: dict[str, Any] = {"calls": scorer.judge_calls, "parse_failures": scorer.judge_parse_failures}
    for name in (*CRITERIA, "overall"):
        values = [s[f"judge_{name}"] for s in judged]
        figures[name] = round(sum(values) / len(values), 3) if values else None
    return figures


def _log_run_outputs(summary: GenerateSummary, records: list[dict], store: RunStore, pipeline) -> None:
    import mlflow
    import pandas as pd

    from agentinstruct.optimizers import save_program
    from agentinstruct.tracking import log_table_dataset

    metrics = {
        "pairs": summary.pairs,
        "generated": summary.generated,
        "failures": summary.failures,
        "rejected": summary.rejected,
        "pass_rate": summary.pass_rate,
        "lm_calls": summary.lm_calls,
        "tokens_in": summary.tokens_in,
        "tokens_out": summary.tokens_out,
        "parse_failure_rate": summary.parse_failure_rate,
        "wall_seconds": summary.wall_seconds,
        "pairs_per_second": summary.pairs_per_second,
        "seeds": summary.seeds,
        "seeds_skipped": summary.seeds_skipped,
        "yield": summary.pairs / summary.units_run if summary.units_run else 0.0,
        **{f"failures_{reason}": count for reason, count in summary.failures_by_reason.items()},
        **{f"rejected_{reason}": count for reason, count in summary.rejected_by_reason.items()},
        **summary.diversity,
        **{f"judge_{k}": v for k, v in summary.judge.items() if isinstance(v, int | float)},
    }
    mlflow.log_metrics(metrics)
    if records:
        log_table_dataset(records, name="generated", source=str(store.out), context="generated")
        sample = records[:50]
        mlflow.log_table(
            pd.DataFrame(
                {
                    "instruction_type": [r["instruction_type"] for r in sample],
                    "transformation": [r["transformation"] for r in sample],
                    "user": [r["messages"][0]["content"] for r in sample],
                    "assistant": [r["messages"][-1]["content"] for r in sample],
                    "quality": [r["scores"]["quality"] for r in sample],
                    "novelty": [r["novelty"] for r in sample],
                }
            ),
            artifact_file="samples.json",
        )
    mlflow.log_artifact(str(store.out / "summary.json"))
    mlflow.log_artifact(str(store.out / "failures" / "failures.parquet"), artifact_path="failures")
    mlflow.log_artifact(str(store.out / "rejects" / "rejects.parquet"), artifact_path="rejects")
    program_file = store.progress / "program.json"
    save_program(pipeline, program_file)
    mlflow.log_artifact(str(program_file))
