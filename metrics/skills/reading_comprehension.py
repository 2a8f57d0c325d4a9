"""Validators of the reading-comprehension skill: a well-formed question about the passage, answered from it."""

from functools import partial

from agentinstruct.metrics.validators import (
    Validator,
    answers_the_question,
    constraint_violated,
    contradicts_passage,
    copies_demo,
    copies_passage,
    invented_details,
    malformed_instruction,
    misplaced_fact,
    no_question,
    off_topic,
    option_picked,
    unsupported_statement,
)

VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", no_question, instruction_only=True),
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="reading_comprehension"), instruction_only=True),
    Validator("off_topic", off_topic, partial(off_topic, min_share=0.5), instruction_only=True),
    Validator("copies_passage", copies_passage),
    Validator("invented_details", invented_details),
    Validator("misplaced_fact", misplaced_fact),
    Validator(
        "unsupported_statement",
        unsupported_statement,
        partial(unsupported_statement, min_support=0.6, min_stems=3),
    ),
    Validator("contradicts_passage", contradicts_passage),
    Validator("mcq_answer_not_an_option", option_picked),
    Validator("unanswered", answers_the_question),
    Validator("constraint_violated", constraint_violated),
)
