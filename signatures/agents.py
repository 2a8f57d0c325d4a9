"""Specifications of the agents that make up a skill's flows.

An agent spec is prompt data: the instruction that becomes a signature's docstring and a worked demonstration
that is attached to the predictor as a starter demo. Small base models (the embedded default) follow a worked
example far more reliably than a written instruction, so every agent ships one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

IDENTITY = "identity"
"""The transformation agent that keeps the seed as it is (the paper's identity agent): it needs no LM call."""

ALL_TRANSFORMATIONS: tuple[str, ...] = ()
"""Sentinel for `InstructionType.transformations`: the type is eligible after any transformation."""


@dataclass(frozen=True)
class TransformationAgent:
    """One content-transformation agent: rewrites a raw seed into an intermediate form.

    Attributes:
        name: Stable identifier, recorded as the record's `transformation`.
        instruction: What the agent does; becomes the signature docstring an optimizer may rewrite.
        demo_output: The agent's output for the skill's demo passage.
    """

    name: str
    instruction: str
    demo_output: str


@dataclass(frozen=True)
class InstructionType:
    """One entry of a skill's instruction taxonomy, owned by one instruction-generation agent.

    Attributes:
        name: Stable identifier, recorded as the record's `instruction_type`.
        instruction: How to write instructions of this type.
        demo_instructions: Two or three instructions of this type written for the demo passage, one per line.
        transformations: Names of the transformations after which this type is eligible; empty means all.
    """

    name: str
    instruction: str
    demo_instructions: str
    transformations: tuple[str, ...] = field(default=ALL_TRANSFORMATIONS)

    def eligible_after(self, transformation: str) -> bool:
        return not self.transformations or transformation in self.transformations


@dataclass(frozen=True)
class RefinementGoal:
    """One Suggester/Editor goal of the instruction-refinement flow.

    Attributes:
        name: Stable identifier.
        instruction: The goal, as told to both the Suggester and the Editor.
        edits: Whether the Editor rewrites the instruction or the passage.
        demo_instruction: An instruction on the demo passage, before refinement.
        demo_suggestions: The Suggester's output for `demo_instruction`.
        demo_revision: The Editor's output: the revised instruction, or the revised passage.
    """

    name: str
    instruction: str
    edits: Literal["instruction", "passage"]
    demo_instruction: str
    demo_suggestions: str
    demo_revision: str
