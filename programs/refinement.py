"""Instruction Refinement Flow as a DSPy module: a Suggester and an Editor per refinement goal."""

from __future__ import annotations

from collections.abc import Sequence

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.agents import RefinementGoal
from agentinstruct.signatures.refinement import EditInstruction, EditPassage, SuggestRefinements


class Refinement(dspy.Module):
    """One refinement round: the goal's Suggester proposes changes, its Editor applies them."""

    def __init__(self, goals: Sequence[RefinementGoal], demo_passage: str) -> None:
        super().__init__()
        self.goals = {goal.name: goal for goal in goals}
        self.suggesters = {}
        self.editors = {}
        for goal in goals:
            suggester = StarterPredict(
                SuggestRefinements.with_instructions(f"{SuggestRefinements.instructions} Goal: {goal.instruction}"),
                [dspy.Example(passage=demo_passage, question=goal.demo_instruction, suggestions=goal.demo_suggestions)],
            )
            base = EditInstruction if goal.edits == "instruction" else EditPassage
            demo = dict(passage=demo_passage, question=goal.demo_instruction, suggestions=goal.demo_suggestions)
            output = "revised_question" if goal.edits == "instruction" else "revised_passage"
            editor = StarterPredict(
                base.with_instructions(f"{base.instructions} Goal: {goal.instruction}"),
                [dspy.Example(**demo, **{output: goal.demo_revision})],
            )
            self.suggesters[goal.name] = suggester
            self.editors[goal.name] = editor

    def forward(self, passage: str, instruction: str, goal: str, config: dict | None = None) -> dspy.Prediction:
        config = config or {}
        suggestions = self.suggesters[goal](passage=passage, question=instruction, config=config).suggestions
        edited = self.editors[goal](passage=passage, question=instruction, suggestions=suggestions, config=config)
        if self.goals[goal].edits == "instruction":
            return dspy.Prediction(
                passage=passage, instruction=edited.revised_question.strip(), suggestions=suggestions
            )
        return dspy.Prediction(passage=edited.revised_passage.strip(), instruction=instruction, suggestions=suggestions)
