"""Seed Instruction Generation Flow: one agent per instruction type writes instructions from transformed content.

The signature is skill-neutral: its fields are named with the skill's own nouns (`passage` / `questions` for reading
comprehension, `text` / `instructions` for text modification), so a base model reads a natural document; each type's
agent sets the docstring to its definition.
"""

from functools import lru_cache

import dspy

from agentinstruct.signatures.skill_data import Wording


def plural(noun: str) -> str:
    return noun if noun.endswith("s") else f"{noun}s"


@lru_cache(maxsize=64)
def instruction_signature(wording: Wording) -> type[dspy.Signature]:
    """`<source> -> <instructions>`: one to three instructions of the agent's type, one per line."""
    many = plural(wording.instruction)
    return dspy.Signature(
        {
            wording.source: (str, dspy.InputField(desc=f"The {wording.source} the {many} are about.")),
            many: (
                str,
                dspy.OutputField(
                    desc=f"One to three self-contained {many}, one per line, each answerable from the {wording.source}."
                ),
            ),
        },
        f"Write {many} of the given type from the {wording.source}.",
    )
