"""The per-skill AgentInstruct pipeline: transform a seed, generate instructions, refine them, answer them.

The same module is what `generate` runs and what optimizers compile: one seed in, that seed's pairs out, with every
failed stage reported rather than dropped.
"""

from __future__ import annotations

import inspect
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import dspy

from agentinstruct.fanout import fan_out
from agentinstruct.programs.instruction import InstructionGeneration
from agentinstruct.programs.refinement import Refinement
from agentinstruct.programs.response import Response
from agentinstruct.programs.skills import Skill
from agentinstruct.programs.transformation import ContentTransformation
from agentinstruct.seeds import seed_id_of


@dataclass
class Sample:
    """One finished sample: its chat `messages` as the skill builds them (any number of turns; `tool_calls` and `tool`
    turns fit), the source text it is grounded in when the user turn leaves it out (`context`), and how it was made.
    `Skill.view(messages, context)` is what the metrics score."""

    messages: list[dict]
    instruction_type: str
    transformation: str
    refinement_goals: list[str] = field(default_factory=list)
    context: str | None = None
    tools: list[dict] | None = None
    """The function schemas offered to the model (OpenAI tool format), for tool-calling records."""
    execution: dict | None = None
    """What ran in the sandbox and how it ended, for records whose code was executed."""
    written_by_code: list[str] = field(default_factory=list)
    """The parts of the record Python wrote, not the model ("code", "tests", "final answer", "user turn 2", ...)."""

    @property
    def refinement_rounds(self) -> int:
        return len(self.refinement_goals)


@dataclass
class StageFailure:
    """A stage that produced nothing usable, and why.

    `reason` is one of `lm_error`, `parse_failure`, `empty_output`, `invalid_output`, `duplicate`, `error`.
    """

    stage: str
    reason: str
    detail: str
    transformation: str = ""
    instruction_type: str = ""


@dataclass(frozen=True)
class Plan:
    """The random choices for one (seed, draw): reproducible from the run's seed."""

    transformation: str
    instruction_types: tuple[str, ...]
    refinement_goals: tuple[str, ...]
    sampling_seed: int


PLAN_WEIGHTS_KEY = "plan_weights"
"""Where a program's state holds its plan weights (absent when they are uniform)."""


@dataclass(frozen=True)
class PlanWeights:
    """Relative draw weights per transformation and per instruction type; a name without one weighs 1, so empty
    mappings are the uniform draw every program starts with."""

    transformations: dict[str, float] = field(default_factory=dict)
    instruction_types: dict[str, float] = field(default_factory=dict)

    def transformation(self, name: str) -> float:
        return self.transformations.get(name, 1.0)

    def instruction_type(self, name: str) -> float:
        return self.instruction_types.get(name, 1.0)

    @property
    def uniform(self) -> bool:
        """Every weight 1 (a name without one weighs 1 too, so equal weights other than 1 are not uniform)."""
        return all(
            weight == 1.0 for group in (self.transformations, self.instruction_types) for weight in group.values()
        )

    def as_state(self) -> dict[str, dict[str, float]]:
        return {"transformations": dict(self.transformations), "instruction_types": dict(self.instruction_types)}

    @classmethod
    def from_state(cls, state: Any, skill: Skill) -> PlanWeights:
        """The weights saved in a program's state (uniform for None), checked against the skill's names.

        Raises:
            ValueError: An unknown name, a weight that is not a positive number, or a malformed state.
        """
        if state is None:
            return cls()
        if not isinstance(state, dict) or set(state) - {"transformations", "instruction_types"}:
            raise ValueError(f"plan weights must map 'transformations' and 'instruction_types', got {state!r}")
        known = {
            "transformations": {agent.name for agent in skill.transformations},
            "instruction_types": {kind.name for kind in skill.instruction_types},
        }
        groups = {}
        for group, names in known.items():
            weights = state.get(group) or {}
            if not isinstance(weights, dict):
                raise ValueError(f"plan weights '{group}' must map names to weights")
            unknown = sorted(set(weights) - names)
            if unknown:
                raise ValueError(f"plan weights name {group.replace('_', ' ')} the {skill.name} skill lacks: {unknown}")
            bad = [n for n, w in weights.items() if isinstance(w, bool) or not isinstance(w, int | float) or w <= 0]
            if bad:
                raise ValueError(f"plan weights must be positive numbers (not for {bad})")
            groups[group] = {name: float(weight) for name, weight in weights.items()}
        return cls(**groups)


STAGE_TEMPERATURES_KEY = "stage_temperatures"
"""Where a program's state holds its per-stage sampling temperatures (absent when every stage uses the LM's own)."""

STAGES = ("transformation", "instruction_generation", "refinement", "response")

SCREEN_KEY = "screen_instructions"
"""Where a program's state says it screens its instructions (absent when it does not)."""


@dataclass(frozen=True)
class StageTemperatures:
    """The sampling temperature each pipeline stage asks for; a stage without one decodes at the LM's own temperature
    (`--temperature`), so the empty mapping is the program every skill starts with.

    A temperature travels in the stage's request settings like its sampling seed, so it reaches the embedded engine
    and an endpoint alike, and it is part of every cache key.
    """

    temperatures: dict[str, float] = field(default_factory=dict)

    def config(self, stage: str, config: dict) -> dict:
        """`config` (a stage's request settings) with this stage's temperature, when it has one."""
        temperature = self.temperatures.get(stage)
        return config if temperature is None else {**config, "temperature": temperature}

    def with_stage(self, stage: str, temperature: float | None) -> StageTemperatures:
        """A copy where `stage` decodes at `temperature` (None: at the LM's own)."""
        temperatures = {name: t for name, t in self.temperatures.items() if name != stage}
        if temperature is not None:
            temperatures[stage] = float(temperature)
        return StageTemperatures(temperatures)

    def as_state(self) -> dict[str, float]:
        return dict(self.temperatures)

    @classmethod
    def from_state(cls, state: Any) -> StageTemperatures:
        """The temperatures saved in a program's state (none for None).

        Raises:
            ValueError: An unknown stage, a temperature outside [0, 2], or a malformed state.
        """
        if state is None:
            return cls()
        if not isinstance(state, dict):
            raise ValueError(f"stage temperatures must map stages to temperatures, got {state!r}")
        unknown = sorted(set(state) - set(STAGES))
        if unknown:
            raise ValueError(f"stage temperatures name stages the pipeline lacks: {unknown} (stages: {list(STAGES)})")
        bad = [s for s, t in state.items() if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t <= 2]
        if bad:
            raise ValueError(f"stage temperatures must be numbers from 0 to 2 (not for {bad})")
        return cls({stage: float(t) for stage, t in state.items()})


def _weighted_pick(names: list[str], weights: list[float], draw: float) -> str:
    """The name whose share of the total weight covers `draw` (uniform in [0, 1)): inverse-CDF sampling."""
    total, cumulative = sum(weights), 0.0
    for name, weight in zip(names, weights, strict=True):
        cumulative += weight / total
        if draw < cumulative:
            return name
    return names[-1]


def _weighted_sample(names: list[str], weights: list[float], draws: dict[str, float], k: int) -> list[str]:
    """`k` names without replacement, each chance proportional to its weight (Efraimidis-Spirakis: the largest keys
    `draw ** (1 / weight)`); with equal weights, a uniform sample."""
    keys = {name: draws[name] ** (1.0 / weight) for name, weight in zip(names, weights, strict=True)}
    return sorted(names, key=lambda name: -keys[name])[: min(k, len(names))]


class InvalidOutput(Exception):
    """Raised by a stage's module (a responder whose model output cannot make a conversation) with why: the stage fails
    as `invalid_output` with that message."""


class NothingUsable(Exception):
    """Raised by a stage's module whose model output holds nothing it can use, with what the output was: the stage
    fails as `empty_output` with that message."""


STAGE_ATTEMPTS = 3
"""How many samples a stage draws before an empty or unusable output counts as its failure. A small model often
writes one unusable output and a usable one on the next sample; an endpoint model rarely needs a second. LM errors
are not re-sampled here: the endpoint client retries those."""


class _StageFailed(Exception):
    def __init__(self, failure: StageFailure) -> None:
        self.failure = failure


class AgentInstructPipeline(dspy.Module):
    """Content transformation -> instruction generation -> Suggester/Editor refinement -> teacher response.

    Args:
        skill: The registry entry whose agents, taxonomy and goals the flows are built from.
        types_per_seed: How many instruction-type agents run per seed (drawn among the types eligible after the
            seed's transformation).
        per_agent: The most instructions kept from one agent's output.
        attempts: How many samples the transformation, instruction-generation and response stages draw (each with
            its own sampling seed) before an empty or unusable output counts as that stage's failure. A refinement
            round draws one: when it fails it is undone and the pair goes on.
    """

    def __init__(
        self, skill: Skill, types_per_seed: int = 2, per_agent: int = 2, attempts: int = STAGE_ATTEMPTS
    ) -> None:
        super().__init__()
        self.skill_name = skill.name
        self.attempts = attempts
        self._skill = skill
        self.types_per_seed = types_per_seed
        self.transformation = ContentTransformation(
            skill.transformations, skill.demo_passage, skill.behaviour.transform
        )
        self.instruction_generation = InstructionGeneration(
            skill.instruction_types, skill.demo_passage, skill.wording, per_agent, skill.transformations
        )
        self.refinement = Refinement(skill.refinement_goals, skill.demo_passage, skill.wording)
        self.response = (
            skill.behaviour.responder(skill)
            if skill.behaviour.responder is not None
            else Response(skill.response_demos, skill.demo_passage, skill.wording, skill.response_instruction)
        )
        self.corpus = None
        """For a skill whose responder retrieves (`Behaviour.uses_corpus`): the `programs.retrieval.Retriever` over
        the job's seeds, set by whoever runs the pipeline (`UnitWorker`, compile). Not part of the program's state."""
        self.plan_weights = PlanWeights()
        """How often `plan` draws each transformation and instruction type: part of the program's state, uniform
        until an optimizer (`optimizers.plan.PlanOptimizer`) learns them."""
        self.stage_temperatures = StageTemperatures()
        """The sampling temperature of each stage: part of the program's state, the LM's own until an optimizer
        (`optimizers.decoding.DecodingOptimizer`) picks others."""
        self.screen_instructions = False
        """Best-of-N instructions: check each generated or refined instruction with the skill's instruction-only
        validators (`Validator.instruction_only`) before anything is spent on it; an agent output none of whose
        instructions pass is sampled again, a refinement round whose edit fails is undone. Part of the program's
        state, off until an optimizer (`optimizers.decoding.DecodingOptimizer`) finds that it pays."""
        self._response_takes_type = "instruction_type" in inspect.signature(type(self.response).forward).parameters

    @property
    def skill(self) -> Skill:
        return self._skill

    def plan(self, seed_id: str, draw: int = 0, random_seed: int = 0, refine_rounds: int = 1) -> Plan:
        """Draw the transformation, instruction types and refinement goals for one seed, reproducibly, with the
        program's `plan_weights`.

        The random numbers drawn do not depend on the weights (one for the transformation, one per instruction type
        of the taxonomy, then the goals and the sampling seed), so two programs that differ only in their weights
        make the same choices wherever the weights allow: a compiled and an uncompiled program share their goals,
        sampling seeds and most of their plans, and a paired comparison of the two measures the reweighting rather
        than unrelated draws.
        """
        rng = random.Random(f"{random_seed}:{seed_id}:{draw}")
        transformations = [agent.name for agent in self._skill.transformations]
        transformation = _weighted_pick(
            transformations, [self.plan_weights.transformation(name) for name in transformations], rng.random()
        )
        draws = {kind.name: rng.random() for kind in self._skill.instruction_types}
        eligible = [kind.name for kind in self._skill.eligible_types(transformation)]
        types = tuple(
            _weighted_sample(
                eligible, [self.plan_weights.instruction_type(n) for n in eligible], draws, self.types_per_seed
            )
        )
        goals = tuple(rng.choice([goal.name for goal in self._skill.refinement_goals]) for _ in range(refine_rounds))
        return Plan(transformation, types, goals, rng.randrange(2**31))

    def dump_state(self, json_mode: bool = True) -> dict:
        """DSPy's state of every predictor, the plan weights when they are not uniform, the stage temperatures when
        any is set and the screen when it is on (so a program that never had them keeps its state, and its
        `program_id`)."""
        state = super().dump_state(json_mode=json_mode)
        if not self.plan_weights.uniform:
            state[PLAN_WEIGHTS_KEY] = self.plan_weights.as_state()
        if self.stage_temperatures.temperatures:
            state[STAGE_TEMPERATURES_KEY] = self.stage_temperatures.as_state()
        if self.screen_instructions:
            state[SCREEN_KEY] = True
        return state

    def load_state(self, state: dict, **kwargs: Any) -> None:
        """Load DSPy's state of every predictor, the plan weights (uniform when the state has none), the stage
        temperatures (the LM's own when it has none) and whether instructions are screened (not when it does not say).

        Raises:
            ValueError: The plan weights name a transformation or instruction type the skill lacks, or are not
                positive numbers; the stage temperatures name an unknown stage or are not from 0 to 2; the screen
                setting is not a boolean.
        """
        state = dict(state)
        weights = PlanWeights.from_state(state.pop(PLAN_WEIGHTS_KEY, None), self._skill)
        temperatures = StageTemperatures.from_state(state.pop(STAGE_TEMPERATURES_KEY, None))
        screen = state.pop(SCREEN_KEY, False)
        if not isinstance(screen, bool):
            raise ValueError(f"'{SCREEN_KEY}' must be true or false, got {screen!r}")
        super().load_state(state, **kwargs)
        self.plan_weights = weights
        self.stage_temperatures = temperatures
        self.screen_instructions = screen

    def forward(
        self, seed: str, seed_id: str = "", draw: int = 0, random_seed: int = 0, refine_rounds: int = 1
    ) -> dspy.Prediction:
        plan = self.plan(seed_id or seed, draw, random_seed, refine_rounds)
        # The sampling seed is part of every request, so each draw gets its own cache entries and samples.
        config = {"seed": plan.sampling_seed}
        samples: list[Sample] = []
        failures: list[StageFailure] = []
        discarded: list[str] = []  # why each re-sampled output was unusable (appended from the fan-out's threads)
        context = {"transformation": plan.transformation}
        try:
            passage = _run_stage(
                "transformation",
                lambda cfg: self.transformation(text=seed, transformation=plan.transformation, config=cfg).transformed,
                context,
                config=self.stage_temperatures.config("transformation", config),
                attempts=self.attempts,
                discarded=discarded,
            )
        except _StageFailed as failed:
            return dspy.Prediction(samples=samples, failures=[failed.failure], plan=plan, resampled=Counter(discarded))

        # Independent calls run together (bounded by the process's in-flight limit): every instruction agent of the
        # seed, then every instruction's refinement chain, then every answer. Results keep the plan's order.
        generated = fan_out(
            [
                lambda t=instruction_type: self._instructions(passage, t, plan.transformation, config, discarded)
                for instruction_type in plan.instruction_types
            ]
        )
        drafts = []
        for instruction_type, outcome in generated:
            if isinstance(outcome, StageFailure):
                failures.append(outcome)
            else:
                drafts += [(instruction_type, instruction) for instruction in outcome]
        refined = fan_out([lambda d=draft: self._refine(passage, *d, plan, config, discarded) for draft in drafts])
        to_answer = []
        for (instruction_type, _), (final_passage, final_instruction, goals, undone) in zip(
            drafts, refined, strict=True
        ):
            failures += undone
            context = {"transformation": plan.transformation, "instruction_type": instruction_type}
            if any(p == final_passage and i == final_instruction for _, p, i, _ in to_answer):
                detail = "the same passage and instruction as an earlier pair of this seed"
                failures.append(StageFailure("response", "duplicate", detail, **context))
                continue
            to_answer.append((instruction_type, final_passage, final_instruction, goals))
        answers = fan_out(
            [
                lambda p=final_passage, i=final_instruction, t=instruction_type: _run_or_fail(
                    "response",
                    lambda cfg: self._respond(p, i, t, seed_id or seed_id_of(seed), cfg),
                    {"transformation": plan.transformation, "instruction_type": t},
                    config=self.stage_temperatures.config("response", config),
                    attempts=self.attempts,
                    discarded=discarded,
                    required=("answer",),
                )
                for instruction_type, final_passage, final_instruction, _ in to_answer
            ]
        )
        for (instruction_type, final_passage, final_instruction, goals), answer in zip(to_answer, answers, strict=True):
            if isinstance(answer, StageFailure):
                failures.append(answer)
                continue
            samples.append(
                Sample(
                    messages=self._messages(final_passage, final_instruction, answer),
                    instruction_type=instruction_type,
                    transformation=plan.transformation,
                    refinement_goals=list(goals),
                    context=None if self._skill.user_turn.carries_source else final_passage.strip(),
                    tools=getattr(answer, "tools", None) or None,
                    execution=getattr(answer, "execution", None) or None,
                    written_by_code=list(getattr(answer, "written_by_code", None) or []),
                )
            )
        return dspy.Prediction(samples=samples, failures=failures, plan=plan, resampled=Counter(discarded))

    def _respond(self, passage: str, instruction: str, instruction_type: str, seed_id: str, config: dict):
        """The responder's answer. A responder whose forward takes `instruction_type` is told the kind of instruction
        it answers; one that retrieves (`Behaviour.uses_corpus`) also gets the corpus and the unit's seed."""
        extra: dict = {"instruction_type": instruction_type} if self._response_takes_type else {}
        if self._skill.behaviour.uses_corpus:
            if self.corpus is None:
                raise RuntimeError(f"the {self.skill_name} skill retrieves from the job's seeds, but got no corpus")
            extra.update(retriever=self.corpus, seed_id=seed_id, instruction_type=instruction_type)
        return self.response(passage=passage, instruction=instruction, config=config, **extra)

    def _messages(self, passage: str, instruction: str, answer: dspy.Prediction) -> list[dict]:
        """The sample's conversation: the responder's own turns when it makes several (a follow-up conversation, tool
        calls and their results), else the skill's user turn and the answer."""
        user = {"role": "user", "content": self._skill.user_turn.build(passage, instruction)}
        turns = getattr(answer, "messages", None)
        if turns:
            return turns if turns[0].get("role") in ("system", "user") else [user, *turns]
        return [user, {"role": "assistant", "content": answer.answer.strip()}]

    def _instructions(
        self, passage: str, instruction_type: str, transformation: str, config: dict, discarded: list[str]
    ):
        """One instruction agent's instructions, or its `StageFailure`."""
        context = {"transformation": transformation, "instruction_type": instruction_type}
        outcome = _run_or_fail(
            "instruction_generation",
            lambda cfg: self._screened(
                passage,
                self.instruction_generation(
                    passage=passage, instruction_type=instruction_type, config=cfg, transformation=transformation
                ).instructions,
                discarded,
            ),
            context,
            config=self.stage_temperatures.config("instruction_generation", config),
            attempts=self.attempts,
            discarded=discarded,
        )
        return instruction_type, outcome

    def _refine(
        self, passage: str, instruction_type: str, instruction: str, plan: Plan, config: dict, discarded: list[str]
    ):
        """One instruction's Suggester/Editor rounds: (passage, instruction, goals applied, failed rounds)."""
        context = {"transformation": plan.transformation, "instruction_type": instruction_type}
        final_passage, final_instruction, goals, undone = passage, instruction, [], []
        for goal in plan.refinement_goals:
            refined = _run_or_fail(
                "refinement",
                lambda cfg, g=goal, p=final_passage, i=final_instruction: self.refinement(
                    passage=p, instruction=i, goal=g, config=cfg
                ),
                context,
                config=self.stage_temperatures.config("refinement", config),
                # One sample: a failed round is undone and the pair goes on, so another Suggester/Editor sample (two
                # calls) buys little; on the embedded model it doubled a demo run's calls.
                attempts=1,
                discarded=discarded,
                required=("passage", "instruction"),
                reject=lambda edit, p=final_passage: (
                    _broken_refinement(edit, p) or self.screen_failure(edit.passage, edit.instruction)
                ),
            )
            if isinstance(refined, StageFailure):
                # The instruction as it was is still a valid pair: the failed round is reported and undone.
                undone.append(refined)
                continue
            final_passage, final_instruction = refined.passage, refined.instruction
            goals.append(goal)
        return final_passage, final_instruction, goals, undone

    def screen_failure(self, passage: str, instruction: str) -> str | None:
        """Why the skill's instruction-only validators reject `instruction` on `passage` ("name: reason"), or None;
        always None when the program does not screen. They see the pair as the metric will (the skill's user turn),
        with no answer yet."""
        if not self.screen_instructions:
            return None
        user = {"role": "user", "content": self._skill.user_turn.build(passage, instruction)}
        view = self._skill.view([user, {"role": "assistant", "content": ""}], passage.strip())
        for validator in self._skill.validators:
            if validator.instruction_only:
                reason = validator.check(view)
                if reason:
                    return f"{validator.name}: {reason}"
        return None

    def _screened(self, passage: str, instructions: list[str], discarded: list[str]) -> list[str]:
        """The instructions that pass the screen (all of them when the program does not screen); each one dropped is
        counted in `discarded` as `screened_instruction`.

        Raises:
            InvalidOutput: None passes, so the agent's output is sampled again.
        """
        kept, reasons = [], []
        for instruction in instructions:
            reason = self.screen_failure(passage, instruction)
            if reason:
                reasons.append(reason)
            else:
                kept.append(instruction)
        if instructions and not kept:
            raise InvalidOutput(f"every instruction failed the screen ({'; '.join(reasons)})")
        discarded += ["screened_instruction"] * len(reasons)
        return kept


def _run_or_fail(stage: str, call, context: dict[str, str], **checks):
    """`_run_stage`'s result, or its `StageFailure` as a value (for calls that run side by side)."""
    try:
        return _run_stage(stage, call, context, **checks)
    except _StageFailed as failed:
        return failed.failure


def attempt_config(config: dict, attempt: int) -> dict:
    """The request settings of an `attempt`-th sample (a stage's, or a responder's own retry inside it): the first is
    the request as it was (so a draw that succeeds at once is the same request it always was); each later one gets its
    own sampling seed, hence its own sample and cache entry. Mixing rather than adding keeps nested retries apart: a
    responder's second try inside the stage's second sample is not the stage's third sample."""
    if attempt == 0:
        return config
    return {**config, "seed": (int(config.get("seed", 0)) * 1_000_003 + attempt) % 2**31}


def _run_stage(
    stage: str,
    call: Callable[[dict], Any],
    context: dict[str, str],
    *,
    config: dict,
    attempts: int = 1,
    discarded: list[str] | None = None,
    required: tuple[str, ...] = (),
    reject: Callable[[Any], str | None] | None = None,
):
    """Run one stage, `call(config)`, up to `attempts` times: an output that cannot be parsed, is empty, is invalid,
    or that `reject` objects to (it returns why) is sampled again with the next attempt's seed; after the last
    attempt it becomes the stage's `StageFailure` (its detail says how many samples were drawn); the reason of each
    output that was sampled again is appended to `discarded`. LM errors and other exceptions end the stage at once.

    A failed sample's calls are also taken out of DSPy's trace: the pipeline discarded their output, so an optimizer
    must not turn them into demonstrations.
    """
    if config.get("temperature") == 0:
        attempts = 1  # greedy decoding: every further sample would be the same output
    for attempt in range(attempts):
        try:
            return _sample_stage(stage, call, context, attempt_config(config, attempt), required, reject)
        except _StageFailed as failed:
            retryable = failed.failure.reason in ("parse_failure", "empty_output", "invalid_output")
            if not retryable or attempt == attempts - 1:
                if attempts > 1 and retryable:
                    failed.failure.detail = f"{failed.failure.detail} (after {attempts} samples)"
                raise
            if discarded is not None:
                discarded.append(failed.failure.reason)


def _sample_stage(stage, call, context, config, required, reject):
    from dspy.utils.exceptions import AdapterParseError, LMError

    trace = dspy.settings.trace
    mark = len(trace) if trace is not None else 0
    try:
        try:
            result = call(config)
        except AdapterParseError as exc:
            raise _StageFailed(StageFailure(stage, "parse_failure", _short(exc), **context)) from exc
        except InvalidOutput as exc:
            raise _StageFailed(StageFailure(stage, "invalid_output", _short(exc), **context)) from exc
        except NothingUsable as exc:
            raise _StageFailed(StageFailure(stage, "empty_output", _short(exc), **context)) from exc
        except Exception as exc:  # whatever ends this stage ends only this stage; it is reported, never dropped
            reason = "lm_error" if isinstance(exc, LMError) else "error"
            raise _StageFailed(StageFailure(stage, reason, f"{type(exc).__name__}: {_short(exc)}", **context)) from exc
        values = [getattr(result, name) for name in required] if required else [result]
        if any(not value or (isinstance(value, str) and not value.strip()) for value in values):
            raise _StageFailed(StageFailure(stage, "empty_output", "the LM returned nothing usable", **context))
        rejected = reject(result) if reject else None
        if rejected:
            raise _StageFailed(StageFailure(stage, "invalid_output", rejected, **context))
    except _StageFailed:
        if trace is not None:
            del trace[mark:]
        raise
    return result


def _broken_refinement(refined: dspy.Prediction, passage: str) -> str | None:
    """Why a refinement's output is unusable (a question that asks nothing, a passage cut to a fragment), or None."""
    from agentinstruct.metrics.validators import asks_something

    if not asks_something(refined.instruction):
        return "the edited instruction asks nothing"
    if len(refined.passage) < 0.5 * len(passage):
        return "the edited passage lost over half of the original"
    return None


def _short(exc: Exception, limit: int = 300) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
