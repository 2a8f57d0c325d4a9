"""The skill registry: a skill is its data file, its validators and one line here.

`Skill` is the one place a skill is assembled. Its prompt text (transformation agents, instruction taxonomy,
refinement goals, responder instruction and demos, wording) comes from `signatures/skills/<name>.yaml`, checked on
load; its validators from `metrics/skills/<name>.py` (`VALIDATORS`); and the line in `_BEHAVIOUR` below says how its
user turn is built and which responder answers. Generate-time filtering and compile-time scoring both score what
`Skill.view` returns.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from agentinstruct.errors import UserError
from agentinstruct.signatures.agents import InstructionType, RefinementGoal, TransformationAgent
from agentinstruct.signatures.skill_data import SkillData, SkillDataError, Wording, available_skills, data_path
from agentinstruct.signatures.skill_data import load_skill_data as _load_data

if TYPE_CHECKING:
    from agentinstruct.metrics.text import PairView
    from agentinstruct.metrics.validators import Validator


@dataclass(frozen=True)
class UserTurn:
    """How a skill's user message is made from the final source text and instruction, and read back."""

    name: str
    carries_source: bool
    """Whether the user turn holds the source text; when not, records keep it in their `context` column."""

    def build(self, source: str, instruction: str) -> str:
        return f"{source.strip()}\n\n{instruction.strip()}" if self.carries_source else instruction.strip()


PASSAGE_THEN_INSTRUCTION = UserTurn("passage_then_instruction", carries_source=True)
"""The source, a blank line, then what to do with it (reading comprehension, extraction, classification, ...)."""
INSTRUCTION_ONLY = UserTurn("instruction_only", carries_source=False)
"""A self-contained instruction; the source stays in the record's lineage (open-domain QA, puzzles, Fermi, ...)."""
RETRIEVED_PASSAGES_THEN_QUESTION = UserTurn("retrieved_passages_then_question", carries_source=False)
"""Numbered retrieved passages ("[1] ...", a blank line apart), then the question: the responder writes it; the
relevant source stays in the record's `context` (retrieval-augmented generation)."""
SOURCE_THEN_CONVERSATION = UserTurn("source_then_conversation", carries_source=False)
"""A conversation whose first user turn opens with the source (its responder writes every turn); the source is also
kept in the record's `context`, since later user turns have none and the metrics ground every answer in it."""


@dataclass(frozen=True)
class Behaviour:
    """What of a skill is code: its user turn and its responder (a factory of the pipeline's `Response` module)."""

    user_turn: UserTurn = PASSAGE_THEN_INSTRUCTION
    responder: Callable[[Skill], object] | None = None
    """None: the plain responder (answers from the source with the skill's response instruction and demos).

    Otherwise a factory of a DSPy module called as `responder(passage=..., instruction=..., config=...)` that returns
    a `dspy.Prediction` with `answer` (the final assistant text; empty fails the stage as `empty_output`) and, where
    the skill needs them, `messages` (the whole conversation in OpenAI's shape: `role`, `content`, `tool_calls` with
    JSON-text `arguments`, `tool_call_id`, `name`; without a leading user turn the skill's user turn is put first),
    `tools` (the OpenAI function schemas offered) and `execution` (the sandbox outcome, `records.EXECUTION_KEYS`).
    Raising `programs.pipeline.InvalidOutput(why)` fails the stage as `invalid_output`. A responder whose `forward`
    takes an `instruction_type` keyword is also given the instruction's type (a conversation's kind sets how it
    follows up)."""
    transform: Callable[[str, str, dict], str | None] | None = None
    """A skill's transformations made by code rather than by the model, where code does them better: called as
    `transform(seed text, transformation name, config)` before the transformation's LM agent (or the identity); a
    string it returns is the transformed text (no LM call), None leaves the seed to the agent. Raising
    `programs.pipeline.InvalidOutput(why)` fails the transformation stage at once, before any LM call: for a seed
    whose kind cannot make that transformation's tasks."""
    runs_code: bool = False
    """Whether the responder runs generated code (in `agentinstruct.sandbox`): a job refuses to start where the sandbox
    cannot run, rather than spend LM calls on pairs that could never be verified."""
    uses_corpus: bool = False
    """Whether the responder retrieves from the job's other seeds. The runner then puts the job's seeds into the
    `UnitSpec` (`programs.retrieval.job_corpus`; a job needs at least two), the worker (and compile) sets the
    pipeline's `corpus` to a `programs.retrieval.Retriever` over them, and the responder is also called with
    `retriever=`, `seed_id=` (the unit's seed, whose passages it must not retrieve) and `instruction_type=`."""


# Responder factories import their module when a pipeline is built, so loading the registry stays light.


def _coding(skill: Skill) -> object:
    from agentinstruct.programs.coding import coding_responder

    return coding_responder(skill)


def _coding_transform(text: str, transformation: str, config: dict) -> str | None:
    from agentinstruct.programs.coding import transform_seed

    return transform_seed(text, transformation, config)


def _tool_use(skill: Skill) -> object:
    from agentinstruct.programs.tool_use import tool_use_responder

    return tool_use_responder(skill)


def _web_agent(skill: Skill) -> object:
    from agentinstruct.programs.web_agent import web_agent_responder

    return web_agent_responder(skill)


def _rag_responder(skill: Skill) -> object:
    from agentinstruct.programs.rag import RagResponder

    return RagResponder(skill)


def _calculator(skill: Skill) -> object:
    """The plain responder, with every arithmetic step of its answer checked (and corrected) with the calculator."""
    from agentinstruct.programs.calculator import calculator_responder

    return calculator_responder(skill)


def _conversation(skill: Skill) -> object:
    from agentinstruct.programs.conversation import Conversation

    return Conversation(skill)


_BEHAVIOUR: dict[str, Behaviour] = {
    "reading_comprehension": Behaviour(),
    "text_modification": Behaviour(),
    "open_domain_qa": Behaviour(user_turn=INSTRUCTION_ONLY),
    "multiple_choice": Behaviour(),
    "text_extraction": Behaviour(),
    "text_classification": Behaviour(),
    "brain_teaser": Behaviour(user_turn=INSTRUCTION_ONLY),
    "analytical_reasoning": Behaviour(user_turn=INSTRUCTION_ONLY, responder=_calculator),
    "fermi": Behaviour(user_turn=INSTRUCTION_ONLY, responder=_calculator),
    "few_shot_reasoning": Behaviour(user_turn=INSTRUCTION_ONLY),
    "data_to_text": Behaviour(),
    "creative_content": Behaviour(),
    "coding": Behaviour(responder=_coding, transform=_coding_transform, runs_code=True),
    "tool_use": Behaviour(user_turn=INSTRUCTION_ONLY, responder=_tool_use),
    "web_agent": Behaviour(responder=_web_agent),
    "rag": Behaviour(user_turn=RETRIEVED_PASSAGES_THEN_QUESTION, responder=_rag_responder, uses_corpus=True),
    "conversation": Behaviour(user_turn=SOURCE_THEN_CONVERSATION, responder=_conversation),
}
"""One line per skill. A skill is registered when it has a line here and a data file."""


@dataclass(frozen=True)
class Skill:
    """Everything that makes one AgentInstruct skill, as the generic pipeline and the metrics consume it."""

    data: SkillData
    behaviour: Behaviour

    @property
    def name(self) -> str:
        return self.data.name

    @property
    def description(self) -> str:
        return self.data.description

    @property
    def wording(self) -> Wording:
        return self.data.wording

    @property
    def seed_kinds(self) -> tuple[str, ...]:
        return self.data.seed_kinds

    @property
    def demo_passage(self) -> str:
        return self.data.demo_source

    @property
    def transformations(self) -> tuple[TransformationAgent, ...]:
        return self.data.transformations

    @property
    def instruction_types(self) -> tuple[InstructionType, ...]:
        return self.data.instruction_types

    @property
    def refinement_goals(self) -> tuple[RefinementGoal, ...]:
        return self.data.refinement_goals

    @property
    def response_instruction(self) -> str:
        return self.data.response_instruction

    @property
    def response_demos(self) -> tuple[tuple[str, str], ...]:
        return self.data.response_demos

    @property
    def user_turn(self) -> UserTurn:
        return self.behaviour.user_turn

    @cached_property
    def validators(self) -> tuple[Validator, ...]:
        """The skill's own validators (`metrics/skills/<name>.py`), run after the generic ones."""
        try:
            module = importlib.import_module(f"agentinstruct.metrics.skills.{self.name}")
        except ModuleNotFoundError:
            return ()
        return tuple(module.VALIDATORS)

    def check_runnable(self) -> None:
        """Refuse a job this machine cannot run, before any LM call.

        Raises:
            UserError: The skill runs the code it writes, and the sandbox cannot run here.
        """
        if self.behaviour.runs_code:
            from agentinstruct.sandbox import sandbox_available

            reason = sandbox_available()
            if reason is not None:
                raise UserError(f"the {self.name} skill runs the code it writes in a sandbox, unusable here: {reason}")

    def eligible_types(self, transformation: str) -> list[InstructionType]:
        return [t for t in self.instruction_types if t.eligible_after(transformation)]

    def view(self, messages: list[dict], context: str | None = None) -> PairView:
        """What the metrics score of a record: the source it is grounded in, its last instruction and response."""
        from agentinstruct.metrics.text import view_of

        return view_of(messages, None if self.user_turn.carries_source else context)

    def demo_texts(self) -> list[str]:
        """Every worked example's text: what a model that ignores its input copies instead."""
        texts = [self.demo_passage]
        texts += [agent.demo_output for agent in self.transformations]
        texts += [kind.demo_instructions for kind in self.instruction_types]
        texts += [text for goal in self.refinement_goals for text in (goal.demo_instruction, goal.demo_revision)]
        texts += [text for pair in self.response_demos for text in pair]
        return texts


def skill_names() -> list[str]:
    """Registered skills: a line in the registry and a data file."""
    return sorted(set(_BEHAVIOUR) & set(available_skills()))


@lru_cache(maxsize=64)
def get_skill(name: str) -> Skill:
    """Look a skill up by name, loading (and checking) its data file.

    Raises:
        UserError: No skill has that name, or its data file is broken.
    """
    if name not in skill_names():
        raise UserError(f"unknown skill '{name}' (available: {', '.join(skill_names())})")
    try:
        return Skill(_load_data(data_path(name)), _BEHAVIOUR[name])
    except SkillDataError as exc:
        raise UserError(str(exc)) from exc
