"""Seed Instruction Generation Flow: one agent per instruction type writes instructions from transformed content."""

import dspy


class GenerateInstructions(dspy.Signature):
    """Write questions of the given type that can be answered from the passage alone."""

    passage: str = dspy.InputField(desc="The text the questions are about.")
    questions: str = dspy.OutputField(
        desc="One to three self-contained questions, one per line, each answerable from the passage alone."
    )
