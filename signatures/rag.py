"""The retrieval-augmented teacher: answers a question from the numbered passages that hold its answer, citing them.

Skill-neutral in its field names (the skill's nouns, see `instruction.py`); the docstring is the skill's response
instruction (from its data file).
"""

from functools import lru_cache

import dspy

from agentinstruct.signatures.skill_data import Wording


@lru_cache(maxsize=16)
def cited_answer_signature(wording: Wording, instruction: str) -> type[dspy.Signature]:
    """`<source>, <instruction> -> <response>`, the source being numbered passages ("[2] ...")."""
    source, question, answer = wording.source, wording.instruction, wording.response
    return dspy.Signature(
        {
            source: (
                str,
                dspy.InputField(desc=f"Retrieved {source}s that hold the answer, each after its number in brackets."),
            ),
            question: (str, dspy.InputField(desc=f"The {question} to answer.")),
            answer: (
                str,
                dspy.OutputField(
                    desc=f"A short {answer} taken from the {source}s, each statement followed by the number of the "
                    f"{source} it comes from, like [2]."
                ),
            ),
        },
        instruction,
    )
