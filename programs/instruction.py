"""Seed Instruction Generation Flow as a DSPy module: one predictor per instruction type of the taxonomy."""

from __future__ import annotations

import re
from collections.abc import Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.agents import InstructionType, TransformationAgent
from agentinstruct.signatures.instruction import instruction_signature, plural
from agentinstruct.signatures.skill_data import Wording

_LIST_PREFIX = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)]|Q\d*[:.)]|Question\s*\d*[:.)])\s*", re.IGNORECASE)
MIN_INSTRUCTION_WORDS = 4


_TRIPLE_QUOTES = re.compile(r'^\s*(?:"""|\'\'\'|#+)\s*|\s*(?:"""|\'\'\')\s*$')
_QUOTE_PAIRS = {'"': '"', "'": "'", "\u201c": "\u201d"}


def clean_instruction(line: str) -> str:
    """An instruction without the list marker or `Question:` label a model may put before it, the docstring quotes or
    comment mark a small model writing about code often wraps it in, or quotes around the whole line."""
    line = _TRIPLE_QUOTES.sub("", _LIST_PREFIX.sub("", line)).strip()
    if len(line) > 2 and _QUOTE_PAIRS.get(line[0]) == line[-1] and line[0] not in line[1:-1]:
        line = line[1:-1].strip()
    return line


def split_instructions(text: str, limit: int) -> list[str]:
    """The distinct instructions in an agent's output: one per line, list markers removed, and lines that are
    fragments or ask nothing dropped (they would only be rejected after costing a refinement and a response)."""
    from agentinstruct.metrics.validators import asks_something

    found: list[str] = []
    for line in text.splitlines():
        line = clean_instruction(line)
        if len(line.split()) >= MIN_INSTRUCTION_WORDS and asks_something(line) and line not in found:
            found.append(line)
    return found[:limit]


class InstructionGeneration(dspy.Module):
    """Writes instructions of one type from a source text; each type's agent starts with a demo on the demo source.

    Where the source went through a transformation, the worked example's input is that transformation's own output
    for the demo source (a page sketch for a page, the buggy version for a planted bug): a small base model continues
    what its example shows, and an example made from prose in front of a page sketch taught it to continue the sketch.
    """

    def __init__(
        self,
        types: Sequence[InstructionType],
        demo_source: str,
        wording: Wording,
        per_agent: int = 2,
        transformations: Sequence[TransformationAgent] = (),
    ) -> None:
        super().__init__()
        self.per_agent = per_agent
        self._source, self._noun, self._output = wording.source, wording.instruction, plural(wording.instruction)
        self._demo_inputs = {agent.name: agent.demo_output for agent in transformations if agent.demo_output}
        self._demo_instructions = {kind.name: kind.demo_instructions for kind in types}
        signature = instruction_signature(wording)
        self.agents = {}
        for kind in types:
            predictor = StarterPredict(
                signature.with_instructions(kind.instruction),
                [dspy.Example(**{self._source: demo_source, self._output: kind.demo_instructions})],
            )
            self.agents[kind.name] = predictor

    def forward(
        self, passage: str, instruction_type: str, config: dict | None = None, transformation: str | None = None
    ) -> dspy.Prediction:
        from agentinstruct.programs.pipeline import NothingUsable

        agent = self.agents[instruction_type]
        extra = {}
        demo_input = self._demo_inputs.get(transformation or "")
        if demo_input:
            starter = dspy.Example(
                **{self._source: demo_input, self._output: self._demo_instructions[instruction_type]}
            )
            extra["demos"] = [*agent.demos, starter]  # what an optimizer set, then the starter nearest the input
        raw = getattr(agent(**{self._source: passage}, config=config or {}, **extra), self._output)
        instructions = split_instructions(raw, self.per_agent)
        if not instructions:
            shown = " ".join((raw or "").split())
            said = f"'{shown[:160]}...'" if len(shown) > 160 else f"'{shown}'" if shown else "nothing"
            raise NothingUsable(f"no {self._noun} that asks something on a line of its own in {said}")
        return dspy.Prediction(instructions=instructions, raw=raw)
