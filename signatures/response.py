"""The teacher's response to a final instruction."""

import dspy


class Respond(dspy.Signature):
    """Answer the question using only the passage: answer first, then a short justification from the passage.
    If the passage does not contain the answer, say so and explain what is missing."""

    passage: str = dspy.InputField(desc="The text the question is about.")
    question: str = dspy.InputField(desc="The question to answer.")
    answer: str = dspy.OutputField(desc="A correct, grounded answer in one to four sentences.")
