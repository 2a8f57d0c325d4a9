"""Instruction Refinement Flow: a Suggester proposes how to reach a goal, an Editor rewrites accordingly."""

import dspy


class SuggestRefinements(dspy.Signature):
    """Suggest concrete ways to change the question (or its passage) to reach the refinement goal."""

    passage: str = dspy.InputField(desc="The text the question is about.")
    question: str = dspy.InputField(desc="The question to refine.")
    suggestions: str = dspy.OutputField(desc="Two or three short, concrete suggestions, one per line.")


class EditInstruction(dspy.Signature):
    """Rewrite the question following the suggestions, to reach the refinement goal."""

    passage: str = dspy.InputField(desc="The text the question is about.")
    question: str = dspy.InputField(desc="The question to refine.")
    suggestions: str = dspy.InputField(desc="How to change it.")
    revised_question: str = dspy.OutputField(desc="The rewritten question, self-contained, on one line.")


class EditPassage(dspy.Signature):
    """Rewrite the passage minimally, following the suggestions, to reach the refinement goal."""

    passage: str = dspy.InputField(desc="The text the question is about.")
    question: str = dspy.InputField(desc="The question whose answer the edit targets.")
    suggestions: str = dspy.InputField(desc="How to change the passage.")
    revised_passage: str = dspy.OutputField(desc="The full passage with the minimal change applied.")
