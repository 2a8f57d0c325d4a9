"""Instruction Refinement Flow as a DSPy module: a Suggester and an Editor per refinement goal."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.agents import RefinementGoal
from agentinstruct.signatures.refinement import edit_instruction_signature, edit_source_signature, suggest_signature
from agentinstruct.signatures.skill_data import Wording


class Refinement(dspy.Module):
    """One refinement round: the goal's Suggester proposes changes, its Editor applies them."""

    def __init__(self, goals: Sequence[RefinementGoal], demo_source: str, wording: Wording) -> None:
        super().__init__()
        self.goals = {goal.name: goal for goal in goals}
        self._source, self._instruction = wording.source, wording.instruction
        suggest = suggest_signature(wording)
        self.suggesters = {}
        self.editors = {}
        for goal in goals:
            demo = {self._source: demo_source, self._instruction: goal.demo_instruction}
            suggester = StarterPredict(
                suggest.with_instructions(f"{suggest.instructions} Goal: {goal.instruction}"),
                [dspy.Example(**demo, suggestions=goal.demo_suggestions)],
            )
            base = (
                edit_instruction_signature(wording) if goal.edits == "instruction" else edit_source_signature(wording)
            )
            editor = StarterPredict(
                base.with_instructions(f"{base.instructions} Goal: {goal.instruction}"),
                [dspy.Example(**demo, suggestions=goal.demo_suggestions, **{self._output(goal): goal.demo_revision})],
            )
            self.suggesters[goal.name] = suggester
            self.editors[goal.name] = editor

    def _output(self, goal: RefinementGoal) -> str:
        return f"revised_{self._instruction if goal.edits == 'instruction' else self._source}"

    def forward(self, passage: str, instruction: str, goal: str, config: dict | None = None) -> dspy.Prediction:
        config = config or {}
        inputs = {self._source: passage, self._instruction: instruction}
        suggestions = self.suggesters[goal](**inputs, config=config).suggestions
        edited = getattr(
            self.editors[goal](**inputs, suggestions=suggestions, config=config), self._output(self.goals[goal])
        ).strip()
        if self.goals[goal].edits == "instruction":
            return dspy.Prediction(passage=passage, instruction=edited, suggestions=suggestions)
        return dspy.Prediction(passage=edited, instruction=instruction, suggestions=suggestions)
