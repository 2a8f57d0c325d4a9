"""The skill registry: a skill is data (agents, taxonomy, refinement goals, response policy), not a new pipeline."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from agentinstruct.errors import UserError
from agentinstruct.seeds import SeedKind
from agentinstruct.signatures.agents import InstructionType, RefinementGoal, TransformationAgent


def passage_then_instruction(passage: str, instruction: str) -> str:
    """The user turn of a text-grounded skill: the passage, then what to do with it."""
    return f"{passage.strip()}\n\n{instruction.strip()}"


@dataclass(frozen=True)
class Skill:
    """Everything that makes one AgentInstruct skill, as the generic pipeline consumes it.

    Attributes:
        name: Registry key, recorded as each record's `skill`.
        description: One line for `--help` and docs.
        demo_passage: The passage the starter demos of every agent are written on.
        transformations: Content-transformation agents; one is drawn per seed.
        instruction_types: The instruction taxonomy; each type is one instruction-generation agent.
        refinement_goals: Suggester/Editor goals; one is drawn per refinement round.
        response_demos: (instruction, response) starter demos for the teacher.
        seed_kinds: The seed kinds the skill uses.
        user_turn: Builds the user message from the final passage and instruction.
    """

    name: str
    description: str
    demo_passage: str
    transformations: tuple[TransformationAgent, ...]
    instruction_types: tuple[InstructionType, ...]
    refinement_goals: tuple[RefinementGoal, ...]
    response_demos: tuple[tuple[str, str], ...]
    seed_kinds: tuple[SeedKind, ...] = ("text",)
    user_turn: Callable[[str, str], str] = passage_then_instruction

    def eligible_types(self, transformation: str) -> list[InstructionType]:
        return [t for t in self.instruction_types if t.eligible_after(transformation)]

    def demo_texts(self) -> list[str]:
        """Every worked example's text: what a model that ignores its input copies instead."""
        texts = [self.demo_passage]
        texts += [agent.demo_output for agent in self.transformations]
        texts += [kind.demo_instructions for kind in self.instruction_types]
        texts += [text for goal in self.refinement_goals for text in (goal.demo_instruction, goal.demo_revision)]
        texts += [text for pair in self.response_demos for text in pair]
        return texts


def _reading_comprehension() -> Skill:
    from agentinstruct.signatures import reading_comprehension as rc

    return Skill(
        name="reading_comprehension",
        description="Questions about a passage (43-type taxonomy in the paper), answered from the passage.",
        demo_passage=rc.DEMO_PASSAGE,
        transformations=rc.TRANSFORMATIONS,
        instruction_types=rc.QUESTION_TYPES,
        refinement_goals=rc.REFINEMENT_GOALS,
        response_demos=rc.RESPONSE_DEMOS,
    )


_FACTORIES: dict[str, Callable[[], Skill]] = {"reading_comprehension": _reading_comprehension}


def skill_names() -> list[str]:
    return sorted(_FACTORIES)


def get_skill(name: str) -> Skill:
    """Look a skill up by name.

    Raises:
        UserError: No skill has that name.
    """
    factory = _FACTORIES.get(name)
    if factory is None:
        raise UserError(f"unknown skill '{name}' (available: {', '.join(skill_names())})")
    return factory()
