"""Instruction Refinement Flow: a Suggester proposes how to reach a goal, an Editor rewrites accordingly.

Skill-neutral signatures named with the skill's nouns (see `instruction.py`); the goal is added to the docstring.
"""

from functools import lru_cache

import dspy

from agentinstruct.signatures.skill_data import Wording


def _inputs(wording: Wording) -> dict:
    source, instruction = wording.source, wording.instruction
    return {
        source: (str, dspy.InputField(desc=f"The {source} the {instruction} is about.")),
        instruction: (str, dspy.InputField(desc=f"The {instruction} to refine.")),
    }


@lru_cache(maxsize=64)
def suggest_signature(wording: Wording) -> type[dspy.Signature]:
    """`<source>, <instruction> -> suggestions`."""
    return dspy.Signature(
        {
            **_inputs(wording),
            "suggestions": (str, dspy.OutputField(desc="Two or three short, concrete suggestions, one per line.")),
        },
        f"Suggest concrete ways to change the {wording.instruction} (or its {wording.source}) to reach the refinement "
        "goal.",
    )


@lru_cache(maxsize=64)
def edit_instruction_signature(wording: Wording) -> type[dspy.Signature]:
    """`<source>, <instruction>, suggestions -> revised_<instruction>`."""
    return dspy.Signature(
        {
            **_inputs(wording),
            "suggestions": (str, dspy.InputField(desc="How to change it.")),
            f"revised_{wording.instruction}": (
                str,
                dspy.OutputField(desc=f"The rewritten {wording.instruction}, self-contained, on one line."),
            ),
        },
        f"Rewrite the {wording.instruction} following the suggestions, to reach the refinement goal.",
    )


@lru_cache(maxsize=64)
def edit_source_signature(wording: Wording) -> type[dspy.Signature]:
    """`<source>, <instruction>, suggestions -> revised_<source>`."""
    return dspy.Signature(
        {
            **_inputs(wording),
            "suggestions": (str, dspy.InputField(desc=f"How to change the {wording.source}.")),
            f"revised_{wording.source}": (
                str,
                dspy.OutputField(desc=f"The full {wording.source} with the minimal change applied."),
            ),
        },
        f"Rewrite the {wording.source} minimally, following the suggestions, to reach the refinement goal.",
    )
