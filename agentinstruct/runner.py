"""`generate`: plan -> run units -> admit -> write, until N accepted records exist, durably, resumably, in MLflow.

- **Plan**: units are (draw, seed id) pairs in a fixed order (every seed once per draw, draw after draw), so the
  same command plans the same work, and a seed folder that gained files does not shift what was done.
- **Run**: a backend (`agentinstruct.backends`: threads, or a Ray Data actor pool) runs each unit through a worker
  built from a serialisable `UnitSpec` (`agentinstruct.units`) and yields outcomes as units finish; each is written
  to the progress log at once.
- **Admit**: here on the driver, in plan order whatever order units finished in: novelty and near-duplicates
  against the kept set (embeddings come with the outcome), the quality threshold; rejects keep their reason.
- **Write**: admitted units are appended to Parquet shards as they are admitted; the dataset, the failures, rejects
  and surplus tables and the summary are assembled from the shards at the end (`agentinstruct.store`).
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agentinstruct.card import CARD, log_card, write_card
from agentinstruct.cost import add_tokens
from agentinstruct.endpoint import DEFAULT_MAX_INFLIGHT, DEFAULT_TIMEOUT
from agentinstruct.errors import UserError
from agentinstruct.lm import EMBEDDED, JUDGE_SETTINGS, LMSpec, check_lms, role_api_base
from agentinstruct.metrics.diversity import DEFAULT_DEDUP_THRESHOLD
from agentinstruct.metrics.scoring import DEFAULT_MIN_QUALITY
from agentinstruct.mix import MixSummary, generate_mix, parse_mix, resolve_skills
from agentinstruct.options import option
from agentinstruct.plots import PLOTS_DIR, draw_safely, generate_plots
from agentinstruct.seeds import BUNDLED, DEFAULT_MAX_CHARS, Seed, load_seeds, seeds_path
from agentinstruct.store import AdmittedUnit, RunStore, UnitKey
from agentinstruct.units import UnitSpec, UnitTask, release_freed_memory, score_from_data

if TYPE_CHECKING:
    from agentinstruct.cost import CostEstimate

MAX_UNITS_PER_RECORD = 4
"""Stop after this many (seed, draw) units per requested record if the LM keeps failing, instead of looping."""
DIVERSITY_SAMPLE = 2000
"""Dataset diversity figures (Vendi, clusters, distinct-n) are measured on at most this many evenly spaced records,
so the end of a run costs the same at a million records as at a thousand."""
BATCH_ROWS = 10_000
"""Rows of an output table read at a time where the end of a run counts them (rejects can run to millions)."""


@dataclass
class GenerateConfig:
    """What `agentinstruct generate` is asked to do: each field is a CLI option and a keyword of
    `agentinstruct.generate` (`agentinstruct.options`)."""

    n: int = option(help="number of records to write")
    out: str = option(help="output folder (rerun the same command to resume)")
    skill: str = option("reading_comprehension", help="skill to generate: a name, a comma-separated list, or 'all'")
    mix: str | None = option(
        None,
        help="shares of --n over the skills of a list, as name=weight,... (default: equal; unnamed skills weigh 1)",
    )
    seeds: str = option(
        BUNDLED,
        help="file or folder of .txt/.md/code, .jsonl/.parquet, or a saved HF dataset; 'bundled' for the sample corpus",
    )
    lm: str = option(EMBEDDED, help="generator LM: 'embedded' or a DSPy/LiteLLM model string")
    api_base: str | None = option(None, help="base URL of an OpenAI-compatible server (vLLM, llama.cpp server, ...)")
    judge_lm: str | None = option(None, help="judge LM (used by quality metrics); default: no judge")
    program: str | None = option(None, help="a compiled program (DSPy JSON state) to generate with")
    seed: int = option(0, help="random seed for every draw")
    refine_rounds: int = option(1, help="Suggester/Editor rounds per instruction")
    max_inflight: int | None = option(
        None,
        aliases=("--concurrency",),
        help="LM calls in flight at once, across all units and workers (default: 16 for endpoints, 1 for the embedded "
        "model, which runs one call at a time)",
    )
    timeout: float = option(DEFAULT_TIMEOUT, help="seconds one endpoint call may take before it is retried")
    backend: str = option(
        "threads",
        choices=("threads", "ray"),
        help="where units run: threads of this process, or a Ray Data actor pool",
    )
    ray_address: str | None = option(
        None,
        help="a running Ray cluster (the address 'ray start --head' prints); default: a local instance for the run",
    )
    text_field: str = option("text", help="text column of .jsonl/.parquet/HF seeds")
    max_chars: int = option(DEFAULT_MAX_CHARS, help="maximum characters per seed chunk")
    temperature: float = option(0.7, help="generator sampling temperature, 0 to 2")
    max_tokens: int = option(512, help="maximum tokens per generated field")
    min_quality: float = option(
        DEFAULT_MIN_QUALITY,
        help="reject pairs scoring below this in [0, 1]: 0 when a validator fails, else the judge's rating mapped to "
        "0-1 (1 without a judge)",
    )
    dedup_threshold: float = option(
        DEFAULT_DEDUP_THRESHOLD, help="reject pairs this cosine-similar to a kept one, in (0, 1]"
    )
    embedding_model: str | None = option(None, help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")
    model_checks: bool | None = option(
        None,
        help="check every pair with the embedded model too (about 1 s a pair); default: on when --lm is embedded "
        "(an endpoint run would wait on the local model)",
    )
    license: str | None = option(
        None,
        help="licence of the generated dataset, for its card (an SPDX id such as cc-by-4.0; default: 'other', the "
        "seeds' licences govern)",
    )
    decontaminate: list[str] | None = option(
        None,
        metavar="PATH",
        help="benchmark files or folders (as `decontaminate --against`): a pair sharing a word n-gram with one of "
        "their items is rejected as contaminated:<source>:<n-gram>",
    )
    decontaminate_field: list[str] | None = option(
        None, metavar="NAME", help="benchmark fields to read for --decontaminate (default: every string field of a row)"
    )
    ngram: int = option(
        13, help="words per n-gram for --decontaminate (shorter benchmark texts, from 8 words, match when whole)"
    )

    dry_run: bool = option(
        False,
        help="print the estimated LM calls, tokens and cost per skill instead of running; writes nothing",
    )
    pilot: int | None = option(
        None,
        help="with --dry-run: run the first K planned units for real (nothing written) and extrapolate their calls, "
        "tokens and yield, instead of estimating from the prompts and the --max-tokens caps",
        metavar="K",
    )
    max_cost: float | None = option(
        None,
        help="stop starting units once this run has spent this many USD (priced from LiteLLM's local price map; "
        "refused for an unpriced model; the embedded model costs 0, so it never stops); rerun to continue",
        metavar="USD",
    )

    def __post_init__(self) -> None:
        self.seeds = seeds_path(self.seeds)

    @property
    def uses_model_checks(self) -> bool:
        return self.model_checks if self.model_checks is not None else self.lm == EMBEDDED

    def validate(self) -> None:
        from agentinstruct.backends import BACKENDS, require_ray

        if self.n < 1:
            raise UserError(f"--n must be at least 1, got {self.n}")
        if self.refine_rounds < 0:
            raise UserError(f"--refine-rounds must be 0 or more, got {self.refine_rounds}")
        if self.max_inflight is not None and self.max_inflight < 1:
            raise UserError(f"--max-inflight must be at least 1, got {self.max_inflight}")
        if not self.timeout > 0:
            raise UserError(f"--timeout must be a positive number of seconds, got {self.timeout}")
        if self.backend not in BACKENDS:
            raise UserError(f"unknown --backend '{self.backend}' (available: {', '.join(BACKENDS)})")
        if self.backend == "ray":
            require_ray()
        elif self.ray_address:
            raise UserError("--ray-address applies to --backend ray")
        if not 0 <= self.min_quality <= 1:
            raise UserError(f"--min-quality must be in [0, 1], got {self.min_quality}")
        if not 0 < self.dedup_threshold <= 1:
            raise UserError(f"--dedup-threshold must be in (0, 1], got {self.dedup_threshold}")
        if not 0 <= self.temperature <= 2:
            raise UserError(f"--temperature must be between 0 and 2, got {self.temperature}")
        if self.max_tokens < 1:
            raise UserError(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if self.max_chars < 1:
            raise UserError(f"--max-chars must be at least 1, got {self.max_chars}")
        if self.ngram < 1:
            raise UserError(f"--ngram must be at least 1, got {self.ngram}")
        if self.decontaminate_field and not self.decontaminate:
            raise UserError("--decontaminate-field applies to --decontaminate")
        if self.decontaminate:
            from agentinstruct.decontaminate import benchmark_files

            # A missing path fails before anything runs (before a mix's first skill too).
            benchmark_files(self.decontaminate, "--decontaminate")
        self._validate_cost()

    def _validate_cost(self) -> None:
        from agentinstruct.cost import unpriced_models

        if self.pilot is not None and not self.dry_run:
            raise UserError("--pilot K applies to --dry-run (it runs K units to estimate the run)")
        if self.pilot is not None and self.pilot < 1:
            raise UserError(f"--pilot must be at least 1 unit, got {self.pilot}")
        if self.max_cost is not None:
            if not self.max_cost >= 0:
                raise UserError(f"--max-cost must be 0 or more USD, got {self.max_cost}")
            unpriced = unpriced_models(self)
            if unpriced:
                raise UserError(
                    f"--max-cost needs prices, but {unpriced[0]} is not in LiteLLM's local price map; "
                    "run without --max-cost (--dry-run estimates tokens)"
                )

    @property
    def inflight(self) -> int:
        if self.max_inflight is not None:
            return self.max_inflight
        return 1 if self.lm == EMBEDDED else DEFAULT_MAX_INFLIGHT


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
    backend: str = "threads"
    max_inflight: int = 1
    surplus: int = 0
    """Pairs kept after `--n` was reached (in `surplus/`; a rerun with a larger `--n` uses them first)."""
    retries: dict[str, int] = field(default_factory=dict)
    """Endpoint calls retried, per reason (rate_limited, http_500, timeout, connection, malformed_response, ...)."""
    gave_up: dict[str, int] = field(default_factory=dict)
    """Endpoint calls given up after their last attempt, per reason (each is an lm_error in the failures table)."""
    resampled: dict[str, int] = field(default_factory=dict)
    """Stage outputs of this run that were unusable and sampled again, per reason (not failures: the stage went on;
    a stage whose last sample is unusable too is in `failures`), and `screened_instruction`: instructions a program
    that screens them dropped before refining or answering them."""
    peak_inflight: int = 0
    """Most endpoint calls in flight at once in this process (the threads backend; Ray actors count their own)."""
    traces_logged: int = 0
    """MLflow traces of this run, counted in the store: one per unit run now."""
    trace_failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diversity: dict[str, float] = field(default_factory=dict)
    judge: dict[str, Any] = field(default_factory=dict)
    decontamination: dict[str, Any] = field(default_factory=dict)
    """With `--decontaminate`: `ngram` and `contaminated`, the pairs rejected per benchmark source (every source,
    zeros included); empty without it."""
    cost_usd: float | None = None
    """This run's spend in USD, each model's tokens at its price in LiteLLM's local price map (the embedded model:
    0); None when a model is not in the map."""
    tokens_by_model: dict[str, list[int]] = field(default_factory=dict)
    """This run's [tokens in, tokens out, calls] per model (generator, judge)."""
    models: list[str] = field(default_factory=list)
    """The run's LMs (generator, then the judge if any): what the cost line names when a price is unknown."""
    stopped_at_max_cost: bool = False


@dataclass
class _Totals:
    """What this run did, unit by unit."""

    units_run: int = 0
    lm_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    retries: Counter = field(default_factory=Counter)
    gave_up: Counter = field(default_factory=Counter)
    resampled: Counter = field(default_factory=Counter)
    """Stage outputs that were unusable and sampled again, by reason (the stage's later sample was used or failed),
    and instructions screened out."""
    judge_calls: int = 0
    judge_parse_failures: int = 0
    tokens_by_model: dict[str, list[int]] = field(default_factory=dict)
    stopped_at_max_cost: bool = False

    def add(self, outcome: dict[str, Any]) -> None:
        self.units_run += 1
        self.lm_calls += outcome["calls"]
        self.tokens_in += outcome["tokens_in"]
        self.tokens_out += outcome["tokens_out"]
        add_tokens(self.tokens_by_model, outcome.get("tokens_by_model"))
        self.retries.update(outcome["client"]["retries"])
        self.gave_up.update(outcome["client"]["gave_up"])
        self.resampled.update(outcome.get("resampled") or {})


def generate(
    config: GenerateConfig, *, show_progress: bool = True
) -> GenerateSummary | MixSummary | dict[str, CostEstimate]:
    """Generate `config.n` records into `config.out`, resuming whatever an earlier run of the same job finished;
    several skills make a mix (`agentinstruct.mix.generate_mix`). With `config.dry_run`, nothing runs or is written:
    the estimate of each skill's run is returned (`agentinstruct.cost`).

    Raises:
        UserError: Bad input (paths, skill, program, LM, backend), a folder in use or of another job, or an endpoint
            that stopped answering; reported by the CLI as one line.
    """
    config.validate()
    skills = resolve_skills(config.skill)
    parse_mix(config.mix, skills)
    if config.dry_run:
        return estimate_run(config, skills, show_progress=show_progress)
    if len(skills) > 1:
        return generate_mix(config, skills, show_progress=show_progress)
    return _generate_skill(replace(config, skill=skills[0]), show_progress=show_progress)


def estimate_run(config: GenerateConfig, skills: list[str], *, show_progress: bool = False) -> dict[str, CostEstimate]:
    """Each skill's estimate, at its share of `config.n` (the same split a mix run makes)."""
    from agentinstruct.cost import estimate
    from agentinstruct.mix import quotas

    shares = quotas(config.n, parse_mix(config.mix, skills)) if len(skills) > 1 else {skills[0]: config.n}
    return {
        name: estimate(replace(config, skill=name, n=shares[name], mix=None), name, show_progress=show_progress)
        for name in skills
    }


def load_job(config: GenerateConfig, skill_name: str):
    """What one skill's job runs on: the skill, its seeds, its pipeline with `--program` loaded, and that program's
    state (None for the starter program). Shared by the run and its cost estimate, so both plan the same work.

    Raises:
        UserError: Unusable seeds or program file.
    """
    from agentinstruct.optimizers import load_program_state, read_program_state
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.programs.retrieval import job_corpus

    skill = get_skill(skill_name)
    skill.check_runnable()
    seed_set = load_seeds(
        config.seeds, text_field=config.text_field, max_chars=config.max_chars, kinds=skill.seed_kinds
    )
    job_corpus(skill, seed_set.seeds)  # a skill that retrieves from the other seeds fails here with too few
    pipeline = AgentInstructPipeline(skill)
    program_state = read_program_state(config.program, skill.name) if config.program else None
    if program_state is not None:
        load_program_state(pipeline, program_state, config.program)
    return skill, seed_set, pipeline, program_state


def _generate_skill(config: GenerateConfig, *, show_progress: bool) -> GenerateSummary:
    from agentinstruct.metrics import Embedder
    from agentinstruct.optimizers import program_id
    from agentinstruct.tracking import redact

    skill, seed_set, pipeline, program_state = load_job(config, config.skill)
    pid = program_id(pipeline)
    generator = LMSpec(config.lm, config.api_base, config.temperature, config.max_tokens, config.timeout)
    judge = None
    if config.judge_lm:
        judge = LMSpec(
            config.judge_lm, role_api_base(config.judge_lm, config.api_base), timeout=config.timeout, **JUDGE_SETTINGS
        )
    lm = generator.build()
    embedder = Embedder(config.embedding_model)
    identity = {
        "skill": skill.name,
        "seeds": str(Path(config.seeds).resolve()),
        "text_field": config.text_field,
        "max_chars": config.max_chars,
        "lm": config.lm,
        # Without credentials: a key in the URL never reaches the folder, and a new key resumes the same job.
        "api_base": redact(config.api_base),
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
    benchmarks = None
    if config.decontaminate:
        from agentinstruct.decontaminate import sources_digest

        # Only when asked, so folders written before the option existed still resume.
        identity["decontaminate"] = {
            "sources": sources_digest(config.decontaminate),
            "fields": config.decontaminate_field,
            "ngram": config.ngram,
        }
        benchmarks = _benchmark_index(config, identity["decontaminate"]["sources"])
    store = RunStore(config.out, identity)
    try:
        return _generate(
            config,
            store,
            skill,
            seed_set,
            pipeline,
            program_state,
            pid,
            generator,
            judge,
            lm,
            embedder,
            show_progress,
            benchmarks,
        )
    finally:
        store.close()


_BENCHMARKS: dict[tuple, Any] = {}


def _benchmark_index(config: GenerateConfig, sources: list[dict[str, str]]):
    """The run's benchmark index, built once per process for the same benchmark contents (a mix's skills share it)."""
    from agentinstruct.decontaminate import BenchmarkIndex

    key = (json.dumps(sources), tuple(config.decontaminate_field or ()), config.ngram)
    if key not in _BENCHMARKS:
        _BENCHMARKS.clear()  # one index at a time: they can be large
        _BENCHMARKS[key] = BenchmarkIndex.build(
            config.decontaminate, ngram=config.ngram, fields=config.decontaminate_field
        )
    return _BENCHMARKS[key]


def _generate(
    config,
    store,
    skill,
    seed_set,
    pipeline,
    program_state,
    pid,
    generator,
    judge,
    lm,
    embedder,
    show_progress,
    benchmarks=None,
):
    import mlflow

    from agentinstruct.endpoint import reset_run_stats, run_stats
    from agentinstruct.metrics import Scorer
    from agentinstruct.optimizers import program_metadata
    from agentinstruct.programs.retrieval import job_corpus
    from agentinstruct.tracking import TraceWriter, count_traces, log_table_dataset, mark_killed, tracked_run

    for line in store.repairs:
        print(f"agentinstruct: warning: {line}", file=sys.stderr, flush=True)
    resumed = len(store.finished)
    if store.kept_count() < config.n:
        check_lms(lm, config.api_base, judge)
    reset_run_stats()
    notes: list[str] = []
    last_run = store.progress / "run.json"
    if last_run.exists():
        previous = json.loads(last_run.read_text(encoding="utf-8")).get("run_id")
        if previous and mark_killed(previous):
            notes.append(f"the earlier run {previous} of this folder was killed; marked KILLED in MLflow")

    scorer = Scorer(
        skill=skill.name, embedder=embedder, dedup_threshold=config.dedup_threshold, min_quality=config.min_quality
    )
    for ids, vectors in store.kept_vectors():
        scorer.remember_embedded(vectors, ids)

    compile_run_id = program_metadata(config.program, skill.name).get("compile_run_id") if config.program else None
    params = {
        **asdict(config),
        "max_inflight": config.inflight,
        "program_id": pid,
        "compile_run_id": compile_run_id,
        "generator_lm": lm.model,
        "seeds_loaded": len(seed_set.seeds),
        "seeds_skipped": len(seed_set.skipped),
    }
    started = time.perf_counter()
    link = {"agentinstruct.compile_run_id": compile_run_id} if compile_run_id else None
    with tracked_run(
        "generate", params, run_name=f"generate-{skill.name}", tags=link, autolog={"log_traces": False}
    ) as run:
        run_id = run.info.run_id
        last_run.write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
        log_table_dataset(
            [{"seed_id": s.seed_id, "source": s.source, "text": s.text} for s in seed_set.seeds],
            name="seeds",
            source=str(config.seeds),
            context="seeds",
        )
        spec = UnitSpec(
            skill=skill.name,
            generator=generator,
            judge=judge,
            program_state=program_state,
            random_seed=config.seed,
            refine_rounds=config.refine_rounds,
            lineage={"program_id": pid, "generator_lm": lm.model, "run_id": run_id},
            embedding_model=embedder.model_path,
            max_inflight=config.inflight,
            model_checks=config.uses_model_checks,
            corpus=job_corpus(skill, seed_set.seeds),
        )
        traces = TraceWriter(run_id, run.info.experiment_id)
        totals = _Totals()
        try:
            _run_units(config, store, seed_set.seeds, spec, scorer, embedder, traces, totals, show_progress, benchmarks)
        finally:
            _, trace_failures = traces.close()
        # The kept set's embeddings (1.5 KB a kept record, 150 MB at 100,000) are needed no more: the outputs and their
        # figures are read from the shards. Given back before writing them, the run's peak is not index + outputs.
        del scorer
        release_freed_memory(every=0)
        counts = store.write_outputs(config.n)
        summary = _summary(config, store, seed_set, pid, run_id, counts, totals, resumed, started)
        if benchmarks is not None:
            summary.decontamination = {
                "ngram": benchmarks.ngram,
                "contaminated": _contaminated_counts(store, benchmarks.names),
            }
        summary.peak_inflight = run_stats().peak_inflight
        summary.traces_logged = count_traces(run_id, run.info.experiment_id)
        summary.trace_failures = trace_failures
        if summary.traces_logged != totals.units_run:
            notes.append(
                f"{summary.traces_logged} MLflow traces for {totals.units_run} units run"
                + (f"; failed: {trace_failures[0]}" if trace_failures else "")
            )
        plots = draw_safely(lambda: generate_plots(store.out, {skill.name: store.out}, config.dedup_threshold), notes)
        if summary.stopped_at_max_cost:
            notes.append(
                f"stopped at --max-cost ${config.max_cost:g} after ${summary.cost_usd:.4f}; rerun the same command "
                "(with a higher --max-cost) to continue"
            )
        summary.notes = notes
        store.write_summary(asdict(summary))
        card = write_card(store.out, config, summary)
        _log_run_outputs(summary, store, pipeline, card, plots)
        mlflow.log_metric("traces_logged", summary.traces_logged)
    return summary


class _UnitPlan(Sequence[UnitKey]):
    """Every seed once per draw, draw after draw (coverage of the seeds before repetition), the first `max_units`.

    Computed on access: a run of n records plans 4n units, and a list of them would grow the driver's memory with
    `--n` (about 29 MB of tuples at 100,000 records)."""

    def __init__(self, seeds: list[Seed], max_units: int) -> None:
        self._ids = [seed.seed_id for seed in seeds]
        self._length = max_units

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, number: int) -> UnitKey:  # type: ignore[override]  # positions only, no slices
        if not 0 <= number < self._length:
            raise IndexError(number)
        draw, index = divmod(number, len(self._ids))
        return (draw, self._ids[index])


def _run_units(
    config,
    store: RunStore,
    seeds,
    spec,
    scorer,
    embedder,
    traces,
    totals: _Totals,
    show_progress: bool,
    benchmarks=None,
):
    """Run units until `config.n` records are kept (in plan order), recording each as it arrives."""
    import numpy as np
    from tqdm import tqdm

    from agentinstruct.backends import make_backend
    from agentinstruct.cost import spend
    from agentinstruct.decontaminate import record_texts
    from agentinstruct.metrics import record_view

    seeds_by_id = {s.seed_id: s for s in seeds}
    order = _UnitPlan(seeds, MAX_UNITS_PER_RECORD * config.n + len(seeds))
    position = 0
    kept = store.kept_count()
    arrived: dict[UnitKey, dict] = {}
    admitted_here = kept_here = 0
    failed = sum(f for _, _, f in store.admitted.values())
    rejected = sum(r for _, r, _ in store.admitted.values())
    bar = tqdm(total=config.n, initial=min(kept, config.n), unit="pair", disable=not show_progress, desc=config.skill)

    def admit(outcome: dict[str, Any], traced: bool) -> None:
        nonlocal kept, admitted_here, kept_here, failed, rejected
        draw, seed_id = outcome["unit"]
        records, scores = outcome["records"], [score_from_data(s) for s in outcome["scores"]]
        views = [record_view(r) for r in records]
        if not records:
            vectors = np.zeros((0, 0), dtype=np.float32)
        elif outcome.get("vectors") is not None:
            vectors = np.frombuffer(outcome["vectors"], dtype=np.float32).reshape(len(records), -1)
        else:  # finished by an earlier run and read back from the log, which does not keep embeddings
            vectors = embedder.embed([v.embedding_text for v in views])
        ids = [f"{seed_id}-{draw}-{i}" for i in range(len(records))]
        # Contaminated pairs are rejected before the scorer sees them: they never join the kept set that later
        # pairs are deduplicated against.
        contamination = [None] * len(records)
        if benchmarks is not None and records:
            contamination = benchmarks.check([record_texts(r["messages"], r.get("context")) for r in records])
        clean = [i for i, reason in enumerate(contamination) if reason is None]
        scorer.admit_embedded(vectors[clean], [scores[i] for i in clean], [ids[i] for i in clean])
        unit = AdmittedUnit((draw, seed_id), [], [], [], outcome["failures"])
        for record, score, record_id, vector, contaminated in zip(
            records, scores, ids, vectors, contamination, strict=True
        ):
            record.update(scores=score.as_columns(), novelty=round(score.novelty, 4), record_id=record_id)
            rejection = contaminated or score.rejection(config.min_quality)
            if rejection:
                unit.rejects.append({**record, "rejection": rejection})
            else:
                unit.kept.append(record)
                unit.kept_vectors.append(vector.tolist())
            if spec.judge is not None and score.passed:
                totals.judge_calls += 1
                totals.judge_parse_failures += score.judge_error is not None
        store.add_admitted(unit)
        before, kept = kept, kept + len(unit.kept)
        admitted_here += 1
        kept_here += len(unit.kept)
        failed += len(unit.failures)
        rejected += len(unit.rejects)
        bar.update(max(0, min(kept, config.n) - min(before, config.n)))
        bar.set_postfix(failed=failed, rejected=rejected)
        if traced:
            traces.submit(
                outcome["unit"],
                outcome,
                {
                    "kept": [r["record_id"] for r in unit.kept],
                    "rejected": {r["record_id"]: r["rejection"] for r in unit.rejects},
                    "failures": [f"{f['stage']}: {f['reason']}" for f in unit.failures],
                },
            )

    def admit_in_order() -> None:
        nonlocal position
        while position < len(order):
            key = order[position]
            if key in store.admitted:
                position += 1
            elif key in arrived:
                admit(arrived.pop(key), traced=True)
                position += 1
            elif key in store.finished:
                admit(store.read_finished(key), traced=False)
                position += 1
            else:
                return

    def tasks() -> Iterator[UnitTask]:
        for key in order:
            if key not in store.finished and key not in store.admitted:
                seed = seeds_by_id[key[1]]
                yield UnitTask(key[0], seed.seed_id, seed.text, seed.source)

    def wanted(in_flight: int) -> bool:
        if over_budget():
            return False
        # Enough units in flight to reach n at the yield seen so far (1 pair per unit before any is admitted).
        expected = kept_here / admitted_here if admitted_here else 1.0
        return kept + (in_flight + len(arrived)) * max(expected, 0.25) < config.n

    def over_budget() -> bool:
        # Spend is known as units finish: units in flight when the cap is reached still finish (and cost).
        if config.max_cost is None or totals.stopped_at_max_cost:
            return totals.stopped_at_max_cost
        spent = spend(totals.tokens_by_model)
        totals.stopped_at_max_cost = spent is not None and spent >= config.max_cost and kept < config.n
        return totals.stopped_at_max_cost

    admit_in_order()
    backend = None
    try:
        if kept < config.n:
            backend = make_backend(config.backend, spec, config.ray_address)
            outcomes = backend.run(tasks(), wanted)
            try:
                for outcome in outcomes:
                    if outcome.get("aborted"):
                        raise UserError(
                            f"the LM endpoint stopped answering ({outcome['aborted']}); finished work is kept "
                            f"({len(store.finished)} units): rerun the same command to resume once it is back"
                        )
                    store.append_finished({k: v for k, v in outcome.items() if k not in ("vectors", "trace")})
                    totals.add(outcome)
                    arrived[tuple(outcome["unit"])] = outcome
                    admit_in_order()
                    if (kept >= config.n or over_budget()) and config.backend == "ray":
                        break  # Ray Data would run every planned unit; the threads backend drains what it started
            finally:
                outcomes.close()
            admit_in_order()
    finally:
        bar.close()
        if backend is not None:
            backend.close()
        store.flush()


def _summary(config, store: RunStore, seed_set, pid, run_id, counts, totals: _Totals, resumed, started):
    """The run's figures, read back from the tables just written (column by column, not row objects)."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    failures = pq.read_table(store.out / "failures" / "failures.parquet", columns=["reason", "stage"])
    reasons = _value_counts(failures["reason"])
    rejects, rejection_kinds, failed_validators = 0, Counter(), 0
    # In batches, counted in Arrow: the rejects of a long run outnumber its records, and as Python objects (their
    # scores with the judge's rationale) they were the largest thing the run ever held.
    for batch in _batches(store.out / "rejects" / "rejects.parquet", ["rejection", "scores"]):
        rejects += batch.num_rows
        rejection_kinds += _value_counts(pc.list_element(pc.split_pattern(batch["rejection"], ":", max_splits=1), 0))
        failures_of = pc.list_value_length(pc.struct_field(batch["scores"], "validator_failures"))
        failed_validators += pc.sum(pc.greater(failures_of, 0)).as_py() or 0
    kept_total = store.kept_count()
    scored = kept_total + rejects
    wall = time.perf_counter() - started
    pairs = counts["data"]
    summary = GenerateSummary(
        out=str(config.out),
        run_id=run_id,
        pairs=pairs,
        requested=config.n,
        generated=scored,
        failures=failures.num_rows,
        failures_by_reason=dict(reasons),
        failures_by_stage=dict(_value_counts(failures["stage"])),
        rejected=rejects,
        rejected_by_reason=dict(rejection_kinds),
        pass_rate=round((scored - failed_validators) / scored, 4) if scored else 0.0,
        seeds=len(seed_set.seeds),
        seeds_skipped=len(seed_set.skipped),
        skipped_seeds=[{"source": s.source, "reason": s.reason} for s in seed_set.skipped],
        units_resumed=resumed,
        units_run=totals.units_run,
        lm_calls=totals.lm_calls,
        tokens_in=totals.tokens_in,
        tokens_out=totals.tokens_out,
        # Every unparseable output: those of failed stages and those sampled again.
        parse_failure_rate=(
            (reasons["parse_failure"] + totals.resampled["parse_failure"]) / totals.lm_calls if totals.lm_calls else 0.0
        ),
        resampled=dict(totals.resampled),
        wall_seconds=round(wall, 2),
        pairs_per_second=round(pairs / wall, 4) if wall else 0.0,
        program_id=pid,
        backend=config.backend,
        max_inflight=config.inflight,
        surplus=counts["surplus"],
        retries=dict(totals.retries),
        gave_up=dict(totals.gave_up),
        diversity=_diversity(store, pairs, DIVERSITY_SAMPLE),
        judge=_judge_figures(store, pairs, totals, config.judge_lm is not None),
        cost_usd=_run_cost(config, totals),
        tokens_by_model={model: list(used) for model, used in totals.tokens_by_model.items()},
        models=list(dict.fromkeys([config.lm, *([config.judge_lm] if config.judge_lm else [])])),
        stopped_at_max_cost=totals.stopped_at_max_cost and pairs < config.n,
    )
    return summary


def _contaminated_counts(store: RunStore, names: list[str]) -> dict[str, int]:
    """Rejected pairs per benchmark source, read from the rejects table (resumed work included)."""
    from agentinstruct.decontaminate import reason_source

    counts: Counter = Counter()
    for batch in _batches(store.out / "rejects" / "rejects.parquet", ["rejection"]):
        counts.update(reason_source(r) for r in batch["rejection"].to_pylist())
    return {name: counts.get(name, 0) for name in names}


def _batches(path: Path, columns: list[str]) -> Iterator:
    """The `columns` of a Parquet file, a record batch at a time."""
    import pyarrow.parquet as pq

    with pq.ParquetFile(path) as table:
        yield from table.iter_batches(batch_size=BATCH_ROWS, columns=columns)


def _run_cost(config: GenerateConfig, totals: _Totals) -> float | None:
    """This run's spend: each model's tokens at its own price; a run that made no call (all resumed) cost 0."""
    from agentinstruct.cost import price, spend

    if totals.tokens_by_model:
        return spend(totals.tokens_by_model)
    return price(config.lm, totals.tokens_in, totals.tokens_out, totals.lm_calls)


def _value_counts(column) -> Counter:
    import pyarrow.compute as pc

    return Counter({item["values"]: item["counts"] for item in pc.value_counts(column).to_pylist()})


def _diversity(store: RunStore, pairs: int, sample: int) -> dict[str, float]:
    """Dataset figures on at most `sample` evenly spaced records; mean novelty over every record."""
    import numpy as np

    from agentinstruct.metrics import dataset_diversity, record_view

    if not pairs:
        return {}
    step = max(1, pairs // sample)
    picked, novelty = [], 0.0
    for position, row in enumerate(
        store.dataset_rows(["messages", "context", "instruction_type", "transformation", "novelty"], pairs)
    ):
        novelty += row["novelty"]
        if position % step == 0 and len(picked) < sample:
            picked.append(row)
    vectors = store.dataset_vectors(pairs, step)[: len(picked)]
    texts = [record_view(r).embedding_text for r in picked]
    figures = dataset_diversity(
        np.ascontiguousarray(vectors),
        texts,
        instruction_type=[r["instruction_type"] for r in picked],
        transformation=[r["transformation"] for r in picked],
    )
    figures["mean_novelty"] = novelty / pairs
    return {k: round(v, 4) for k, v in figures.items()}


def _judge_figures(store: RunStore, pairs: int, totals: _Totals, judged: bool) -> dict[str, Any]:
    from agentinstruct.metrics import CRITERIA

    if not judged:
        return {}
    sums: Counter = Counter()
    rated = 0
    for row in store.dataset_rows(["scores"], pairs):
        scores = row["scores"]
        if scores["judge_overall"] is None:
            continue
        rated += 1
        for name in (*CRITERIA, "overall"):
            sums[name] += scores[f"judge_{name}"]
    figures: dict[str, Any] = {"calls": totals.judge_calls, "parse_failures": totals.judge_parse_failures}
    for name in (*CRITERIA, "overall"):
        figures[name] = round(sums[name] / rated, 3) if rated else None
    return figures


def _log_run_outputs(summary: GenerateSummary, store: RunStore, pipeline, card: str, plots: list[Path]) -> None:
    import mlflow
    import pandas as pd
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    from agentinstruct.optimizers import save_program
    from agentinstruct.tracking import redact, store_lock

    metrics = {
        "pairs": summary.pairs,
        "generated": summary.generated,
        "failures": summary.failures,
        "rejected": summary.rejected,
        "surplus": summary.surplus,
        "pass_rate": summary.pass_rate,
        "lm_calls": summary.lm_calls,
        "tokens_in": summary.tokens_in,
        "tokens_out": summary.tokens_out,
        "parse_failure_rate": summary.parse_failure_rate,
        "wall_seconds": summary.wall_seconds,
        "pairs_per_second": summary.pairs_per_second,
        "seeds": summary.seeds,
        "seeds_skipped": summary.seeds_skipped,
        "units_run": summary.units_run,
        "yield": summary.pairs / summary.units_run if summary.units_run else 0.0,
        **{f"failures_{reason}": count for reason, count in summary.failures_by_reason.items()},
        **{f"rejected_{reason}": count for reason, count in summary.rejected_by_reason.items()},
        **{f"retries_{reason}": count for reason, count in summary.retries.items()},
        **{f"gave_up_{reason}": count for reason, count in summary.gave_up.items()},
        **{f"resampled_{reason}": count for reason, count in summary.resampled.items()},
        **summary.diversity,
        **{f"judge_{k}": v for k, v in summary.judge.items() if isinstance(v, int | float)},
        **{
            f"contaminated_{_metric_name(source)}": count
            for source, count in summary.decontamination.get("contaminated", {}).items()
        },
        **({"cost_usd": summary.cost_usd} if summary.cost_usd is not None else {}),
    }
    program_file = store.progress / "program.json"
    save_program(pipeline, program_file)
    sample = list(store.dataset_rows(["instruction_type", "transformation", "messages", "scores", "novelty"], 50))
    with store_lock():
        mlflow.log_metrics(metrics)
        if summary.pairs:
            # By reference (where it is and a digest of its Parquet file), never by loading its rows.
            dataset = MetaDataset(
                resolve_dataset_source(redact(str(store.out.resolve()))),
                name="generated",
                digest=_file_digest(store.out / "data" / "train-00000-of-00001.parquet"),
            )
            mlflow.log_input(dataset, context="generated")
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
        log_card(card, store.out / CARD)
        for plot in plots:
            mlflow.log_artifact(str(plot), artifact_path=PLOTS_DIR)
        for table in ("failures", "rejects", "surplus"):
            mlflow.log_artifact(str(store.out / table / f"{table}.parquet"), artifact_path=table)
        mlflow.log_artifact(str(program_file))


def _metric_name(text: str) -> str:
    """MLflow metric names take letters, digits, `_-. /` only."""
    import re

    return re.sub(r"[^\w\-. /]", "_", text)


def _file_digest(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()[:16]
