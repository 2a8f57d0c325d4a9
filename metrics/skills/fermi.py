"""Validators of the Fermi-estimation skill: an estimation question answered with numbered assumptions, arithmetic
written out step by step (every step checked), and a final order-of-magnitude estimate.

The arithmetic itself is checked by `metrics/arithmetic.py`.
"""

from __future__ import annotations

import re
from functools import partial

from agentinstruct.metrics.arithmetic import arithmetic_error, arithmetic_steps
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, asks_something, copies_demo, malformed_instruction

# --------------------------------------------------------------------------------------------------------------------
# The Fermi validators
# --------------------------------------------------------------------------------------------------------------------

FERMI_EXACT_TOLERANCE = 0.05
FERMI_APPROX_TOLERANCE = 0.35
"""A Fermi step stated with "=" may be 5% off; one stated with "≈"/"about" may round to one significant figure."""

_ASSUMPTION_HEADING = re.compile(r"^\W*(?:key\s+)?assumptions?\b", re.IGNORECASE)
_SECTION_HEADING = re.compile(
    r"^\W*(?:calculations?|steps?|computation|working|arithmetic|reasoning|solution|estimate|answer|result)\b\W*$",
    re.IGNORECASE,
)
_CONCLUSION = re.compile(
    r"^\W*(?:(?:final |rough |my )?estimate|answer|result|so|therefore|thus|overall|in total|total|that gives|"
    r"this gives)\b",
    re.IGNORECASE,
)
_ASSUMPTION_MARKER = re.compile(
    r"\b(?:assum\w*|suppose|let'?s say|say|about|roughly|around|approximately|typical\w*|average|estimate\w*|"
    r"guess|probably|perhaps|maybe|on average|per|each|every|usually|given|from the text)\b|~",
    re.IGNORECASE,
)
_FIGURE = re.compile(r"\d")
_CALCULATING = re.compile(r"[=≈]")
_FINAL_MARKER = re.compile(
    r"\b(?:estimate|answer|result|total|roughly|about|approximately|around|order of magnitude|on the order of|"
    r"ballpark|in the range)\b|≈|~|\b10\^|10[⁰¹²³⁴⁵⁶⁷⁸⁹]",
    re.IGNORECASE,
)
_NUMBER_WORD_FIGURE = re.compile(r"\b(?:a|one|two|three|several|tens of|hundreds of)\s+(?:thousand|million|billion)\b")


def assumption_lines(response: str) -> list[str]:
    """The lines or sentences of a response that introduce a number as an assumption: under an "Assumptions"
    heading (until the calculation starts), or marked as one ("assume", "about", "roughly", "each") without an
    equals sign."""
    found: list[str] = []
    under_heading = False
    for raw in response.splitlines():
        line = raw.strip()
        if not line:
            continue
        if _ASSUMPTION_HEADING.match(line):
            under_heading = True
            rest = _ASSUMPTION_HEADING.sub("", line).strip(" :*-")
            # "Assumptions: 1,000,000 people; about 2 litres each a day." holds two.
            found += [part for part in re.split(r";|,\s|(?<=[.!?])\s+", rest) if _assumes(part, True)]
            continue
        if _SECTION_HEADING.match(line) or _CONCLUSION.match(line) or (under_heading and _CALCULATING.search(line)):
            under_heading = False  # the calculation has started
            continue
        parts = [line] if under_heading else re.split(r"(?<=[.!?;])\s+", line)
        found += [part for part in parts if _assumes(part, under_heading)]
    return found


def _assumes(part: str, under_heading: bool) -> bool:
    """Whether a line or sentence introduces a number as an assumption (not a calculation, not the conclusion)."""
    if not _FIGURE.search(part) or _CALCULATING.search(part) or _CONCLUSION.match(part):
        return False
    return under_heading or bool(_ASSUMPTION_MARKER.search(part))


MIN_ASSUMED_FIGURES = 2
_ENUMERATOR = re.compile(r"^\W*\(?\d{1,2}[.)]\s")
_FIGURES = re.compile(r"\d[\d,]*(?:\.\d+)?")


def assumed_figures(response: str) -> int:
    """How many figures the response introduces as assumptions (item numbers "1." not counted)."""
    return sum(len(_FIGURES.findall(_ENUMERATOR.sub(" ", part))) for part in assumption_lines(response))


def _no_assumptions(view: PairView) -> str | None:
    count = assumed_figures(view.response)
    if count < MIN_ASSUMED_FIGURES:
        return f"the response assumes {count} figure(s); an estimate needs at least {MIN_ASSUMED_FIGURES} stated"
    return None


def _no_calculation(view: PairView) -> str | None:
    if not arithmetic_steps(view.response):
        return "the response writes out no calculation step (such as 'a × b = c')"
    return None


def _wrong_fermi_arithmetic(view: PairView) -> str | None:
    error = arithmetic_error(view.response, FERMI_EXACT_TOLERANCE, FERMI_APPROX_TOLERANCE)
    return f"a calculation step is wrong: {error}" if error else None


def _states_estimate(text: str) -> bool:
    has_figure = bool(_FIGURE.search(text) or _NUMBER_WORD_FIGURE.search(text.lower()))
    return has_figure and bool(_FINAL_MARKER.search(text))


def _no_final_estimate(view: PairView) -> str | None:
    """The response ends with its estimate: one of its last two lines (or, in a single paragraph, its last two
    sentences) states a figure and marks it as the estimate ("Estimate: about 4 million", "roughly 10^6 km"); a
    closing caveat after it is fine."""
    lines = [line.strip() for line in view.response.splitlines() if line.strip()]
    if len(lines) == 1 or (lines and len(words(lines[-1])) > 40):
        lines = lines[:-1] + re.split(r"(?<=[.!?])\s+(?=[A-Z])", lines[-1])
    if not any(_states_estimate(line) for line in lines[-2:]):
        return "the response does not end with a final estimate (a figure marked as the estimate)"
    return None


def _not_an_estimation_question(view: PairView) -> str | None:
    if not asks_something(view.instruction):
        return "the instruction asks nothing (no question mark, no task verb)"
    return None


def _malformed(view: PairView) -> str | None:
    reason = malformed_instruction(view)
    return None if reason == "the instruction is a list of notes" else reason


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", _not_an_estimation_question, instruction_only=True),
    Validator("malformed_instruction", _malformed, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="fermi"), instruction_only=True),
    Validator("no_assumptions", _no_assumptions),
    Validator("no_calculation", _no_calculation),
    Validator("wrong_arithmetic", _wrong_fermi_arithmetic),
    Validator("no_final_estimate", _no_final_estimate),
)
