"""Validators of the text-classification skill: the task gives its label set ("Label: one of x, y, z."), and the
answer is exactly one of those labels, followed by a one-sentence reason only where the task asks for one.
"""

import re
from functools import partial

from agentinstruct.metrics.grounding import sentences
from agentinstruct.metrics.skills.text_extraction import copies_demo_source
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, malformed_instruction

MIN_LABELS, MAX_LABELS, MAX_LABEL_WORDS = 2, 8, 4
# "Label: one of x, y, z" (the skill's own form) first, then looser ways of giving a set.
_TRIGGERS = (
    re.compile(
        r"\b(?:labels?|categories|category|classes|class|tags?)\s*:\s*(?:(?:choose\s+)?one\s+of\s*:?\s*)?", re.I
    ),
    re.compile(r"\b(?:one\s+of|choose\s+(?:from|between)|pick\s+(?:from|between)|select\s+from)\s*:?\s*", re.I),
)
_LIST_END = re.compile(r"\.(?=\s|$)|[?!\n]")
_QUOTES = " \t\"'`*\u201c\u201d\u2018\u2019()[]"
_REASON_ASKED = re.compile(r"\b(?:reason|reasons|explain|explanation|why|justify|justification|because)\b", re.I)
_SENTENCES_ASKED = re.compile(
    r"\b(?:in\s+)?(one|two|three|1|2|3)[- ]sentences?\b|\bin\s+(one|two|three|\d)\s+sentences?\b", re.IGNORECASE
)
_PREFIX = re.compile(r"^\W*(?:label|answer|category|class|classification|sentiment|stance)\s*:\s*", re.IGNORECASE)
_SEPARATOR = re.compile(r"^[\s\"'`*\u201d\u2019]*(?:[.:;,!)\u2013\u2014-]+)?\s*")


def _split_labels(listed: str) -> tuple[list[str], str | None]:
    """The labels of a listed set, and the unsplit last item when its " and " / " or " was taken as a separator
    ("public safety, planning and zoning" may be two labels or three)."""
    parts = [part.strip(_QUOTES) for part in re.split(r"\s*[,;|/]\s*", listed)]
    parts = [re.sub(r"^(?:and|or)\s+", "", part).strip(_QUOTES) for part in parts if part.strip(_QUOTES)]
    if not parts:
        return [], None
    last = parts[-1]
    joined = re.split(r"\s+(?:or|and)\s+", last)
    if len(joined) > 1 and not any(re.search(r"\s(?:and|or)\s", part) for part in parts[:-1]):
        return [*parts[:-1], *(part.strip(_QUOTES) for part in joined)], last
    return parts, None


def label_set(instruction: str) -> tuple[list[str], list[str]] | None:
    """The labels the task offers, and any extra spellings an answer may use (see `_split_labels`); None when the
    task gives no set. A set found with a "Label:" trigger wins over a looser "one of" one."""
    candidates = []
    for trigger in _TRIGGERS:
        for match in trigger.finditer(instruction):
            rest = instruction[match.end() :]
            end = _LIST_END.search(rest)
            labels, extra = _split_labels(rest[: end.start()] if end else rest)
            if labels:
                candidates.append((labels, [extra] if extra else []))
        valid = [c for c in candidates if _set_problem(c[0]) is None]
        if valid:
            return valid[0]
    return candidates[0] if candidates else None


def _set_problem(labels: list[str]) -> str | None:
    lowered = [label.lower() for label in labels]
    if not MIN_LABELS <= len(labels) <= MAX_LABELS:
        return f"the task offers {len(labels)} label(s); {MIN_LABELS} to {MAX_LABELS} are needed"
    if len(set(lowered)) != len(lowered):
        repeated = next(label for label in lowered if lowered.count(label) > 1)
        return f"the task offers the label '{repeated}' twice"
    long = [label for label in labels if len(label.split()) > MAX_LABEL_WORDS]
    if long:
        return f"'{long[0][:60]}' is not a label (more than {MAX_LABEL_WORDS} words)"
    return None


def _no_label_set(view: PairView) -> str | None:
    """The task gives its label set ("Label: one of x, y, z")."""
    return None if label_set(view.instruction) else "the task gives no label set (e.g. 'Label: one of x, y, z')"


def _bad_label_set(view: PairView) -> str | None:
    """The label set has two to eight distinct labels of at most four words each."""
    found = label_set(view.instruction)
    return _set_problem(found[0]) if found else None


def _parse_answer(view: PairView) -> tuple[str | None, str, list[str]]:
    """(the label the answer opens with or None, what follows it, the labels); labels empty when the set is bad."""
    found = label_set(view.instruction)
    if not found or _set_problem(found[0]):
        return None, "", []
    labels, extra = found
    text = _PREFIX.sub("", view.response.strip()).lstrip(_QUOTES)
    lowered = text.lower()
    for label in sorted({*labels, *extra}, key=len, reverse=True):
        key = label.lower()
        after = lowered[len(key) : len(key) + 1]
        if lowered.startswith(key) and not (after and (after.isalnum() or after in "-'")):
            return label, text[len(key) :], labels
    return None, text, labels


def _label_not_offered(view: PairView) -> str | None:
    """The answer is (opens with) one of the task's labels, written as the task writes it, case aside."""
    label, text, labels = _parse_answer(view)
    if labels and label is None:
        return f"the answer '{text[:40]}' is not one of the labels: {', '.join(labels)}"
    return None


def _several_labels(view: PairView) -> str | None:
    """The answer gives one label, not a list of them ("negative, neutral", "fact or opinion")."""
    label, rest, labels = _parse_answer(view)
    if label is None:
        return None
    rest = re.sub(r"^(?:or|and|/|&)\s+", "", _SEPARATOR.sub("", rest), flags=re.IGNORECASE)
    for other in labels:
        key = other.lower()
        if key != label.lower() and re.match(rf"{re.escape(key)}(?:\s*[.,;/!]|\s+(?:or|and)\b|\s*$)", rest.lower()):
            return f"the answer gives more than one label ('{label}' and '{other}')"
    return None


def _extra_text(view: PairView) -> str | None:
    """Nothing follows the label unless the task asks for a reason; then at most the sentences it asks for (one by
    default)."""
    label, rest, _ = _parse_answer(view)
    if label is None:
        return None
    reason = _SEPARATOR.sub("", rest).strip()
    if not words(reason):
        return None
    if not _REASON_ASKED.search(view.instruction):
        return f"the task asks for the label only; the answer adds '{reason[:50]}'"
    asked = _SENTENCES_ASKED.search(view.instruction)
    count = (asked.group(1) or asked.group(2)).lower() if asked else "one"
    allowed = int(count) if count.isdigit() else {"one": 1, "two": 2, "three": 3}[count]
    found = len([s for s in sentences(reason) if words(s)])
    if found > allowed:
        return f"the reason has {found} sentences; the task allows {allowed}"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_demo_source, skill="text_classification")),
    Validator("no_label_set", _no_label_set),
    Validator("bad_label_set", _bad_label_set),
    Validator("label_not_offered", _label_not_offered),
    Validator("several_labels", _several_labels),
    Validator("extra_text", _extra_text),
)
