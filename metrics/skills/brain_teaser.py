"""Validators of the brain-teaser skill: a self-contained puzzle (a question or a task), solved answer first with a
short explanation, and any arithmetic it writes out correct."""

from __future__ import annotations

import re
from functools import partial

from agentinstruct.metrics.arithmetic import arithmetic_error
from agentinstruct.metrics.grounding import numbers, sentences
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import (
    NUMERIC_QUESTION,
    Validator,
    asks_something,
    copies_demo,
    malformed_instruction,
)

MAX_ANSWER_SENTENCE_WORDS = 40
"""A first sentence longer than this is a derivation, not an answer stated up front."""

_PUZZLE_ASK = re.compile(r"\b(?:what am i|who am i|what is it|guess|riddle|solve|unscramble|figure out)\b", re.I)
_THROAT_CLEARING = re.compile(
    r"^\W*(?:let'?s\b|let us\b|to (?:solve|answer|figure|find|work|crack)\b|first(?:ly)?,|step 1\b|we (?:need|must|"
    r"can|have|should|know)\b|i (?:need|will|must|am going)\b|i'll\b|think (?:about|of)\b|hmm|to begin\b|"
    r"this is (?:a|an) (?:classic|tricky|fun|good|great|clever|famous|well-known|common|interesting) (?:puzzle|riddle|"
    r"question|one|brain ?teaser)\b|this (?:puzzle|riddle|question) (?:is|asks|requires|involves)\b|the (?:puzzle|"
    r"riddle|question) (?:asks|is asking|wants)\b|here'?s\b|in this (?:puzzle|riddle)\b)",
    re.IGNORECASE,
)
_FILLER = frozenset(
    re.findall(r"\w+", "sure okay ok great well good question interesting hmm nice alright fun puzzle riddle of course")
)
"""Words of a first sentence that is only chat filler ("Sure!", "Good question.", "What a fun riddle!")."""
_BARE_HEADING = re.compile(r"^\W*(?:answer|solution|explanation)\W*$", re.IGNORECASE)
_ANSWER_LABEL = re.compile(r"^\W*(?:answer|solution)\s*:\s*", re.IGNORECASE)
_NO_QUANTITY = frozenset(["none", "zero", "no", "nothing", "never", "nobody", "neither", "infinitely", "same"])
_REASONING_MARKER = re.compile(
    r"\bbecause\b|\bsince\b|\bso\b|\btherefore\b|\bthus\b|\bhence\b|\bwhich means\b|\bthis means\b|\bthat means\b|"
    r"\bas a result\b|\bthe reason\b|\bexplains?\b|\bmeans\b|\bthat is why\b|\bthat's why\b|=",
    re.IGNORECASE,
)
MIN_EXPLANATION_WORDS = 8


def first_sentence(response: str) -> str:
    """The response's first sentence, after a bare "Answer:" heading line if it opens with one."""
    found = [s for s in sentences(response) if not _BARE_HEADING.match(s)]
    return found[0] if found else ""


def _not_a_puzzle(view: PairView) -> str | None:
    """The instruction poses a puzzle: it asks a question or sets a task, not only states facts."""
    if asks_something(view.instruction) or _PUZZLE_ASK.search(view.instruction):
        return None
    return "the instruction is a statement, not a puzzle (no question, no task)"


def _malformed(view: PairView) -> str | None:
    """`malformed_instruction` without its bullet rule: a logic riddle may list its clues as bullets."""
    reason = malformed_instruction(view)
    return None if reason == "the instruction is a list of notes" else reason


def _answer_not_first(view: PairView) -> str | None:
    """The first sentence states the answer: it is not a question, not throat-clearing ("Let's think ..."), not a long
    derivation, and for a question that asks for a number it holds one."""
    first = first_sentence(view.response)
    if not first:
        return "the response has no first sentence"
    if first.rstrip().endswith("?"):
        return f"the response opens with a question, not the answer: '{first[:80]}'"
    if _THROAT_CLEARING.search(_ANSWER_LABEL.sub("", first)):
        return f"the response opens with working, not the answer: '{first[:80]}'"
    if set(words(first)) <= _FILLER:
        return f"the response opens with filler, not the answer: '{first[:80]}'"
    if len(words(first)) > MAX_ANSWER_SENTENCE_WORDS:
        return f"the first sentence runs {len(words(first))} words: a derivation, not the answer up front"
    if NUMERIC_QUESTION.search(_last_question(view.instruction)) and not (
        numbers(first) or _NO_QUANTITY & set(words(first)) or re.search(r"\d", first)
    ):
        return f"the puzzle asks for a number, and the first sentence gives none: '{first[:80]}'"
    return None


def _last_question(instruction: str) -> str:
    """The sentence of the instruction that asks (its last one with a question mark, else its last sentence)."""
    found = sentences(instruction)
    asking = [s for s in found if "?" in s]
    return (asking or list(found) or [""])[-1]


def _no_explanation(view: PairView) -> str | None:
    """After the answer, the response explains it: a reasoning word ("because", "since", "so", "=") or at least one
    further sentence of some length."""
    first = first_sentence(view.response)
    rest = view.response.split(first, 1)[1] if first and first in view.response else ""
    if _REASONING_MARKER.search(view.response) and len(words(view.response)) >= MIN_EXPLANATION_WORDS:
        return None
    if len(words(rest)) >= MIN_EXPLANATION_WORDS:
        return None
    return "the response gives an answer without explaining it (no 'because', 'since' or reasoning sentence)"


def _wrong_arithmetic(view: PairView) -> str | None:
    error = arithmetic_error(view.response)
    return f"the response's arithmetic is wrong: {error}" if error else None


VALIDATORS: tuple[Validator, ...] = (
    Validator("not_a_puzzle", _not_a_puzzle),
    Validator("malformed_instruction", _malformed, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="brain_teaser"), instruction_only=True),
    Validator("answer_not_first", _answer_not_first),
    Validator("no_explanation", _no_explanation),
    Validator("wrong_arithmetic", _wrong_arithmetic),
)
