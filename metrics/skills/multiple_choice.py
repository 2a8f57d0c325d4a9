"""Validators of the multiple-choice skill: a question about the passage with three to five distinct lettered options,
answered by naming exactly one of them (its letter and its text) that the passage supports.

Options are parsed here rather than with `grounding.options`, which drops every option of a question that happens to
contain "order" or "match" (those words mark ordering and matching tasks in reading comprehension; in this skill the
options are always options).
"""

import re
from functools import partial

from agentinstruct.metrics.grounding import STEM_KEY_LENGTH, content_stems, derivable, numbers, sentences, stem
from agentinstruct.metrics.text import STOPWORDS, PairView, words
from agentinstruct.metrics.validators import Validator, copies_demo, malformed_instruction, no_question

MIN_OPTIONS, MAX_OPTIONS = 3, 5
_INLINE_OPTION = re.compile(r"\(([A-Ha-h])\)\s*([^()]*?)(?=\s*\([A-Ha-h]\)|$)", re.DOTALL)
_LINE_OPTION = re.compile(r"^\s*\(?([A-Ha-h])[).:]\s+(.+?)\s*$", re.MULTILINE)


def parse_options(instruction: str) -> dict[str, str]:
    """The options by upper-case letter, written inline `(A) x (B) y` or one per line `A) x` / `A. x` / `(A) x`."""
    found = {m.group(1).upper(): m.group(2).strip(" ;,\n") for m in _INLINE_OPTION.finditer(instruction)}
    for m in _LINE_OPTION.finditer(instruction):
        found.setdefault(m.group(1).upper(), m.group(2).strip(" ;,"))
    return dict(sorted(found.items()))


def stem_of(instruction: str) -> str:
    """The question without its options."""
    return re.split(r"\([A-Ha-h]\)|^\s*\(?[A-Ha-h][).:]\s", instruction, maxsplit=1, flags=re.MULTILINE)[0].strip()


def _normalised(text: str) -> str:
    return " ".join(words(text))


def _option_count(view: PairView) -> str | None:
    """Three to five options, lettered A, B, C, ... without a gap."""
    listed = parse_options(view.instruction)
    if not listed:
        return "the question lists no lettered options"
    letters = list(listed)
    if letters != [chr(ord("A") + i) for i in range(len(letters))]:
        return f"the options are lettered {', '.join(letters)}, not A, B, C, ... in order"
    if not MIN_OPTIONS <= len(listed) <= MAX_OPTIONS:
        return f"the question offers {len(listed)} options; {MIN_OPTIONS} to {MAX_OPTIONS} are needed"
    empty = [letter for letter, text in listed.items() if not words(text)]
    if empty:
        return f"option ({empty[0]}) is empty"
    return None


def _duplicate_options(view: PairView) -> str | None:
    """No two options say the same thing (same words once case and punctuation are set aside)."""
    seen: dict[str, str] = {}
    for letter, text in parse_options(view.instruction).items():
        key = _normalised(text)
        if key and key in seen:
            return f"options ({seen[key]}) and ({letter}) are the same: '{text[:60]}'"
        seen.setdefault(key, letter)
    return None


def _malformed_question(view: PairView) -> str | None:
    """The shared instruction checks (writer's notes, placeholders, a single option, a dangling last word), except
    that an option may end on a function word ("(D) pay for")."""
    if parse_options(view.instruction):
        view = PairView(view.passage, f"{view.instruction.rstrip()}.", view.response)
    return malformed_instruction(view)


_PICK_AT_START = re.compile(
    r"^\W*(?:(?i:(?:the\s+)?(?:correct\s+|right\s+|best\s+)?(?:answer|option|choice)(?:\s+is)?)\s*[:\-]?\s*)?"
    r"(?:\((?P<a>[A-Ha-h])\)|(?P<b>[A-H])(?:[).:]|\s+[-\u2013\u2014]\s|\s*$))"
)
_PICK_STATED = re.compile(r"(?i:\b(?:answer|option|choice)\s+is\s*:?\s*)\(?(?P<a>[A-Ha-h])\b\)?")
_PICK_ANYWHERE = re.compile(r"\((?P<a>[A-Ha-h])\)")
_ANOTHER_LETTER = re.compile(r"^\W*(?:,|/|&|\bor\b|\band\b)\s*\(?[A-H]\)?(?:\W|$)")
_TWO_LETTERS = re.compile(r"\([A-H]\)\s*(?:or|and|/|&|,)\s*\([A-H]\)")
_CLAUSE_END = re.compile(r"(?<=[.!?])\s|\n|;|\s[-\u2013\u2014]\s|,\s*(?:because|since|as|which)\b|\s+because\b")


def _pick(response: str) -> tuple[str, str] | None:
    """The letter a response picks and the text after it: the letter it opens with, else the one it says is "the
    answer", else the first letter in parentheses."""
    for pattern in (_PICK_AT_START, _PICK_STATED, _PICK_ANYWHERE):
        match = pattern.search(response.strip()) if pattern is not _PICK_AT_START else pattern.match(response.strip())
        if match:
            letter = next(group for group in match.groups() if group).upper()
            return letter, response.strip()[match.end() :]
    return None


def _answer_not_an_option(view: PairView) -> str | None:
    """The answer names exactly one listed option, by its letter, and quotes that option's text correctly."""
    listed = parse_options(view.instruction)
    if len(listed) < 2:
        return None  # option_count says what is wrong
    picked = _pick(view.response)
    if not picked:
        return "the answer names no option letter"
    letter, rest = picked
    if letter not in listed:
        return f"the answer picks ({letter}), which is not among the options"
    option = listed[letter]
    first_sentence = _CLAUSE_END.split(view.response.strip(), maxsplit=1)[0]
    if _ANOTHER_LETTER.match(rest) or _TWO_LETTERS.search(first_sentence):
        return "the answer names more than one option"
    said, wanted_text = _normalised(rest), _normalised(option)
    if said == wanted_text or said.startswith(f"{wanted_text} "):
        return None
    clause = _CLAUSE_END.split(rest.strip(), maxsplit=1)[0].strip(" .,:-")
    if not words(clause):
        return f"the answer names ({letter}) without quoting its text '{option[:60]}'"
    quoted, wanted = set(words(clause)), set(words(option))
    figures_differ = numbers(option) and not numbers(option) <= numbers(clause)
    if figures_differ or len(quoted & wanted) < 0.6 * len(wanted):
        return f"the answer quotes ({letter}) as '{clause[:60]}', but ({letter}) is '{option[:60]}'"
    return None


_SCALED = re.compile(r"(\d[\d,]*(?:\.\d+)?)\s*(thousand|million|billion)\b", re.IGNORECASE)
_SCALE = {"thousand": 1e3, "million": 1e6, "billion": 1e9}


def figures(text: str) -> set[float]:
    """The numbers a text states, with "1.2 million" also read as 1,200,000."""
    found = numbers(text)
    for value, scale in _SCALED.findall(text):
        found.add(float(value.replace(",", "")) * _SCALE[scale.lower()])
    return found


# Questions whose right option is not stated as such: NOT/EXCEPT (the right one is the one the passage does not
# state), meanings of words, inferences, purposes, attitudes.
_NEGATIVE_QUESTION = re.compile(r"\b(?:NOT|EXCEPT|LEAST)\b|\b(?:not|except|least|false|untrue|incorrect)\b")
_INTERPRETIVE_QUESTION = re.compile(
    r"\b(?:mean|means|meaning|most nearly|as used in|synonym|antonym|infer\w*|impl(?:y|ies|ied)|suggest\w*|"
    r"most likely|probably|purpose|why does (?:the )?(?:news item|passage|text|article|author|writer|story)|tone|"
    r"attitude|feel\w*|assum\w*|strengthen\w*|weaken\w*|principle|if true|would)\b",
    re.IGNORECASE,
)


def _option_unsupported(view: PairView, min_share: float = 0.5) -> str | None:
    """The chosen option's content is in the passage: its figures are the passage's (or follow from them by one
    step of arithmetic, also through figures the answer works out), and at least half of its content words occur
    there. NOT/EXCEPT questions are exempt; questions about meaning, inference or purpose check figures only."""
    listed = parse_options(view.instruction)
    picked = _pick(view.response)
    if not view.passage or not picked or picked[0] not in listed:
        return None
    question = stem_of(view.instruction)
    if _NEGATIVE_QUESTION.search(question):
        return None
    letter, option = picked[0], listed[picked[0]]
    known = figures(view.passage) | figures(question) | {1.0, 2.0, 100.0}
    pending = figures(option) - known
    # The answer may work the figure out in steps ("$1,200,000 / 3 = $400,000").
    worked = sorted(figures(view.response) - known)
    changed = True
    while changed and (pending or worked):
        changed = False
        for value in [*worked, *pending]:
            if value not in known and derivable(value, known):
                known.add(value)
                changed = True
        pending = {value for value in pending if value not in known}
    if pending:
        shown = ", ".join(f"{value:g}" for value in sorted(pending)[:2])
        return f"the chosen option ({letter}) states {shown}, which the passage neither gives nor implies"
    if _INTERPRETIVE_QUESTION.search(question):
        return None
    stems = content_stems(option)
    if len(stems) >= 2:
        share = len(stems & content_stems(view.passage)) / len(stems)
        if share < min_share:
            return f"the chosen option ({letter}) '{option[:60]}' is not in the passage ({share:.0%} of its words are)"
    return None


_TRUE_STATEMENT_QUESTION = re.compile(
    r"\b(?:is|are)\s+(?:true|correct|accurate|stated|supported)\b|\bwhich\s+(?:of\s+the\s+following\s+)?"
    r"(?:statements?|sentences?|claims?)\b|\btrue\s+(?:statement|about)\b",
    re.IGNORECASE,
)
MIN_STATED_STEMS = 3


def _key_sequence(text: str) -> list[str]:
    return [stem(word)[:STEM_KEY_LENGTH] for word in words(text) if word not in STOPWORDS]


def _stated(option: str, passage_sequences: list[list[str]]) -> bool:
    """Whether the option's content words occur, in order and without a gap, in one sentence of the passage."""
    wanted = _key_sequence(option)
    if len(wanted) < MIN_STATED_STEMS:
        return False
    size = len(wanted)
    return any(
        sequence[i : i + size] == wanted for sequence in passage_sequences for i in range(len(sequence) - size + 1)
    )


def _two_options_stated(view: PairView) -> str | None:
    """For a "which statement is true" question: no two options are stated word for word in the passage (both would
    be correct). Other questions take wrong options from the passage on purpose (a figure or a name that answers
    another question), so they are not checked."""
    question = stem_of(view.instruction)
    if not view.passage or not _TRUE_STATEMENT_QUESTION.search(question) or _NEGATIVE_QUESTION.search(question):
        return None
    passage_sequences = [_key_sequence(sentence) for sentence in sentences(view.passage)]
    stated = [letter for letter, text in parse_options(view.instruction).items() if _stated(text, passage_sequences)]
    if len(stated) >= 2:
        return f"options {' and '.join(f'({letter})' for letter in stated[:2])} are both stated in the passage"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_question", no_question, instruction_only=True),
    Validator("malformed_instruction", _malformed_question, instruction_only=True),
    Validator("copies_demo", partial(copies_demo, skill="multiple_choice"), instruction_only=True),
    Validator("option_count", _option_count),
    Validator("duplicate_options", _duplicate_options),
    Validator("answer_not_an_option", _answer_not_an_option),
    Validator("option_unsupported", _option_unsupported, partial(_option_unsupported, min_share=0.75)),
    Validator("two_options_stated", _two_options_stated),
)
