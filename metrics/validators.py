"""Deterministic validators: fast rule checks that each name one way a pair is unusable, with a readable reason.

A record passes when no validator fails. Validators see a `PairView` (passage, instruction, response); skills add
their own checks through `SKILL_VALIDATORS`.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from agentinstruct.metrics.text import PairView, content_words, words

Check = Callable[[PairView], str | None]
"""Returns why the pair fails, or None when it passes."""

MIN_INSTRUCTION_WORDS = 3
MAX_INSTRUCTION_CHARS = 2000
MAX_RESPONSE_CHARS = 6000
_DIGIT_RUN = re.compile(r"\d[\d\s,.]{14,}\d")
_OPTION = re.compile(r"\(([A-Ha-h])\)\s*([^()]+?)(?=\s*\([A-Ha-h]\)|$)")
_QUESTION_START = re.compile(
    r"^(which|what|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|would|should|will|"
    r"according|identify|list|name|explain|describe|summarize|summarise|compare|contrast|match|order|arrange|rank|"
    r"choose|select|fill|complete|decide|determine|state|give|find|calculate|compute|estimate|true or false|"
    r"rewrite|write|classify|evaluate|discuss|infer|based on|in the passage|using the passage)\b",
    re.IGNORECASE,
)
_TASK_VERB = re.compile(
    r"^(identify|list|name|explain|describe|summarize|summarise|compare|contrast|match|order|arrange|rank|choose|"
    r"select|fill|complete|decide|determine|state|give|find|calculate|compute|estimate|rewrite|write|classify|"
    r"evaluate|discuss|infer)\b",
    re.IGNORECASE,
)
_NOT_IN_PASSAGE = re.compile(
    r"(does not|doesn't|do not|did not|never) (say|state|mention|give|specify|provide|contain|include)|"
    r"not (stated|mentioned|given|specified|provided)|cannot be (determined|answered)|no information",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Validator:
    """A named rule check; `name` is stable (reports and metrics use it).

    `demo_check`, where set, is a tighter version of `check` for pairs that become an optimizer's demonstrations:
    a pair that passes by a hair teaches the model to write borderline pairs.
    """

    name: str
    check: Check
    demo_check: Check | None = None


def _empty(view: PairView) -> str | None:
    if not view.instruction:
        return "the instruction is empty"
    if not view.response:
        return "the response is empty"
    return None


def _length(view: PairView) -> str | None:
    if len(words(view.instruction)) < MIN_INSTRUCTION_WORDS:
        return f"the instruction has fewer than {MIN_INSTRUCTION_WORDS} words"
    if len(view.instruction) > MAX_INSTRUCTION_CHARS:
        return f"the instruction is longer than {MAX_INSTRUCTION_CHARS} characters"
    if len(view.response) > MAX_RESPONSE_CHARS:
        return f"the response is longer than {MAX_RESPONSE_CHARS} characters"
    return None


def degeneracy(text: str) -> str | None:
    """Why `text` looks like degenerate LM output (a loop, token soup, a digit run), or None."""
    tokens = words(text)
    if len(tokens) >= 12:
        trigrams = Counter(zip(tokens, tokens[1:], tokens[2:], strict=False))
        top, count = trigrams.most_common(1)[0]
        if count >= 4 and count * 3 >= 0.3 * len(tokens):
            return f"a repetition loop ('{' '.join(top)}' x{count})"
    if len(text) >= 200:
        raw = text.encode("utf-8")
        if len(zlib.compress(raw)) / len(raw) < 0.2:
            return "a repetition loop (text compresses over 5x)"
    if len(text) >= 20:
        letters = sum(ch.isalpha() for ch in text)
        if letters / len(text.replace(" ", "")) < 0.5:
            return "token soup (under half of the characters are letters)"
    if _DIGIT_RUN.search(text):
        return "a long run of digits"
    return None


def _degenerate(view: PairView) -> str | None:
    for part, text in (("instruction", view.instruction), ("response", view.response)):
        reason = degeneracy(text)
        if reason:
            return f"the {part} is degenerate: {reason}"
    return None


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def copied_share(text: str, source: str, n: int = 4) -> float:
    """Share of `text`'s word n-grams that also occur in `source`."""
    grams = _ngrams(words(text), n)
    return len(grams & _ngrams(words(source), n)) / len(grams) if grams else 0.0


def _copies(view: PairView) -> str | None:
    if view.passage and len(words(view.instruction)) >= 8 and copied_share(view.instruction, view.passage) >= 0.8:
        return "the instruction copies its passage"
    question, answer = content_words(view.instruction), content_words(view.response)
    if (
        answer
        and answer <= question
        and len(words(view.response)) >= 4
        and copied_share(view.response, view.instruction) >= 0.8
    ):
        return "the response copies the instruction"
    return None


def asks_something(instruction: str) -> bool:
    """Whether an instruction asks a question or sets a task: a question mark, a blank, or a task verb opening it or
    one of its clauses ("In a short essay, compare ...")."""
    text = instruction.strip()
    clauses = (part.strip() for part in re.split(r"[,:;]", text)[1:3])
    return (
        "?" in text
        or "____" in text
        or bool(_QUESTION_START.search(text))
        or any(_TASK_VERB.search(clause) for clause in clauses)
    )


def _no_question(view: PairView) -> str | None:
    return None if asks_something(view.instruction) else "the instruction asks nothing (no question mark, no task verb)"


def _ungrounded(view: PairView, min_support: float = 0.5) -> str | None:
    if not view.passage or _NOT_IN_PASSAGE.search(view.response):
        return None
    answer = content_words(view.response) - content_words(view.instruction)
    if len(answer) < 3:
        return None
    support = len(answer & content_words(view.passage)) / len(answer)
    if support < min_support:
        return f"the response is not grounded in the passage ({support:.0%} of its new content words occur there)"
    return None


def _off_topic(view: PairView, min_share: float = 0.25) -> str | None:
    if not view.passage:
        return None
    asked = content_words(view.instruction) - _GENERIC_TASK_WORDS
    if len(asked) < 3:
        return None
    share = len(asked & content_words(view.passage)) / len(asked)
    if share < min_share:
        return f"the instruction is not about its passage ({share:.0%} of its content words occur there)"
    return None


_GENERIC_TASK_WORDS = frozenset(
    [
        "ask",
        "answer",
        "question",
        "questions",
        "passage",
        "text",
        "author",
        "following",
        "true",
        "false",
        "best",
        "statement",
        "describe",
        "explain",
        "identify",
        "list",
        "name",
        "summarize",
        "compare",
        "contrast",
        "match",
        "order",
        "choose",
        "select",
        "write",
        "essay",
        "short",
        "according",
        "many",
        "much",
        "main",
        "idea",
        "purpose",
    ]
)


def options_of(instruction: str) -> dict[str, str]:
    """Multiple-choice options written inline as `(A) text (B) text ...`, by letter."""
    return {letter.upper(): option.strip() for letter, option in _OPTION.findall(instruction)}


_CHOSEN_LETTER = re.compile(r"\(([A-Ha-h])\)|\b([A-H])[).:](?:\s|$)|answer is:?\s*\(?([A-Ha-h])\b")


def _mcq_answer_is_an_option(view: PairView) -> str | None:
    options = options_of(view.instruction)
    if len(options) < 2:
        return None
    chosen = {letter.upper() for match in _CHOSEN_LETTER.findall(view.response) for letter in match if letter}
    if chosen & set(options):
        return None
    if any(len(option) > 3 and option.lower() in view.response.lower() for option in options.values()):
        return None
    return "the response picks none of the instruction's options"


VALIDATORS: tuple[Validator, ...] = (
    Validator("empty_turn", _empty),
    Validator("length", _length),
    Validator("degenerate", _degenerate),
    Validator("copies", _copies),
)
"""Validators every skill runs."""

SKILL_VALIDATORS: dict[str, tuple[Validator, ...]] = {
    "reading_comprehension": (
        Validator("no_question", _no_question),
        Validator("off_topic", _off_topic, partial(_off_topic, min_share=0.5)),
        Validator("ungrounded", _ungrounded, partial(_ungrounded, min_support=0.8)),
        Validator("mcq_answer_not_an_option", _mcq_answer_is_an_option),
    ),
}
"""Skill hooks: extra validators by skill name."""


def validators_for(skill: str | None) -> tuple[Validator, ...]:
    return VALIDATORS + SKILL_VALIDATORS.get(skill or "", ())


def validate(view: PairView, skill: str | None = None, *, for_demo: bool = False) -> dict[str, str]:
    """The failed validators of a pair, by name, with their reasons (empty when it passes).

    An empty turn stops further checks: every other validator would fail on it for the same reason. `for_demo`
    applies the validators' tighter demonstration checks.
    """
    failures: dict[str, str] = {}
    for validator in validators_for(skill):
        check = (validator.demo_check or validator.check) if for_demo else validator.check
        reason = check(view)
        if reason:
            failures[validator.name] = reason
            if validator.name == "empty_turn":
                break
    return failures
