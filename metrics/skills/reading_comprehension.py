"""Validators of the reading-comprehension skill: a well-formed question about the passage, answered from it."""

from functools import partial

from agentinstruct.metrics.validators import (
    Validator,
    _answers_the_question,
    _constraint_violated,
    _contradicts_passage,
    _copies_demo,
    _copies_passage,
    _invented_details,
    _malformed_instruction,
    _misplaced_fact,
    _no_question,
    _off_topic,
    _option_picked,
    _unsupported_statement,
)

VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", _no_question),
    Validator("malformed_instruction", _malformed_instruction),
    Validator("copies_demo", partial(_copies_demo, skill="reading_comprehension")),
    Validator("off_topic", _off_topic, partial(_off_topic, min_share=0.5)),
    Validator("copies_passage", _copies_passage),
    Validator("invented_details", _invented_details),
    Validator("misplaced_fact", _misplaced_fact),
    Validator(
        "unsupported_statement",
        _unsupported_statement,
        partial(_unsupported_statement, min_support=0.6, min_stems=3),
    ),
    Validator("contradicts_passage", _contradicts_passage),
    Validator("mcq_answer_not_an_option", _option_picked),
    Validator("unanswered", _answers_the_question),
    Validator("constraint_violated", _constraint_violated),
)
