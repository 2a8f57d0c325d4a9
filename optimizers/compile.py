"""`compile`: tune a skill's pipeline with a DSPy optimizer against the composite metric, and prove it on held-out
seeds the optimizer never saw."""

from __future__ import annotations

import contextlib
import math
import os
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import dspy

from agentinstruct.errors import UserError
from agentinstruct.lm import EMBEDDED
from agentinstruct.optimizers.gate import Comparison, compare, decide
from agentinstruct.options import option
from agentinstruct.seeds import BUNDLED, DEFAULT_MAX_CHARS, Seed, seeds_path

OPTIMIZERS = ("bootstrap", "random-search", "mipro", "gepa", "simba", "plan", "decoding")


@dataclass
class CompileConfig:
    """What `agentinstruct compile` is asked to do: each field is a CLI option and a keyword of
    `agentinstruct.compile`."""

    optimizer: str = option(help="bootstrap, random-search, mipro, gepa, simba, plan or decoding")
    out: str = option(help="file to save the compiled program to (DSPy JSON state)")
    skill: str = option(
        "reading_comprehension",
        help="skill to compile: a name, a comma-separated list or 'all' (several skills: one program file holding "
        "each skill's program, for a mixed generate --program)",
    )
    seeds: str = option(BUNDLED, help="seeds to train and validate on ('bundled': the sample corpus)")
    lm: str = option(EMBEDDED, help="generator LM")
    api_base: str | None = option(None, help="base URL of an OpenAI-compatible server")
    teacher_lm: str | None = option(
        None,
        help="LM whose traces become the demos (a strong endpoint teaches; --lm generates with the compiled "
        "program); default: --lm teaches itself",
    )
    prompt_lm: str | None = option(
        None, help="LM for MIPROv2 proposals / GEPA reflection / SIMBA advice (default: --teacher-lm, else --lm)"
    )
    judge_lm: str | None = option(None, help="judge LM; without it the metric uses validators and novelty only")
    model_checks: bool | None = option(
        None, help="the embedded model's checks in the metric; default: on when --lm is embedded, as in generate"
    )
    val_fraction: float = option(0.3, help="held-out share of the seeds")
    val_draws: int = option(3, help="draws (plans) per held-out seed when scoring")
    budget: int | None = option(None, help="most generator LM calls the optimizer may spend")
    seed: int = option(0, help="random seed (split, plans, optimizer)")
    refine_rounds: int = option(1, help="Suggester/Editor rounds per instruction")
    max_demos: int = option(2, help="most bootstrapped demos per predictor")
    plan_draws: int = option(3, help="plans per train seed the plan and decoding optimizers measure pass rates on")
    max_seeds: int | None = option(None, help="use only this many seeds (by seed id)")
    text_field: str = option("text", help="text column of .jsonl/.parquet/HF seeds")
    max_chars: int = option(DEFAULT_MAX_CHARS, help="maximum characters per seed chunk")
    embedding_model: str | None = option(None, help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")

    def __post_init__(self) -> None:
        self.seeds = seeds_path(self.seeds)

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"unknown optimizer '{self.optimizer}' (available: {', '.join(OPTIMIZERS)})")
        if not 0 < self.val_fraction < 1:
            raise UserError(f"--val-fraction must be between 0 and 1, got {self.val_fraction}")
        if self.val_draws < 1:
            raise UserError(f"--val-draws must be at least 1, got {self.val_draws}")
        if self.budget is not None and self.budget < 1:
            raise UserError(f"--budget must be at least 1 LM call, got {self.budget}")
        if self.refine_rounds < 0:
            raise UserError(f"--refine-rounds must be 0 or more, got {self.refine_rounds}")
        if self.max_chars < 1:
            raise UserError(f"--max-chars must be at least 1, got {self.max_chars}")
        if self.max_demos < 1:
            raise UserError(f"--max-demos must be at least 1, got {self.max_demos}")
        if self.plan_draws < 1:
            raise UserError(f"--plan-draws must be at least 1, got {self.plan_draws}")
        # Checked before any LM call: finding out at the end that the program cannot be saved loses the whole run.
        out = Path(self.out)
        if out.is_dir():
            raise UserError(f"--out {out} is a directory; name the program file to write, e.g. {out / 'program.json'}")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder of --out {out}: {exc.strerror}") from exc
        if not os.access(out.parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
            raise UserError(f"--out {out} is not writable")


@dataclass
class Evaluation:
    """A program's figures on a set of seeds (every metric the compile run reports, baseline and compiled)."""

    seeds: int
    pairs: int
    failures: int
    pass_rate: float
    mean_novelty: float
    composite: float
    judge_overall: float | None = None
    vendi_score: float = 0.0
    instruction_type_entropy: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """One row per held-out pair or failed stage (logged as an artifact, so a run shows *why* a figure moved)."""

    def as_metrics(self, prefix: str) -> dict[str, float]:
        return {f"{prefix}_{k}": float(v) for k, v in asdict(self).items() if k != "rows" and v is not None}


@dataclass
class CompileResult:
    run_id: str
    optimizer: str
    train_size: int
    val_size: int
    baseline: Evaluation
    compiled: Evaluation
    lm_calls: int
    budget: int | None
    budget_exhausted: bool
    optimizer_finished: bool
    wall_seconds: float
    program_path: str
    program_id: str
    demos: dict[str, int] = field(default_factory=dict)
    kept: bool = True
    """Whether the saved program is the compiled one; otherwise it is the uncompiled program (never worse)."""
    reason: str = ""
    dev: Comparison | None = None
    """Compiled vs uncompiled validator pass rate on the dev seeds (carved from the train seeds): the keep decision."""
    heldout: Comparison | None = None
    """The same on the held-out seeds, always reported, whichever program was kept."""
    candidate_path: str | None = None
    """Where the compiled candidate was saved when it was not kept (to inspect, or to use with --program anyway)."""
    teacher_lm: str | None = None
    notes: list[str] = field(default_factory=list)


def split_seeds(seeds: Sequence[Seed], val_fraction: float, seed: int) -> tuple[list[Seed], list[Seed]]:
    """A reproducible train/validation split (by seed id, so file order does not matter).

    Raises:
        UserError: Either side would be empty.
    """
    ordered = sorted(seeds, key=lambda s: s.seed_id)
    random.Random(seed).shuffle(ordered)
    val_size = max(1, math.ceil(len(ordered) * val_fraction))
    train, val = ordered[val_size:], ordered[:val_size]
    if not train:
        raise UserError(f"the train split is empty: {len(seeds)} seeds with --val-fraction {val_fraction}")
    return train, val


def as_examples(seeds: Sequence[Seed], random_seed: int, refine_rounds: int, draws: int = 1) -> list[dspy.Example]:
    """One example per (seed, draw): each draw plans its own transformation, instruction types and goals."""
    return [
        dspy.Example(
            seed=s.text, seed_id=s.seed_id, draw=draw, random_seed=random_seed, refine_rounds=refine_rounds
        ).with_inputs("seed", "seed_id", "draw", "random_seed", "refine_rounds")
        for draw in range(draws)
        for s in seeds
    ]


def every_draw(examples: Sequence[dspy.Example], draws: int) -> list[dspy.Example]:
    """Each example's first `draws` plans (examples of draw 0 in, `draws` times as many out): what the plan and
    decoding optimizers measure a program on."""
    return [
        example.copy(draw=draw).with_inputs(*example.inputs().keys()) for draw in range(draws) for example in examples
    ]


class EverySeedBootstrap(dspy.BootstrapFewShot):
    """BootstrapFewShot that traces every train seed instead of stopping after `max_bootstrapped_demos` successes.

    DSPy stops once it has as many successful traces as demos per predictor, which suits one-predictor programs. A
    skill's pipeline has dozens of predictors (one per transformation, instruction type and goal) and one seed
    exercises only a few, so stopping early leaves most predictors without a demo. Each predictor still keeps at most
    `max_bootstrapped_demos`.
    """

    def _bootstrap(self, *, max_bootstraps: int | None = None) -> None:
        super()._bootstrap(max_bootstraps=max_bootstraps or len(self.trainset))


def evaluate(
    program: Any,
    examples: Sequence[dspy.Example],
    metric_factory,
    *,
    label: str = "evaluating",
    show_progress: bool = False,
    embedder: Any = None,
) -> Evaluation:
    """Run `program` on every example and measure its pairs with a fresh metric (a fresh novelty pool)."""
    from tqdm import tqdm

    metric = metric_factory()
    composites, pairs, failures, passed, novelties, judged, rows = [], 0, 0, 0, [], [], []
    for example in tqdm(examples, desc=label, unit="seed-draw", disable=not show_progress):
        prediction = program(**example.inputs())
        composites.append(metric(example, prediction))
        pairs += len(prediction.samples)
        failures += len(prediction.failures)
        scores, pair_novelties = metric.last_details
        rows += _rows(example, prediction, scores)
        passed += sum(score.passed for score in scores)
        judged += [score.judgement.overall for score in scores if score.judgement is not None]
        novelties += [n for n in pair_novelties if n is not None]
    diversity = _diversity(rows, embedder)
    return Evaluation(
        seeds=len({example.seed_id for example in examples}),
        pairs=pairs,
        failures=failures,
        pass_rate=passed / pairs if pairs else 0.0,
        mean_novelty=sum(novelties) / len(novelties) if novelties else 0.0,
        composite=sum(composites) / len(composites) if composites else 0.0,
        judge_overall=sum(judged) / len(judged) if judged else None,
        vendi_score=diversity.get("vendi_score", 0.0),
        instruction_type_entropy=diversity.get("instruction_type_entropy", 0.0),
        rows=rows,
    )


DIVERSITY = ("vendi_score", "instruction_type_entropy")
"""The diversity figures of an `Evaluation`: compared between two programs at the same number of pairs."""

DIVERSITY_SUBSETS = 20
"""Random subsets a larger evaluation's diversity is averaged over when it is measured at a smaller one's size."""


def _diversity(rows: list[dict[str, Any]], embedder: Any, size: int | None = None, seed: int = 0) -> dict[str, float]:
    """Vendi score and instruction-type entropy of an evaluation's pairs (what `generate` reports for a dataset); with
    `size` below the pair count, their means over `DIVERSITY_SUBSETS` random subsets of `size` pairs."""
    import numpy as np

    from agentinstruct.metrics import dataset_diversity

    pairs = [row for row in rows if "failed_stage" not in row]
    if embedder is None or not pairs:
        return {}
    texts = [f"{row['instruction']}\n{row['response']}" for row in pairs]
    types = [row["instruction_type"] for row in pairs]
    vectors = embedder.embed(texts)
    if size is None or size >= len(pairs):
        return dataset_diversity(vectors, texts, instruction_type=types)
    rng = np.random.default_rng(seed)
    subsets = [rng.choice(len(pairs), size, replace=False) for _ in range(DIVERSITY_SUBSETS)]
    figures = [
        dataset_diversity(vectors[i], [texts[j] for j in i], instruction_type=[types[j] for j in i]) for i in subsets
    ]
    return {name: float(np.mean([f[name] for f in figures])) for name in figures[0]}


def at_equal_size(a: Evaluation, b: Evaluation, embedder: Any, seed: int = 0) -> tuple[Evaluation, Evaluation]:
    """`a` and `b` with their Vendi score and instruction-type entropy measured on as many pairs each: the smaller
    one's count (the larger's figures are means over random subsets of that size).

    Both figures grow with the number of pairs (a Vendi score is at most the pair count, an entropy at most its
    logarithm), so measured as they stand, a program that makes fewer pairs, say by dropping the ones it would get
    wrong, looks less diverse for that alone."""
    size = min(a.pairs, b.pairs)
    measured = []
    for evaluation in (a, b):
        figures = _diversity(evaluation.rows, embedder, size, seed)
        measured.append(
            replace(
                evaluation,
                vendi_score=figures.get("vendi_score", evaluation.vendi_score),
                instruction_type_entropy=figures.get("instruction_type_entropy", evaluation.instruction_type_entropy),
            )
        )
    return measured[0], measured[1]


def _rows(example: dspy.Example, prediction: Any, scores: Sequence[Any]) -> list[dict[str, Any]]:
    from agentinstruct.metrics import view_of

    unit = {"seed_id": example.seed_id, "draw": example.draw}
    views = [view_of(sample.messages, sample.context, sample.tools, sample.execution) for sample in prediction.samples]
    rows = [
        {
            **unit,
            "transformation": sample.transformation,
            "instruction_type": sample.instruction_type,
            "instruction": view.instruction,
            "response": view.response,
            "passed": score.passed,
            **score.as_columns(),
        }
        for sample, view, score in zip(prediction.samples, views, scores, strict=True)
    ]
    rows += [{**unit, "failed_stage": f.stage, "reason": f.reason, "detail": f.detail} for f in prediction.failures]
    return rows


def build_optimizer(
    name: str,
    metric,
    *,
    max_demos: int,
    prompt_lm,
    task_lm,
    budget: int | None,
    train_size: int,
    seed: int,
    teacher_lm=None,
    plan_draws: int = 3,
):
    """The DSPy optimizer called `name`, configured small enough for a CPU model and within `budget` where it has
    its own knob. With `teacher_lm`, the optimizers that bootstrap demos run their teacher program on it (DSPy's
    `teacher_settings`): the demos are the teacher's traces, the student keeps its own LM."""
    teacher = {"lm": teacher_lm} if teacher_lm is not None else None
    if name == "bootstrap":
        return EverySeedBootstrap(
            metric=metric, max_bootstrapped_demos=max_demos, max_labeled_demos=0, max_rounds=1, teacher_settings=teacher
        )
    if name == "random-search":
        return dspy.BootstrapFewShotWithRandomSearch(
            teacher_settings=teacher,
            metric=metric,
            max_bootstrapped_demos=max_demos,
            max_labeled_demos=0,
            num_candidate_programs=2,
            num_threads=1,
        )
    if name == "mipro":
        return dspy.MIPROv2(
            teacher_settings=teacher,
            metric=metric,
            prompt_model=prompt_lm,
            task_model=task_lm,
            auto=None,
            num_candidates=2,
            max_bootstrapped_demos=max_demos,
            max_labeled_demos=0,
            num_threads=1,
            seed=seed,
            verbose=False,
        )
    if name == "gepa":
        calls = max(budget // 10, train_size + 1) if budget else 4 * train_size
        return dspy.GEPA(
            metric=metric.feedback,
            max_metric_calls=calls,
            reflection_lm=prompt_lm,
            num_threads=1,
            seed=seed,
            track_stats=False,
        )
    if name == "simba":
        return dspy.SIMBA(
            teacher_settings=teacher,
            metric=metric,
            bsize=min(4, train_size),
            num_candidates=2,
            max_steps=1,
            max_demos=max_demos,
            prompt_model=prompt_lm,
            num_threads=1,
        )
    if name == "plan":
        from agentinstruct.optimizers.plan import PlanOptimizer

        return PlanOptimizer(metric, draws=plan_draws)
    if name == "decoding":
        from agentinstruct.optimizers.decoding import DecodingOptimizer

        return DecodingOptimizer(metric, draws=plan_draws)
    raise UserError(f"unknown optimizer '{name}' (available: {', '.join(OPTIMIZERS)})")


def run_optimizer(optimizer, name: str, student, trainset: list[dspy.Example]):
    """Call the optimizer's `compile` with the arguments its signature wants, on the train seeds less the dev ones.

    The dev seeds decide whether the compiled program is kept (`gate.py`), so demos never come from them; optimizers
    that select among candidates select on them too. The held-out seeds stay unseen, or the held-out comparison
    would measure the selection itself.
    """
    fit, dev = dev_split(trainset)
    if name == "bootstrap":
        return optimizer.compile(student, teacher=student.deepcopy(), trainset=fit)
    if name == "random-search":
        return optimizer.compile(student, teacher=student.deepcopy(), trainset=fit, valset=dev)
    if name == "mipro":
        # Not program-aware: that proposer puts the pipeline's whole source into one extra prompt per predictor,
        # dozens of long calls that a small model cannot use.
        return optimizer.compile(
            student,
            trainset=fit,
            valset=dev,
            num_trials=2,
            minibatch=False,
            program_aware_proposer=False,
            requires_permission_to_run=False,
        )
    if name == "gepa":
        return optimizer.compile(student, trainset=fit, valset=dev)
    return optimizer.compile(student, trainset=fit)  # simba, plan, decoding


def dev_split(trainset: list[dspy.Example]) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """The last third of the train examples as a dev set for candidate selection (all of them when under 3)."""
    if len(trainset) < 3:
        return trainset, trainset
    cut = len(trainset) - max(1, len(trainset) // 3)
    return trainset[:cut], trainset[cut:]


def compile_skills(config: CompileConfig, *, show_progress: bool = True) -> dict[str, CompileResult]:
    """Compile each skill of `config.skill` (one, a list, or `all`) in turn, each with its own MLflow run.

    For several skills, each skill's program is saved beside `--out` as `<stem>.<skill>.json`, and `--out` holds all
    of them in one file, which `generate --skill a,b --program FILE` uses (each skill's job loads its own).
    """
    from agentinstruct.mix import resolve_skills
    from agentinstruct.optimizers.programs import read_program_state, save_programs

    skills = resolve_skills(config.skill)
    if len(skills) == 1:
        return {skills[0]: compile_program(replace(config, skill=skills[0]), show_progress=show_progress)}
    config.validate()
    out = Path(config.out)
    results = {}
    for name in skills:
        _say(show_progress, f"skill {name}")
        job = replace(config, skill=name, out=str(out.with_name(f"{out.stem}.{name}{out.suffix or '.json'}")))
        results[name] = compile_program(job, show_progress=show_progress)
    save_programs({name: read_program_state(result.program_path) for name, result in results.items()}, out)
    return results


def compile_program(config: CompileConfig, *, show_progress: bool = True) -> CompileResult:
    """Split the seeds, score the uncompiled pipeline on the held-out part, optimize on the rest, score the compiled
    pipeline on the same held-out part, save it, and record everything in an MLflow run tagged `compile`."""
    with contextlib.nullcontext() if show_progress else progress_bars_off():
        return _compile_program(config, show_progress)


@contextlib.contextmanager
def progress_bars_off() -> Iterator[None]:
    """Every tqdm bar off for the duration: DSPy's optimizers draw their own (BootstrapFewShot's over the trainset
    has no option to turn it off), and `--quiet` means none."""
    import tqdm.std

    original = tqdm.std.tqdm.__init__

    def silent_init(self, *args: Any, **kwargs: Any) -> None:
        kwargs["disable"] = True
        original(self, *args, **kwargs)

    tqdm.std.tqdm.__init__ = silent_init
    try:
        yield
    finally:
        tqdm.std.tqdm.__init__ = original


def _compile_program(config: CompileConfig, show_progress: bool) -> CompileResult:
    import mlflow

    from agentinstruct.lm import JUDGE_SETTINGS, build_lm, check_lm, role_api_base
    from agentinstruct.metrics import CompositeMetric, Embedder
    from agentinstruct.metrics.lm_checks import embedded_lm_checks
    from agentinstruct.optimizers.budget import BudgetedLM, BudgetExhausted, CallBudget
    from agentinstruct.optimizers.programs import program_id, save_program
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.programs.retrieval import corpus_retriever
    from agentinstruct.seeds import load_seeds
    from agentinstruct.tracking import tracked_run

    config.validate()
    skill = get_skill(config.skill)
    skill.check_runnable()
    seeds = load_seeds(
        config.seeds, text_field=config.text_field, max_chars=config.max_chars, kinds=skill.seed_kinds
    ).seeds
    if config.max_seeds:
        seeds = sorted(seeds, key=lambda s: s.seed_id)[: config.max_seeds]
    train, val = split_seeds(seeds, config.val_fraction, config.seed)
    lm = build_lm(config.lm, config.api_base)
    teacher_lm = None
    if config.teacher_lm:
        teacher_lm = build_lm(config.teacher_lm, role_api_base(config.teacher_lm, config.api_base))
        check_lm(teacher_lm, role_api_base(config.teacher_lm, config.api_base))
    prompt_lm = teacher_lm or lm
    if config.prompt_lm:
        prompt_lm = build_lm(config.prompt_lm, role_api_base(config.prompt_lm, config.api_base))
    judge_lm = None
    if config.judge_lm:
        judge_lm = build_lm(config.judge_lm, role_api_base(config.judge_lm, config.api_base), **JUDGE_SETTINGS)
    check_lm(lm, config.api_base)
    embedder = Embedder(config.embedding_model)
    budget = CallBudget(config.budget)
    task_lm = BudgetedLM.wrap(lm, budget)
    trainset = as_examples(train, config.seed, config.refine_rounds)
    valset = as_examples(val, config.seed, config.refine_rounds, config.val_draws)

    lm_checks = embedded_lm_checks(config.model_checks if config.model_checks is not None else config.lm == EMBEDDED)

    def metric_factory() -> CompositeMetric:
        return CompositeMetric(skill=skill.name, judge_lm=judge_lm, embedder=embedder, lm_checks=lm_checks)

    pipeline = AgentInstructPipeline(skill)
    # A skill that retrieves draws its distractors from the train seeds only: held-out text never reaches a demo.
    pipeline.corpus = corpus_retriever(skill, train, embedder.embed)
    params = {
        **asdict(config),
        "train_size": len(train),
        "val_size": len(val),
        "generator_lm": lm.model,
        "prompt_lm": prompt_lm.model,
        "teacher": teacher_lm.model if teacher_lm is not None else lm.model,
        "uncompiled_program_id": program_id(pipeline),
    }
    started = time.perf_counter()
    with tracked_run(
        "compile",
        params,
        run_name=f"compile-{config.optimizer}-{skill.name}",
        autolog={"log_compiles": True, "log_evals": True},
    ) as run:
        _say(
            show_progress,
            f"baseline: scoring the uncompiled pipeline on {len(val)} held-out seeds x {config.val_draws} draws",
        )
        with dspy.context(lm=lm):
            baseline = evaluate(
                pipeline, valset, metric_factory, label="baseline", show_progress=show_progress, embedder=embedder
            )
        mlflow.log_dict({"train": [s.seed_id for s in train], "heldout": [s.seed_id for s in val]}, "split.json")
        # Its diversity is logged beside the compiled program's, once both are measured at the same number of pairs.
        mlflow.log_metrics({k: v for k, v in baseline.as_metrics("baseline").items() if not k.endswith(DIVERSITY)})
        mlflow.log_dict(baseline.rows, "heldout/baseline.json")
        _say(
            show_progress,
            f"optimizing with {config.optimizer} on {len(train)} train seeds"
            + (f" (budget {config.budget} LM calls)" if config.budget else ""),
        )
        optimizer = build_optimizer(
            config.optimizer,
            metric_factory(),
            max_demos=config.max_demos,
            prompt_lm=BudgetedLM.wrap(prompt_lm, budget),
            task_lm=task_lm,
            budget=config.budget,
            train_size=len(train),
            seed=config.seed,
            teacher_lm=BudgetedLM.wrap(teacher_lm, budget) if teacher_lm is not None else None,
            plan_draws=config.plan_draws,
        )
        finished = True
        try:
            with dspy.context(lm=task_lm):
                compiled = run_optimizer(optimizer, config.optimizer, pipeline.deepcopy(), trainset)
        except BudgetExhausted:
            # Some optimizers (MIPROv2's proposer, GEPA's reflection) stop on a failed prompt-model call instead of
            # scoring it 0: they found nothing usable within the budget, so the program stays uncompiled.
            finished, compiled = False, pipeline.deepcopy()
            _say(
                show_progress, f"the budget ran out before {config.optimizer} finished: keeping the uncompiled program"
            )
            mlflow.set_tag("agentinstruct.optimizer_finished", "false")
        spent = budget.spent
        changed = program_id(compiled) != program_id(pipeline)
        dev_examples = dev_split(trainset)[1]
        with dspy.context(lm=lm):
            if finished and changed:
                _say(show_progress, f"never worse: both programs on {len(dev_examples)} dev seeds from the train split")
                dev_before = evaluate(
                    pipeline,
                    dev_examples,
                    metric_factory,
                    label="dev baseline",
                    show_progress=show_progress,
                    embedder=embedder,
                )
                dev_after = evaluate(
                    compiled,
                    dev_examples,
                    metric_factory,
                    label="dev compiled",
                    show_progress=show_progress,
                    embedder=embedder,
                )
                dev_before, dev_after = at_equal_size(dev_before, dev_after, embedder, config.seed)
            else:  # nothing to decide: the candidate is the uncompiled program, or the optimizer gave up
                dev_before = dev_after = Evaluation(0, 0, 0, 0.0, 0.0, 0.0)
            decision = decide(dev_before, dev_after, changed=changed, finished=finished, seed=config.seed)
            _say(show_progress, f"compiled: scoring the compiled pipeline on the same {len(val)} held-out seeds")
            compiled_eval = evaluate(
                compiled, valset, metric_factory, label="compiled", show_progress=show_progress, embedder=embedder
            )
        heldout = compare(baseline.rows, compiled_eval.rows, seed=config.seed)
        baseline, compiled_eval = at_equal_size(baseline, compiled_eval, embedder, config.seed)
        mlflow.log_metrics(
            {
                **{k: v for k, v in baseline.as_metrics("baseline").items() if k.endswith(DIVERSITY)},
                **compiled_eval.as_metrics("compiled"),
                **decision.comparison.as_metrics("dev"),
                **heldout.as_metrics("heldout"),
                "lm_calls": spent,
                "budget_refused_calls": budget.refused,
                "kept": float(decision.kept),
            }
        )
        mlflow.set_tags(
            {"agentinstruct.compiled_kept": str(decision.kept).lower(), "agentinstruct.keep_reason": decision.reason}
        )
        mlflow.log_dict(compiled_eval.rows, "heldout/compiled.json")
        mlflow.log_table(pass_rates_by_kind(baseline.rows, compiled_eval.rows), "heldout/pass_rates.json")
        if getattr(optimizer, "table", None):  # what the plan and decoding optimizers measured on the train seeds
            mlflow.log_table(_columns(optimizer.table), optimizer.TABLE_ARTIFACT)
        metadata = {
            "compile_run_id": run.info.run_id,
            "optimizer": config.optimizer,
            "seed": config.seed,
            "heldout_seed_ids": [s.seed_id for s in val],
            "kept": decision.kept,
            "reason": decision.reason,
            "teacher_lm": config.teacher_lm,
        }
        candidate_path = None
        if not decision.kept and changed:
            # Kept for a look (or `--program` anyway), beside the program the user gets.
            candidate_path = save_program(compiled, _candidate_path(config.out), metadata=metadata)
            mlflow.log_artifact(str(candidate_path), artifact_path="candidate")
        kept = compiled if decision.kept else pipeline
        _say(
            show_progress,
            ("keeping the compiled program: " if decision.kept else "keeping the uncompiled program: ")
            + decision.reason,
        )
        path = save_program(kept, config.out, metadata=metadata)
        mlflow.log_artifact(str(path), artifact_path="program")
        mlflow.set_tag("agentinstruct.program_id", program_id(kept))
        result = CompileResult(
            run_id=run.info.run_id,
            optimizer=config.optimizer,
            train_size=len(train),
            val_size=len(val),
            baseline=baseline,
            compiled=compiled_eval,
            lm_calls=spent,
            budget=config.budget,
            budget_exhausted=budget.exhausted,
            optimizer_finished=finished,
            wall_seconds=round(time.perf_counter() - started, 1),
            program_path=str(path),
            program_id=program_id(kept),
            demos={name: len(p.demos) for name, p in kept.named_predictors() if p.demos},
            kept=decision.kept,
            reason=decision.reason,
            dev=decision.comparison,
            heldout=heldout,
            candidate_path=str(candidate_path) if candidate_path else None,
            teacher_lm=config.teacher_lm,
        )
        _log_compile_plot(result)
    return result


def pass_rates_by_kind(baseline_rows: list[dict], compiled_rows: list[dict]) -> dict[str, list]:
    """Held-out pairs and validator pass rate per transformation and per instruction type, before and after (the
    table that shows which kinds of pair a compile moved), as MLflow table columns."""
    table: dict[tuple[str, str], dict[str, Any]] = {}
    for side, rows in (("baseline", baseline_rows), ("compiled", compiled_rows)):
        for row in rows:
            if "failed_stage" in row:
                continue
            for group in ("transformation", "instruction_type"):
                entry = table.setdefault(
                    (group, row[group]),
                    {"group": group, "name": row[group], "baseline_pairs": 0, "baseline_passed": 0}
                    | {"compiled_pairs": 0, "compiled_passed": 0},
                )
                entry[f"{side}_pairs"] += 1
                entry[f"{side}_passed"] += bool(row["passed"])
    entries = [table[key] for key in sorted(table)]
    for entry in entries:
        for side in ("baseline", "compiled"):
            pairs = entry[f"{side}_pairs"]
            entry[f"{side}_pass_rate"] = round(entry[f"{side}_passed"] / pairs, 4) if pairs else None
    return _columns(entries)


def _columns(entries: list[dict[str, Any]]) -> dict[str, list]:
    names = list(entries[0]) if entries else []
    return {name: [entry.get(name) for entry in entries] for name in names}


def _log_compile_plot(result: CompileResult) -> None:
    """Baseline vs compiled on the held-out seeds, a panel per metric, as the run's `plots/compile.png`."""
    import tempfile

    import mlflow

    from agentinstruct.plots import PLOTS_DIR, compile_plot, draw_safely

    names = ("pass_rate", "composite", "mean_novelty", "vendi_score", "instruction_type_entropy", "judge_overall")
    before = {name: getattr(result.baseline, name) for name in names}
    after = {name: getattr(result.compiled, name) for name in names}
    with tempfile.TemporaryDirectory() as folder:
        for plot in draw_safely(lambda: [compile_plot(before, after, Path(folder) / "compile.png")], result.notes):
            mlflow.log_artifact(str(plot), artifact_path=PLOTS_DIR)


def _candidate_path(out: str) -> Path:
    path = Path(out)
    return path.with_name(f"{path.stem}.candidate{path.suffix or '.json'}")


def _say(enabled: bool, message: str) -> None:
    if enabled:
        import sys

        print(f"[compile] {message}", file=sys.stderr, flush=True)


def format_result(result: CompileResult) -> str:
    from agentinstruct.tracking import mlflow_ui_hint

    rows = [
        ("validator pass rate", "pass_rate", "{:.1%}"),
        ("composite", "composite", "{:.3f}"),
        ("mean novelty", "mean_novelty", "{:.3f}"),
        ("judge overall (1-5)", "judge_overall", "{:.2f}"),
        ("vendi score *", "vendi_score", "{:.2f}"),
        ("type entropy *", "instruction_type_entropy", "{:.2f}"),
        ("pairs", "pairs", "{}"),
        ("failed stages", "failures", "{}"),
    ]
    lines = [f"{'held-out seeds: ' + str(result.val_size):<24} {'baseline':>10} {'compiled':>10}"]
    for label, name, fmt in rows:
        before, after = getattr(result.baseline, name), getattr(result.compiled, name)
        if before is None and after is None:
            continue
        shown = ["n/a" if value is None else fmt.format(value) for value in (before, after)]
        lines.append(f"{label:<24} {shown[0]:>10} {shown[1]:>10}")
    size = min(result.baseline.pairs, result.compiled.pairs)
    lines += [
        f"* at {size} pairs a side (the side with more pairs: the mean over {DIVERSITY_SUBSETS} random subsets)",
        f"optimizer               {result.optimizer} on {result.train_size} train seeds, {result.lm_calls} LM calls"
        + (
            f" of a {result.budget} budget" + (" (exhausted)" if result.budget_exhausted else "")
            if result.budget
            else ""
        )
        + ("" if result.optimizer_finished else "; it did not finish, so the program is the uncompiled one"),
        f"held-out difference     {result.heldout.describe()}" if result.heldout else "",
        f"kept                    {'the compiled program' if result.kept else 'the uncompiled program'}: "
        f"{result.reason}"
        + (f" (the compiled candidate is in {result.candidate_path})" if result.candidate_path else ""),
        f"wall time               {result.wall_seconds:.0f} s",
        f"program                 {result.program_path}  (program_id {result.program_id})",
        f"mlflow run              {result.run_id}  ({mlflow_ui_hint()})",
    ]
    return "\n".join(line for line in lines if line)
