"""Validators of the few-shot reasoning skill: the instruction carries at least two worked examples (input,
reasoning, answer) of one task and then an unsolved case; the response solves that case in the examples' format (the
same answer marker, reasoning where the examples reason, an answer of the same kind) without writing new examples,
and the arithmetic of both the examples and the response is right."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial

from agentinstruct.metrics.arithmetic import arithmetic_error
from agentinstruct.metrics.grounding import numbers
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, copies_demo, malformed_instruction

MIN_WORKED_EXAMPLES = 2
MAX_ANSWER_WORDS = 30
"""What follows the response's last answer marker: the answer, not more reasoning or more examples."""
MIN_REASONING_WORDS = 3

_CASE_MARKER = re.compile(
    r"(?<![\w-])(?P<name>Q|Question|Input|Problem|Example(?:\s*\d+)?|Case|Premise|Text|Sentence|Scenario|Statement|"
    r"Item|Sequence|Passage|Situation|Story)\s*:"
    r"|(?P<final>\b(?:Now(?: (?:solve|answer|try|do|you)\b[^:\n]{0,40})?|Your turn|New case|Test|Your task)\s*:)"
)
_ANSWER_MARKER = re.compile(r"(?<![\w-])(?P<name>Final answer|Answer|Output|Label|Result|Verdict|A)\s*:", re.IGNORECASE)
_REASONING_CUE = re.compile(
    r"(?<![\w-])(?:A|Reasoning|Explanation|Thought|Thinking|Working|Solution|Steps?|Rationale)\s*:"
    r"|\bLet'?s think\b",
)
_LABEL_SET = re.compile(
    r"\b(?:answer|respond|reply|label)(?: it| each(?: one)?)? (?:with|as|using)(?: one of)?:?\s+"
    r"(?P<labels>['\"]?[\w-]+['\"]?(?:\s*,\s*['\"]?[\w-]+['\"]?)*,?\s+or\s+['\"]?[\w-]+['\"]?)",
    re.IGNORECASE,
)
_YES_NO = (frozenset(["yes", "no"]), frozenset(["true", "false"]))


@dataclass(frozen=True)
class FewShot:
    """The structure of a few-shot instruction."""

    case_marker: str
    """The marker that opens each case ("Q", "Input", "Premise", ...)."""
    answer_marker: str
    """The marker before each worked example's answer ("Answer", or "A" in a bare Q/A format)."""
    worked: tuple[str, ...]
    """The worked examples' texts, each from its case marker to the next one."""
    final: str
    """The unsolved case's text."""

    def answers(self) -> list[str]:
        """The worked examples' answers: what follows their last answer marker."""
        return [answer_after(case, self.answer_marker) or "" for case in self.worked]

    def ends_on_marker(self) -> bool:
        """Whether the final case ends with the empty answer marker, so that the response is the answer itself."""
        return answer_after(self.final, self.answer_marker) == ""

    def shows_reasoning(self) -> bool:
        """Whether every worked example reasons before it answers (a separate answer marker after some reasoning)."""
        if self.answer_marker == "A":
            return False
        for case in self.worked:
            position = _last_marker(case, self.answer_marker)
            cues = list(_REASONING_CUE.finditer(case[:position] if position is not None else case))
            if not cues or len(words(case[cues[-1].end() : position])) < MIN_REASONING_WORDS:
                return False
        return True


def _last_marker(text: str, name: str) -> int | None:
    found = [m.start() for m in _ANSWER_MARKER.finditer(text) if _same(m.group("name"), name)]
    return found[-1] if found else None


def _same(found: str, name: str) -> bool:
    return found.lower() == name.lower() if name != "A" else found == "A"


def answer_after(text: str, name: str) -> str | None:
    """What follows the last answer marker `name` in `text` (None when the marker is absent)."""
    matches = [m for m in _ANSWER_MARKER.finditer(text) if _same(m.group("name"), name)]
    return text[matches[-1].end() :].strip() if matches else None


def few_shot_structure(instruction: str) -> FewShot | str:
    """The instruction's worked examples and final case, or why it has none: the most repeated case marker (the
    earliest on a tie) splits it into cases; each case but the last must end with an answer, the last with none."""
    matches = list(_CASE_MARKER.finditer(instruction))
    counts: dict[str, int] = {}
    for match in matches:
        if match.group("name"):
            key = re.sub(r"\s*\d+$", "", match.group("name"))
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return "the instruction holds no worked examples (no repeated 'Q:', 'Input:' or 'Example' marker)"
    marker = max(counts, key=lambda key: counts[key])  # dicts keep insertion order: the earliest wins a tie
    starts = [m.start() for m in matches if m.group("final") or re.sub(r"\s*\d+$", "", m.group("name") or "") == marker]
    cases = [instruction[a:b] for a, b in zip(starts, [*starts[1:], len(instruction)], strict=True)]
    if len(cases) < MIN_WORKED_EXAMPLES + 1:
        return (
            f"the instruction holds {len(cases)} '{marker}:' case(s); it needs {MIN_WORKED_EXAMPLES} worked examples"
            " and a new case"
        )
    *worked, final = cases
    answer_marker = _answer_marker(worked)
    if answer_marker is None:
        return f"fewer than {MIN_WORKED_EXAMPLES} of the instruction's examples are worked (no 'Answer:' with a value)"
    solved = [case for case in worked if answer_after(case, answer_marker)]
    if len(solved) < MIN_WORKED_EXAMPLES:
        return f"the instruction has {len(solved)} worked example(s); at least {MIN_WORKED_EXAMPLES} are needed"
    if answer_after(final, answer_marker):
        return "the instruction's last case is already solved: there is no new case to answer"
    return FewShot(marker, answer_marker, tuple(solved), final)


def _answer_marker(worked: list[str]) -> str | None:
    """The answer marker every worked example uses with a value after it; a named one ("Answer") before "A"."""
    for name in ("Answer", "Final answer", "Output", "Label", "Result", "Verdict", "A"):
        if sum(bool(answer_after(case, name)) for case in worked) >= MIN_WORKED_EXAMPLES:
            return name
    return None


def _no_worked_examples(view: PairView) -> str | None:
    found = few_shot_structure(view.instruction)
    return found if isinstance(found, str) else None


def _malformed(view: PairView) -> str | None:
    reason = malformed_instruction(view)
    return None if reason == "the instruction is a list of notes" else reason


def _structure(view: PairView) -> FewShot | None:
    found = few_shot_structure(view.instruction)
    return found if isinstance(found, FewShot) else None


def _format_not_followed(view: PairView) -> str | None:
    """The response ends with the examples' answer marker and an answer after it."""
    shot = _structure(view)
    if shot is None:
        return None
    answer = answer_after(view.response, shot.answer_marker)
    if answer is None and shot.ends_on_marker():
        return None  # the final case ends with "Answer:" (or a bare "A:"): the response is what follows it
    if not answer:
        return f"the response does not give its answer after '{shot.answer_marker}:' as the examples do"
    if len(words(answer)) > MAX_ANSWER_WORDS:
        return f"the response goes on for {len(words(answer))} words after its '{shot.answer_marker}:' marker"
    return None


def _continues_examples(view: PairView) -> str | None:
    """The response writes further cases ("Q: ...") instead of stopping after its answer."""
    shot = _structure(view)
    if shot is None:
        return None
    for match in _CASE_MARKER.finditer(view.response):
        if match.group("name") and re.sub(r"\s*\d+$", "", match.group("name")) == shot.case_marker:
            return f"the response writes a new '{shot.case_marker}:' case after answering"
    return None


def _no_reasoning(view: PairView) -> str | None:
    """Where the worked examples reason before answering, the response does too."""
    shot = _structure(view)
    if shot is None or not shot.shows_reasoning():
        return None
    position = _last_marker(view.response, shot.answer_marker)
    if position is not None and len(words(view.response[:position])) < MIN_REASONING_WORDS:
        return "the worked examples reason before answering, and the response only answers"
    return None


def _labels(instruction: str) -> set[str]:
    match = _LABEL_SET.search(instruction)
    if not match:
        return set()
    return {label.strip(" '\"").lower() for label in re.split(r"\s*,\s*(?:or\s+)?|\s+or\s+", match.group("labels"))}


def _answer_kind_mismatch(view: PairView) -> str | None:
    """The response's answer is of the kind the examples' answers are: one of the labels the instruction lists, yes or
    no (true or false) where every example answers so, a number where every example's answer is one."""
    shot = _structure(view)
    if shot is None:
        return None
    answer = answer_after(view.response, shot.answer_marker)
    if answer is None:
        answer = view.response if shot.ends_on_marker() else ""
    if not answer:
        return None  # format_not_followed says so
    given = [w for w in words(answer) if w not in ("the", "a", "an")]
    first = given[0] if given else ""
    labels = _labels(view.instruction)
    if labels and first not in labels and not any(answer.lower().startswith(label) for label in labels):
        return f"the answer '{answer[:40]}' is none of the labels the instruction lists ({', '.join(sorted(labels))})"
    examples = [a for a in shot.answers() if a]
    for pair in _YES_NO:
        if examples and all(words(a)[:1] and words(a)[0] in pair for a in examples) and first not in pair:
            return f"the examples answer {' or '.join(sorted(pair))}, and the response answers '{answer[:40]}'"
    numeric = examples and all(re.search(r"\d", a) for a in examples)
    if numeric and not (re.search(r"\d", answer) or numbers(answer.replace("-", " "))):
        return f"the examples answer with a number, and the response answers '{answer[:40]}'"
    return None


def _wrong_arithmetic(view: PairView) -> str | None:
    error = arithmetic_error(view.response)
    return f"the response's arithmetic is wrong: {error}" if error else None


def _wrong_example_arithmetic(view: PairView) -> str | None:
    error = arithmetic_error(view.instruction)
    return f"a worked example's arithmetic is wrong: {error}" if error else None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_worked_examples", _no_worked_examples),
    Validator("malformed_instruction", _malformed, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="few_shot_reasoning"), instruction_only=True),
    Validator("wrong_example_arithmetic", _wrong_example_arithmetic),
    Validator("format_not_followed", _format_not_followed),
    Validator("continues_examples", _continues_examples),
    Validator("no_reasoning", _no_reasoning),
    Validator("answer_kind_mismatch", _answer_kind_mismatch),
    Validator("wrong_arithmetic", _wrong_arithmetic),
)
