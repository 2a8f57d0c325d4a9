"""Validators of the analytical-reasoning skill: a self-contained logic problem, solved in at least two reasoning
steps that end on an 'Answer:' line; a multiple-choice answer names exactly one listed option, and any arithmetic
written out is right."""

from __future__ import annotations

import re
from functools import partial

from agentinstruct.metrics.arithmetic import arithmetic_error
from agentinstruct.metrics.grounding import options, sentences
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, asks_something, copies_demo, malformed_instruction

_ANSWER_LINE = re.compile(r"^[\s*_#>]*(?:final\s+)?answer[\s*_]*[:\-–—][\s*_]*(?P<answer>\S.*)$", re.IGNORECASE)
_ANSWER_HEADING = re.compile(r"^[\s*_#>]*(?:final\s+)?answer[\s*_:]*$", re.IGNORECASE)
_LETTER = re.compile(r"\(([A-Ha-h])\)|^\s*([A-H])(?=[).:,]|\s|$)|\b(?:option|choice)\s+\(?([A-H])\b")
MIN_STEPS = 2
MIN_STEP_WORDS = 3


def final_answer(response: str) -> tuple[str, list[str]] | None:
    """The response's final answer (what follows 'Answer:' on its last non-empty line) and the lines before it, or
    None when the response does not end on an answer line."""
    lines = [line.strip() for line in response.strip().splitlines() if line.strip()]
    if not lines:
        return None
    match = _ANSWER_LINE.match(lines[-1])
    if not match:
        if len(lines) >= 2 and _ANSWER_HEADING.match(lines[-2]):  # "### Answer" then the answer on its own line
            return lines[-1].strip(" *_"), lines[:-2]
        return None
    answer = match.group("answer").strip(" *_")
    return (answer, lines[:-1]) if answer else None


def no_question(view: PairView) -> str | None:
    return None if asks_something(view.instruction) else "the instruction asks nothing (no question mark, no task verb)"


def _malformed(view: PairView) -> str | None:
    """`malformed_instruction` without its bullet rule: a logic game may list its conditions as bullets."""
    reason = malformed_instruction(view)
    return None if reason == "the instruction is a list of notes" else reason


def _no_final_answer(view: PairView) -> str | None:
    if final_answer(view.response) is None:
        return "the response does not end with a line 'Answer: ...'"
    return None


def _steps(lines: list[str]) -> list[str]:
    """The reasoning steps before the answer line: its lines, or the sentences of a single paragraph."""
    found = [line for line in lines if len(words(line)) >= MIN_STEP_WORDS]
    if len(found) == 1:
        found = [s for s in sentences(found[0]) if len(words(s)) >= MIN_STEP_WORDS]
    return found


def _no_reasoning_steps(view: PairView) -> str | None:
    """At least two reasoning steps before the final answer (lines, or sentences of one paragraph)."""
    found = final_answer(view.response)
    if found is None:
        return None  # no_final_answer says so
    steps = _steps(found[1])
    if len(steps) < MIN_STEPS:
        return f"the response gives {len(steps)} reasoning step(s) before its answer; at least {MIN_STEPS} are needed"
    return None


def named_options(answer: str, listed: dict[str, str]) -> set[str]:
    """The option letters an answer names: by letter ("(B)", "B.", "option B"), else by the option's text."""
    letters = {next(g for g in m.groups() if g).upper() for m in _LETTER.finditer(answer)}
    if letters:
        return letters
    said = answer.lower()
    texts = {letter: text.lower().strip(" .") for letter, text in listed.items() if text.strip(" .")}
    named = {letter for letter, text in texts.items() if re.search(rf"(?<!\w){re.escape(text)}(?!\w)", said)}
    # "Ana and Ben" names one option even when "Ana" is another: keep the longest texts that are not inside others.
    return {a for a in named if not any(a != b and texts[a] in texts[b] for b in named)}


def _mcq_answer_not_one_option(view: PairView) -> str | None:
    """For a multiple-choice problem, the answer line names exactly one listed option, and the text it quotes after
    the letter belongs to that option."""
    listed = options(view.instruction)
    found = final_answer(view.response)
    if len(listed) < 2 or found is None:
        return None
    answer = found[0]
    named = named_options(answer, listed)
    if not named:
        return f"the answer '{answer[:60]}' names none of the options ({', '.join(sorted(listed))})"
    if len(named) > 1:
        return f"the answer names {len(named)} options ({', '.join(sorted(named))}); exactly one is wanted"
    letter = next(iter(named))
    if letter not in listed:
        return f"the answer picks ({letter}), which is not among the options"
    quoted = set(words(_LETTER.sub(" ", answer)))
    option = set(words(listed[letter]))
    other = any(quoted <= set(words(text)) for key, text in listed.items() if key != letter)
    if quoted and option and not quoted & option and (len(quoted) >= 2 or other):
        return f"the answer quotes ({letter}) as something other than that option"
    return None


def _wrong_arithmetic(view: PairView) -> str | None:
    error = arithmetic_error(view.response)
    return f"the response's arithmetic is wrong: {error}" if error else None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", no_question, instruction_only=True),
    Validator("malformed_instruction", _malformed, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="analytical_reasoning"), instruction_only=True),
    Validator("no_final_answer", _no_final_answer),
    Validator("mcq_answer_not_one_option", _mcq_answer_not_one_option),
    Validator("no_reasoning_steps", _no_reasoning_steps),
    Validator("wrong_arithmetic", _wrong_arithmetic),
)
