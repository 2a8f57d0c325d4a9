"""What a generate run costs: prices from LiteLLM's local price map, estimates before a run (`--dry-run`, optionally
with a `--pilot K` of real units), and the spend of a run as its units finish (`--max-cost`).

Prices come only from the price map bundled with LiteLLM (`LITELLM_LOCAL_MODEL_COST_MAP=True`, set by the package):
nothing is fetched. The embedded model runs on this machine and costs nothing.

Two estimates:

- **default** (no LM call): the units the plan needs for `--n`, assuming every call succeeds and every pair is kept
  (the pipeline's most pairs per unit), times the calls each unit's plan makes; input tokens are the prompts those
  calls send, rendered by DSPy's ChatAdapter on the actual seeds (later stages' inputs, which the LM writes, are
  stood in for by the seed and the starter demos) and counted with the generator's tokenizer; output tokens are the
  `--max-tokens` caps: an upper bound.
- **pilot** (`--pilot K`): the first K planned units run for real (same worker, settings and plan order as the run,
  nothing written to `--out`); their calls, tokens and kept pairs per unit are extrapolated to the units the run's
  scheduler would start to keep `--n` pairs at that yield.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from agentinstruct.lm import EMBEDDED, JUDGE_SETTINGS

if TYPE_CHECKING:
    from agentinstruct.runner import GenerateConfig

DEFAULT_METHOD = "default"
PILOT_METHOD = "pilot"


def is_free(model: str) -> bool:
    """Models that run on this machine: the embedded model (and its llama.cpp name in DSPy's usage)."""
    from agentinstruct.embedded import MODEL_NAME

    return model in (EMBEDDED, MODEL_NAME)


def price(model: str, tokens_in: int, tokens_out: int, calls: int = 1) -> float | None:
    """The USD price of `calls` calls of `model` that used `tokens_in` prompt and `tokens_out` completion tokens in
    all, from LiteLLM's local price map; 0.0 for the embedded model; None when the map does not know the model.

    Priced per call, at the calls' mean size: the map's price of a call depends on its size (prompts above 128k, 200k
    or 272k tokens cost up to twice as much on many models), so a run's tokens priced as one call were charged the
    upper tier (1.8x the spend of 1,000 calls of 1,000 tokens on openai/gpt-5.4). Exact while the calls are in the
    same tier, as a generation run's are (its prompts are a few thousand tokens)."""
    if is_free(model):
        return 0.0
    import litellm

    calls = max(1, int(calls))
    mean_in, mean_out = max(1, round(tokens_in / calls)), max(1, round(tokens_out / calls))
    try:
        cost_in, cost_out = litellm.cost_per_token(model=model, prompt_tokens=mean_in, completion_tokens=mean_out)
    except Exception:  # LiteLLM raises its own not-mapped error (and others for odd strings): unpriced, not fatal
        return None
    return float(cost_in) / mean_in * tokens_in + float(cost_out) / mean_out * tokens_out


def is_priced(model: str) -> bool:
    return price(model, 1, 1) is not None


def spend(tokens_by_model: dict[str, list[int]]) -> float | None:
    """The price of tokens per model (`{model: [in, out, calls]}`, as units report them); None if any model is
    unpriced."""
    total = 0.0
    for model, (tokens_in, tokens_out, calls) in tokens_by_model.items():
        cost = price(model, tokens_in, tokens_out, calls)
        if cost is None:
            return None
        total += cost
    return total


def add_tokens(into: dict[str, list[int]], tokens_by_model: dict[str, list[int]] | None) -> None:
    """Add a unit's `{model: [tokens in, tokens out, calls]}` to a total of the same shape."""
    for model, used in (tokens_by_model or {}).items():
        counted = into.setdefault(model, [0, 0, 0])
        for position, value in enumerate(used):
            counted[position] += value


def unpriced_models(config: GenerateConfig) -> list[str]:
    """The run's LMs (generator, judge) that LiteLLM's local price map does not know."""
    models = [config.lm, *([config.judge_lm] if config.judge_lm else [])]
    return [model for model in dict.fromkeys(models) if not is_priced(model)]


@dataclass
class CostEstimate:
    """The estimated work and price of one skill's run."""

    skill: str
    method: str
    """`default` (prompts rendered, output at the `--max-tokens` caps) or `pilot` (K real units extrapolated)."""
    requested: int
    units: int
    lm_calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    """None when a model of the run is not in LiteLLM's local price map (`unpriced`)."""
    tokens_out_is_upper_bound: bool
    unpriced: list[str] = field(default_factory=list)
    pilot_units: int = 0
    pilot_pairs_per_unit: float | None = None
    pilot: dict[str, Any] = field(default_factory=dict)
    """The pilot's own calls, tokens and cost (spent already; its cache entries are not reused)."""
    at_unit_limit: dict[str, Any] = field(default_factory=dict)
    """The default estimate's other end: the figures if the run stops at its unit limit (`MAX_UNITS_PER_RECORD` per
    record plus one per seed) because few pairs are kept: about the most the run can spend."""
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def simulate_units(yields: list[float], n: int, window: int, max_units: int, trials: int = 16) -> int:
    """How many units the run's scheduler (`runner._run_units`) starts to keep `n` pairs when unit i keeps
    `yields[i % len(yields)]` pairs.

    It mirrors the run's rule: start a unit while fewer than `window` run and the pairs admitted plus those expected
    from the units in flight or finished but not yet admitted (at the yield seen so far, 1 before any unit was
    admitted, at least 0.25) are short of `n`; units are admitted in plan order. With several units in flight, which
    one finishes first varies: the count is the mean over `trials` runs whose unit durations vary by +-50% (seeded,
    so the same estimate every time). One unit at a time (the embedded model) needs no trials: it is exact.
    """
    import random

    if window <= 1:
        return _simulate(yields, n, 1, max_units, None)
    counts = [_simulate(yields, n, window, max_units, random.Random(trial)) for trial in range(trials)]
    return round(sum(counts) / len(counts))


def _simulate(yields: list[float], n: int, window: int, max_units: int, rng) -> int:
    import heapq

    kept = admitted = 0.0
    running: list[tuple[float, int]] = []  # (finish time, plan position)
    arrived: dict[int, float] = {}
    next_admit = started = 0
    now = 0.0
    while True:
        while len(running) < window and started < max_units:
            expected = kept / admitted if admitted else 1.0
            if kept + (len(running) + len(arrived)) * max(expected, 0.25) >= n:
                break
            heapq.heappush(running, (now + (rng.uniform(0.5, 1.5) if rng else 1.0), started))
            started += 1
        if not running:
            return started
        now, position = heapq.heappop(running)
        arrived[position] = yields[position % len(yields)] if yields else 0.0
        while next_admit in arrived:
            kept += arrived.pop(next_admit)
            admitted += 1
            next_admit += 1


def estimate(config: GenerateConfig, skill_name: str, *, show_progress: bool = False) -> CostEstimate:
    """The estimate of one skill's run (`config.skill` is ignored; `config.n` is that skill's share)."""
    if config.pilot:
        return _pilot_estimate(config, skill_name, show_progress)
    return _default_estimate(config, skill_name)


def _plan_units(config: GenerateConfig, seeds: list, count: int):
    from agentinstruct.runner import MAX_UNITS_PER_RECORD, _UnitPlan

    by_id = {seed.seed_id: seed for seed in seeds}
    limit = min(count, MAX_UNITS_PER_RECORD * config.n + len(seeds))
    return [(draw, by_id[seed_id]) for draw, seed_id in _UnitPlan(seeds, limit)]


def _finish(
    estimate: CostEstimate, config: GenerateConfig, judge_share: tuple[int, int, int] = (0, 0, 0)
) -> CostEstimate:
    """Price the estimate: the generator's tokens at its price, the judge's share (tokens in, out, calls) at the
    judge's."""
    missing = unpriced_models(config)
    estimate.unpriced = missing
    if missing:
        estimate.cost_usd = None
        return estimate
    generator = (
        price(
            config.lm,
            estimate.tokens_in - judge_share[0],
            estimate.tokens_out - judge_share[1],
            estimate.lm_calls - judge_share[2],
        )
        or 0.0
    )
    judge = price(config.judge_lm, *judge_share) if config.judge_lm else 0.0
    estimate.cost_usd = generator + (judge or 0.0)
    return estimate


class _TokenCounter:
    """Counts a rendered prompt's tokens with the generator's tokenizer: llama.cpp's (vocabulary only, no weights
    evaluated) for the embedded model, LiteLLM's for endpoints."""

    def __init__(self, model: str) -> None:
        self.model = model
        self._llama = None
        if model == EMBEDDED:
            from llama_cpp import Llama

            from agentinstruct.embedded import default_model_path

            self._llama = Llama(model_path=str(default_model_path()), vocab_only=True, verbose=False)

    def __call__(self, messages: list[dict[str, Any]]) -> int:
        if self._llama is not None:
            text = "\n\n".join(str(m.get("content") or "") for m in messages)
            return len(self._llama.tokenize(text.encode("utf-8"), add_bos=True))
        import litellm

        return int(litellm.token_counter(model=self.model, messages=messages))


def _render(predictor, passage: str, demo_passage: str) -> tuple[list[dict[str, Any]], int]:
    """The messages one of `predictor`'s calls sends (the passage in the source field, the starter demo's values in
    the other input fields), and how many output fields it asks for."""
    import dspy

    signature = predictor.signature
    demos = [*predictor.demos, *(d for d in predictor.starter_demos if d not in predictor.demos)]
    starter = predictor.starter_demos[0] if predictor.starter_demos else {}
    inputs = {}
    for name in signature.input_fields:
        value = starter.get(name, passage) if hasattr(starter, "get") else passage
        inputs[name] = passage if value == demo_passage else value
    return dspy.ChatAdapter().format(signature, demos, inputs), len(signature.output_fields)


def _default_estimate(config: GenerateConfig, skill_name: str) -> CostEstimate:
    from agentinstruct.embedded import EmbeddedEngine
    from agentinstruct.runner import MAX_UNITS_PER_RECORD, load_job
    from agentinstruct.signatures.agents import IDENTITY

    skill, seed_set, pipeline, _ = load_job(config, skill_name)
    seeds = seed_set.seeds
    demo_passage = skill.demo_passage
    per_agent = pipeline.instruction_generation.per_agent
    counter = _TokenCounter(config.lm)
    # Output fields are capped one by one on the embedded model, each resampled up to leak_retries times.
    embedded_factor = EmbeddedEngine().leak_retries + 1 if config.lm == EMBEDDED else None
    judged = config.judge_lm is not None
    prompt_cache: dict[tuple, tuple[int, int]] = {}

    def call_tokens(predictor, seed) -> tuple[int, int]:
        key = (id(predictor), seed.seed_id)
        if key not in prompt_cache:
            messages, outputs = _render(predictor, seed.text, demo_passage)
            cap = config.max_tokens * outputs * embedded_factor if embedded_factor else config.max_tokens
            prompt_cache[key] = (counter(messages), cap)
        return prompt_cache[key]

    plan_cache: dict[tuple, tuple[int, int, int, int, int, int, int]] = {}

    def unit_figures(draw: int, seed) -> tuple[int, int, int, int, int, int, int]:
        """(pairs, calls, tokens in, tokens out, judge tokens in, judge tokens out, judge calls) of one unit if all
        goes well."""
        key = (draw, seed.seed_id)
        if key in plan_cache:
            return plan_cache[key]
        plan = pipeline.plan(seed.seed_id, draw, config.seed, config.refine_rounds)
        calls = tokens_in = tokens_out = 0

        def add(predictor, times: int = 1) -> int:
            nonlocal calls, tokens_in, tokens_out
            used_in, used_out = call_tokens(predictor, seed)
            calls += times
            tokens_in += used_in * times
            tokens_out += used_out * times
            return used_in

        if plan.transformation != IDENTITY:
            add(pipeline.transformation.agents[plan.transformation])
        for kind in plan.instruction_types:
            add(pipeline.instruction_generation.agents[kind])
        pairs = len(plan.instruction_types) * per_agent
        for goal in plan.refinement_goals:
            add(pipeline.refinement.suggesters[goal], pairs)
            add(pipeline.refinement.editors[goal], pairs)
        answer_in = add(pipeline.response.respond, pairs)
        judge_in = judge_out = judge_calls = 0
        if judged:  # the judge reads about what the teacher read, and answers within its own cap
            judge_in, judge_out, judge_calls = answer_in * pairs, JUDGE_SETTINGS["max_tokens"] * pairs, pairs
            calls += pairs
            tokens_in += judge_in
            tokens_out += judge_out
        plan_cache[key] = (pairs, calls, tokens_in, tokens_out, judge_in, judge_out, judge_calls)
        return plan_cache[key]

    max_units = MAX_UNITS_PER_RECORD * config.n + len(seeds)
    # Yields in plan order, so the scheduler's count uses each unit's own plan (identity transformations etc.).
    figures = [unit_figures(draw, seed) for draw, seed in _plan_units(config, seeds, max_units)]
    units = simulate_units([f[0] for f in figures], config.n, config.inflight, max_units)
    used = figures[:units]
    estimate = CostEstimate(
        skill=skill.name,
        method=DEFAULT_METHOD,
        requested=config.n,
        units=units,
        lm_calls=sum(f[1] for f in used),
        tokens_in=sum(f[2] for f in used),
        tokens_out=sum(f[3] for f in used),
        cost_usd=None,
        tokens_out_is_upper_bound=True,
        notes=[
            "assumes every call succeeds and every pair is kept; output tokens at the --max-tokens caps (upper bound)"
        ],
    )
    # The other end: a run whose pairs are mostly lost stops at its unit limit, about the most it can spend (DSPy
    # retries an unparseable answer once in JSON: one more call each time); --pilot K measures where it will land.
    limit = CostEstimate(
        skill=skill.name,
        method="limit",
        requested=config.n,
        units=len(figures),
        lm_calls=sum(f[1] for f in figures),
        tokens_in=sum(f[2] for f in figures),
        tokens_out=sum(f[3] for f in figures),
        cost_usd=None,
        tokens_out_is_upper_bound=True,
    )
    _finish(limit, config, _judge_share(figures))
    estimate.at_unit_limit = {
        key: getattr(limit, key) for key in ("units", "lm_calls", "tokens_in", "tokens_out", "cost_usd")
    }
    return _finish(estimate, config, _judge_share(used))


def _judge_share(figures: list[tuple[int, ...]]) -> tuple[int, int, int]:
    """The judge's tokens in, out and calls of these units (`unit_figures` of `_default_estimate`)."""
    return sum(f[4] for f in figures), sum(f[5] for f in figures), sum(f[6] for f in figures)


def _pilot_estimate(config: GenerateConfig, skill_name: str, show_progress: bool) -> CostEstimate:
    """Run the first `config.pilot` planned units for real, in memory, and extrapolate."""
    import numpy as np

    from agentinstruct.backends import make_backend
    from agentinstruct.lm import LMSpec, check_lms, role_api_base
    from agentinstruct.metrics import Embedder, Scorer
    from agentinstruct.optimizers import program_id
    from agentinstruct.programs.retrieval import job_corpus
    from agentinstruct.runner import MAX_UNITS_PER_RECORD, load_job
    from agentinstruct.units import UnitSpec, UnitTask, score_from_data

    skill, seed_set, pipeline, program_state = load_job(config, skill_name)
    seeds = seed_set.seeds
    generator = LMSpec(config.lm, config.api_base, config.temperature, config.max_tokens, config.timeout)
    judge = None
    if config.judge_lm:
        judge = LMSpec(
            config.judge_lm, role_api_base(config.judge_lm, config.api_base), timeout=config.timeout, **JUDGE_SETTINGS
        )
    check_lms(generator.build(), config.api_base, judge)
    embedder = Embedder(config.embedding_model)
    spec = UnitSpec(
        skill=skill.name,
        generator=generator,
        judge=judge,
        program_state=program_state,
        random_seed=config.seed,
        refine_rounds=config.refine_rounds,
        lineage={"program_id": program_id(pipeline), "generator_lm": config.lm, "run_id": "pilot"},
        embedding_model=embedder.model_path,
        max_inflight=config.inflight,
        model_checks=config.uses_model_checks,
        corpus=job_corpus(skill, seeds),
    )
    planned = _plan_units(config, seeds, config.pilot)
    backend = make_backend("threads", spec, None)
    tasks = iter([UnitTask(draw, seed.seed_id, seed.text, seed.source) for draw, seed in planned])
    outcomes: dict[tuple, dict[str, Any]] = {}
    previous_cache = _fresh_memory_cache()
    try:
        stream = backend.run(tasks, lambda in_flight: True)
        for outcome in stream:
            if outcome.get("aborted"):
                from agentinstruct.errors import UserError

                raise UserError(f"the LM endpoint stopped answering during the pilot ({outcome['aborted']})")
            outcomes[tuple(outcome["unit"])] = outcome
    finally:
        backend.close()
        _restore_cache(previous_cache)
    # Admission as the run does it, in plan order: novelty against the pairs kept so far, the quality threshold.
    scorer = Scorer(
        skill=skill.name, embedder=embedder, dedup_threshold=config.dedup_threshold, min_quality=config.min_quality
    )
    kept_per_unit: list[int] = []
    per_unit: list[tuple[int, int, int]] = []
    by_model: dict[str, list[int]] = {}
    for draw, seed in planned:
        outcome = outcomes[(draw, seed.seed_id)]
        records = outcome["records"]
        scores = [score_from_data(s) for s in outcome["scores"]]
        if records:
            vectors = np.frombuffer(outcome["vectors"], dtype=np.float32).reshape(len(records), -1)
        else:
            vectors = np.zeros((0, 0), dtype=np.float32)
        ids = [f"{seed.seed_id}-{draw}-{i}" for i in range(len(records))]
        scorer.admit_embedded(vectors, scores, ids)
        kept_per_unit.append(sum(1 for s in scores if not s.rejection(config.min_quality)))
        per_unit.append((outcome["calls"], outcome["tokens_in"], outcome["tokens_out"]))
        add_tokens(by_model, outcome.get("tokens_by_model"))
    max_units = MAX_UNITS_PER_RECORD * config.n + len(seeds)
    units = simulate_units(kept_per_unit, config.n, config.inflight, max_units)
    # Units past the pilot are like the pilot's on average; the first ones are the pilot's own units.
    calls = tokens_in = tokens_out = 0.0
    mean = [sum(values) / len(per_unit) for values in zip(*per_unit, strict=True)] if per_unit else [0, 0, 0]
    for index in range(units):
        figures = per_unit[index] if index < len(per_unit) else mean
        calls += figures[0]
        tokens_in += figures[1]
        tokens_out += figures[2]
    pilot_in = sum(f[1] for f in per_unit)
    pilot_out = sum(f[2] for f in per_unit)
    pilot_calls = sum(f[0] for f in per_unit)
    estimate = CostEstimate(
        skill=skill.name,
        method=PILOT_METHOD,
        requested=config.n,
        units=units,
        lm_calls=round(calls),
        tokens_in=round(tokens_in),
        tokens_out=round(tokens_out),
        cost_usd=None,
        tokens_out_is_upper_bound=False,
        pilot_units=len(planned),
        pilot_pairs_per_unit=round(sum(kept_per_unit) / len(planned), 3) if planned else None,
        pilot={
            "lm_calls": pilot_calls,
            "tokens_in": pilot_in,
            "tokens_out": pilot_out,
            "cost_usd": spend(by_model) if by_model else price(config.lm, pilot_in, pilot_out, pilot_calls),
        },
    )
    if not any(kept_per_unit):
        estimate.notes.append(
            f"the pilot kept no pair in {len(planned)} units: the run would stop at its limit of {max_units} units"
        )
    # The judge's share of the tokens, in the pilot's proportion, is priced at the judge's price.
    judge_share = (0, 0, 0)
    if config.judge_lm and config.judge_lm != config.lm and by_model:
        judge_tokens = [v for m, v in by_model.items() if m == config.judge_lm or m.endswith(config.judge_lm)]
        if judge_tokens and pilot_in and pilot_out and pilot_calls:
            pilot_figures = (pilot_in, pilot_out, pilot_calls)
            estimated = (estimate.tokens_in, estimate.tokens_out, estimate.lm_calls)
            judge_share = tuple(
                round(total * sum(v[i] for v in judge_tokens) / pilot_figures[i]) for i, total in enumerate(estimated)
            )
    return _finish(estimate, config, judge_share)


def _fresh_memory_cache():
    """Give DSPy an empty in-memory response cache for the pilot, and return the one it had.

    A response cached by an earlier run or pilot reports no tokens, and the pilot is here to measure them; but calls
    repeated within a unit (the same instruction drafted twice) are cache hits in the real run too, so the pilot keeps
    a cache of its own. Nothing of it reaches the disk cache: the real run pays for its units as if no pilot ran.
    """
    import dspy
    from dspy.clients.cache import Cache

    with dspy._cache_lock:
        previous = dspy.cache
        dspy.cache = Cache(enable_disk_cache=False, enable_memory_cache=True, disk_cache_dir=None)
    return previous


def _restore_cache(previous) -> None:
    import dspy

    with dspy._cache_lock:
        dspy.cache = previous


def format_estimate(estimates: dict[str, CostEstimate]) -> str:
    """The terminal report of `--dry-run`: one block per skill, then the total of a mix."""
    lines = []
    for item in estimates.values():
        how = (
            f"pilot of {item.pilot_units} units ({item.pilot_pairs_per_unit} pairs kept per unit), extrapolated"
            if item.method == PILOT_METHOD
            else "prompts rendered on the seeds; output at the --max-tokens caps"
        )
        bound = "at most " if item.tokens_out_is_upper_bound else ""
        lines += [
            f"skill           {item.skill}: {item.requested} pairs requested",
            f"estimate        {how}",
            f"work units      {item.units}",
            f"LM calls        {item.lm_calls}",
            f"tokens          {item.tokens_in} in, {bound}{item.tokens_out} out",
            f"cost            {_cost_text(item.cost_usd, item.unpriced, bound)}",
        ]
        if item.at_unit_limit:
            limit = item.at_unit_limit
            lines.append(
                f"at unit limit   {limit['units']} units (where a run that keeps few pairs stops): "
                f"{limit['lm_calls']} LM calls, {limit['tokens_in']} tokens in, {limit['tokens_out']} out; "
                + _cost_text(limit["cost_usd"], item.unpriced)
            )
        if item.pilot:
            lines.append(
                f"pilot spent     {item.pilot['lm_calls']} calls, {item.pilot['tokens_in']} tokens in, "
                f"{item.pilot['tokens_out']} out; {_cost_text(item.pilot['cost_usd'], item.unpriced)}"
            )
        lines += [f"note            {note}" for note in item.notes]
    if len(estimates) > 1:
        items = list(estimates.values())
        costs = [item.cost_usd for item in items]
        total = None if any(c is None for c in costs) else sum(c for c in costs if c is not None)
        unpriced = sorted({m for item in items for m in item.unpriced})
        lines += [
            f"total           {sum(i.units for i in items)} units, {sum(i.lm_calls for i in items)} LM calls, "
            f"{sum(i.tokens_in for i in items)} tokens in, {sum(i.tokens_out for i in items)} out; "
            + _cost_text(total, unpriced),
        ]
    lines.append("dry run         nothing was written and no MLflow run was made")
    return "\n".join(lines)


def _cost_text(cost: float | None, unpriced: list[str], bound: str = "") -> str:
    if cost is None:
        return cost_unknown(unpriced)
    if cost == 0:
        return "$0 (the embedded model runs here)"
    return f"{bound}${cost:.4f}"


def cost_unknown(unpriced: list[str]) -> str:
    return f"cost unknown ({', '.join(unpriced) or 'a model'} not in LiteLLM's price map)"


def format_cost_line(tokens_in: int, tokens_out: int, cost: float | None, models: list[str]) -> str:
    """The end-of-run line: 'tokens ... in, ... out; cost $X' or 'cost unknown (...)'."""
    text = cost_unknown([m for m in models if not is_priced(m)]) if cost is None else f"cost ${cost:.4f}"
    if cost == 0 and models and all(is_free(m) for m in models):
        text = "cost $0 (the embedded model runs here)"
    return f"{tokens_in} in, {tokens_out} out; {text}"
