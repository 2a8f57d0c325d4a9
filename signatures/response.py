"""The teacher's response to a final instruction: a skill-neutral signature named with the skill's nouns, whose
docstring is the skill's response instruction (from its data file)."""

from functools import lru_cache

import dspy

from agentinstruct.signatures.skill_data import Wording


@lru_cache(maxsize=64)
def response_signature(wording: Wording, instruction: str) -> type[dspy.Signature]:
    """`<source>, <instruction> -> <response>`."""
    return dspy.Signature(
        {
            wording.source: (str, dspy.InputField(desc=f"The {wording.source} the {wording.instruction} is about.")),
            wording.instruction: (str, dspy.InputField(desc=f"The {wording.instruction} to respond to.")),
            wording.response: (
                str,
                dspy.OutputField(
                    desc=f"A correct, complete {wording.response} in the format the {wording.instruction} asks for."
                ),
            ),
        },
        instruction,
    )
