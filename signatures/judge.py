"""The LLM judge's rubric: a reference-free 1-5 rating of one instruction-response pair."""

import dspy


class JudgePair(dspy.Signature):
    """Rate the instruction-response pair from 1 (poor) to 5 (excellent) on each criterion, using only what is shown.
    relevance: the instruction is about the passage. answerability: the response answers it correctly from the
    passage (or rightly says the passage does not tell). clarity: the instruction is clear and self-contained.
    difficulty: answering takes real reading or reasoning, not copying. helpfulness: the response is complete,
    concise and justified."""

    passage: str = dspy.InputField(desc="The source text the instruction is about (may be empty).")
    instruction: str = dspy.InputField(desc="The instruction or question.")
    response: str = dspy.InputField(desc="The response to rate.")
    relevance: int = dspy.OutputField(desc="1-5")
    answerability: int = dspy.OutputField(desc="1-5")
    clarity: int = dspy.OutputField(desc="1-5")
    difficulty: int = dspy.OutputField(desc="1-5")
    helpfulness: int = dspy.OutputField(desc="1-5")
    rationale: str = dspy.OutputField(desc="One sentence explaining the lowest rating.")
