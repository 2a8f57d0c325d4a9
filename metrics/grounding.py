"""Text analysis the grounding checks share: sentences, light stems, numbers, named entities, options, constraints.

Everything here is deterministic and cheap (regular expressions over a pair's text); the validators in
`validators.py` turn it into named checks.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache

from agentinstruct.metrics.text import STOPWORDS, words


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n+")
_NUMBER = re.compile(r"(?<![\w.])[-−]?\$?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?")
CARDINAL_WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
"""Number words from zero to ninety, by value (compounds like "forty-two" are read in two parts)."""
_NUMBER_WORDS = {
    **CARDINAL_WORDS,
    "hundred": 100,
    "thousand": 1000,
    "million": 1_000_000,
    "half": 0.5,
    "twice": 2,
    "double": 2,
    "triple": 3,
    "dozen": 12,
    "third": 1 / 3,
    "thirds": 1 / 3,
    "quarter": 0.25,
    "quarters": 0.25,
}
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z'’-]*[a-zA-Z]\b|\b[A-Z]{2,}\d*\b")
_SUFFIXES = ("ational", "ization", "ation", "ment", "ingly", "ing", "edly", "ied", "ed", "ly", "er", "est")
# Words written with a capital that are not names: sentence openers, titles, common abbreviations.
_NOT_NAMES = _word_set(
    """
    a an the and but or if in on at by for with from as of to is are was were be this that these those there
    their they he she it its his her we our you your i my me yes no not true false answer question passage
    text according based because since so then than when where why how what which who whom whose however
    therefore also both each every all some many most first second third finally next last one two three
    four five six seven eight nine ten option options none neither either mr mrs ms dr st note q a b c d e
    """
)
_COMMON_ACRONYMS = _word_set(
    """
    faq faqs tv uk us usa eu un am pm ok id ceo phd dna rna gps usb pdf url ai it hr pc ad bc ce bce vs etc
    """
)
"""Acronyms every reader knows: naming a document "the FAQ" invents nothing."""
_MONTHS_DAYS = _word_set(
    """
    january february march april may june july august september october november december monday tuesday
    wednesday thursday friday saturday sunday
    """
)


@lru_cache(maxsize=4096)
def sentences(text: str) -> tuple[str, ...]:
    """The sentences (and lines) of a text, in order, stripped, without empty ones."""
    return tuple(part.strip() for part in _SENTENCE_END.split(text) if part and part.strip())


@lru_cache(maxsize=1 << 16)  # validators stem the same passage words for every pair of a seed
def stem(word: str) -> str:
    """A light suffix-stripping stem, enough to match "pollinated" with "pollination", "farms" with "farm" and
    "valuables" with "valuable"."""
    word = word.lower().replace("’", "'").removesuffix("'s").removesuffix("'")
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes", "zes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in _SUFFIXES:
        if len(word) - len(suffix) >= 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


STEM_KEY_LENGTH = 6
"""Stems are compared by their first six letters: "pollinat(ed)" meets "pollin(ation)" without a full stemmer."""


def content_stems(text: str) -> set[str]:
    """Comparable stems of the text's content words (no stop words, at least three letters)."""
    return {stem(w)[:STEM_KEY_LENGTH] for w in words(text) if w not in STOPWORDS and len(w) > 2 and not w.isdigit()}


def numbers(text: str) -> set[float]:
    """The numeric values a text states, in digits ("4,200", "$9.60", "70%") or words ("forty", "twice")."""
    found: set[float] = set()
    for match in _NUMBER.finditer(text):
        whole = match.group(1).replace(",", "")
        value = float(f"{whole}.{match.group(2)}") if match.group(2) else float(whole)
        found.add(value)
    for word in words(text):
        if word in _NUMBER_WORDS:
            found.add(float(_NUMBER_WORDS[word]))
    for numerator, denominator in _FRACTION.findall(text):
        found.add(_NUMBER_WORDS[numerator.lower()] / (3 if denominator.lower().startswith("third") else 4))
    return found


_FRACTION = re.compile(r"\b(one|two|three)[- ](thirds?|quarters?)\b", re.IGNORECASE)


def digit_numbers(text: str) -> set[float]:
    """Only the numbers written in digits: the specific figures a fabricated answer invents."""
    return {v for v in numbers(_strip_number_words(text))}


_UNIT = (
    r"(?:seconds?|minutes?|hours?|days?|nights?|weeks?|months?|years?|decades?|centuries|seasons?|winters?|summers?|"
    r"metres?|meters?|kilomet(?:re|er)s?|km|miles?|feet|foot|inches?|kilograms?|kg|grams?|tonnes?|tons?|litres?|"
    r"liters?|percent|per cent|dollars?|pounds?|euros?|cents?|people|times|members?|players?|hives?|colonies|shops?|"
    r"families|children|students|pages?|items?)"
)
_WORD_QUANTITY = re.compile(
    r"\b(" + "|".join(_NUMBER_WORDS) + r")(?:[- ](?:" + "|".join(_NUMBER_WORDS) + r"))?\s+" + _UNIT + r"\b",
    re.IGNORECASE,
)


def quantities(text: str) -> set[float]:
    """The figures a text states as quantities: numbers in digits, and number words with a unit ("sixty days",
    "two minutes"); a bare "two of them" is not a figure."""
    found = digit_numbers(text)
    for match in _WORD_QUANTITY.finditer(text):
        found |= numbers(match.group(0))
    return found


def _strip_number_words(text: str) -> str:
    return re.sub(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", " ", text, flags=re.IGNORECASE)


def derivable(value: float, known: set[float]) -> bool:
    """Whether `value` is one of `known` or follows from two of them by one arithmetic step (a difference of years,
    a total, a share): an answer may compute what the passage only implies."""
    if value in known:
        return True
    pool = [v for v in known if v != 0][:60]
    for a, b in itertools.permutations(pool, 2):
        for result in (a + b, a - b, a * b, a / b, 100 * a / b, a * b / 100):
            if abs(result - value) <= max(0.011, 0.006 * abs(value)):
                return True
    return False


_ASKS_COMPUTATION = re.compile(
    r"\b(?:how many more|how much more|how many fewer|how much less|by how much|by how many|difference|in total|"
    r"altogether|combined|remaining|not covered|left over|calculate|compute|work out|show your working|average|area|"
    r"ratio|how many (?:years|days|months|weeks|hours|minutes) (?:after|before|between|"
    r"passed|elapsed|later|earlier))\b",
    re.IGNORECASE,
)
_SHOWS_COMPUTATION = re.compile(
    r"[=×÷]|\d\s*[-−+*/x]\s*\$?\d|\b(?:minus|plus|times|divided by|subtract\w*|add(?:ing|ed)? up|the difference|"
    r"in total|altogether|of \d[\d,.]* is|half of|a third of|a quarter of|per cent of|percent of|% of)\b"
    r"|\b\w+ (?:moves?|years?|days?|months?|weeks?|hours?|minutes?|miles?|metres?|meters?) (?:later|earlier|after|"
    r"before|more|fewer|longer|shorter)\b",
    re.IGNORECASE,
)
_ENUMERATOR = re.compile(r"(?m)^\s*\(?\d{1,2}[.)]\s|\(\d{1,2}\)")


def asks_or_shows_computation(instruction: str, response: str) -> bool:
    """Whether a figure in the response may be computed rather than quoted: the question asks for a calculation, or
    the response shows one."""
    return bool(_ASKS_COMPUTATION.search(instruction) or _SHOWS_COMPUTATION.search(response))


def underived_figures(response: str, source: str, *, computing: bool = True) -> list[float]:
    """Figures (in digits) the response states that the source does not: with `computing`, figures that follow from
    the source's figures by arithmetic are allowed, also through the response's own intermediate results ("82% of
    900 is 738; 738 - 639 = 99")."""
    known = numbers(source)
    pending = sorted(digit_numbers(_ENUMERATOR.sub(" ", response)) - known)  # "1) ... 2) ..." numbers items
    if not computing:
        return pending
    known |= {1.0, 2.0, 100.0}
    changed = True
    while pending and changed:
        changed = False
        for value in list(pending):
            if derivable(value, known):
                known.add(value)
                pending.remove(value)
                changed = True
    return pending


def entity_words(text: str) -> set[str]:
    """Lower-cased words of the names a text mentions: capitalised words that do not open a sentence (or open it
    followed by another capitalised word), and acronyms; months and days included."""
    found: set[str] = set()
    for sentence in sentences(text):
        tokens = list(_CAPITALISED.finditer(sentence))
        for position, match in enumerate(tokens):
            token = re.sub(r"['’]s?$", "", match.group(0))
            lowered = token.lower()
            if lowered in _NOT_NAMES or lowered in _COMMON_ACRONYMS or len(lowered) < 2:
                continue
            opens = match.start() == len(sentence) - len(sentence.lstrip("\"'(“ -*•"))
            follows = position + 1 < len(tokens) and tokens[position + 1].start() - match.end() <= 1
            if not opens or follows or token.isupper() or lowered in _MONTHS_DAYS:
                found.add(lowered)
    return found


@dataclass(frozen=True)
class Option:
    letter: str
    text: str


_INLINE_OPTION = re.compile(r"\(([A-Ha-h])\)\s*([^()]*?)(?=\s*\([A-Ha-h]\)|$)", re.DOTALL)
_LINE_OPTION = re.compile(r"^\s*\(?([A-Ha-h])[).:]\s+(.+?)\s*$", re.MULTILINE)


def options(instruction: str) -> dict[str, str]:
    """Multiple-choice options by upper-case letter, written inline `(A) x (B) y` or one per line `A) x` / `A. x`."""
    # Options written inline, one per line, or both (the first inline after the question, the rest on lines).
    found = {m.group(1).upper(): m.group(2).strip(" ;,\n") for m in _INLINE_OPTION.finditer(instruction)}
    found |= {m.group(1).upper(): m.group(2).strip(" ;,") for m in _LINE_OPTION.finditer(instruction)}
    letters = sorted(found)
    # Real options run A, B, C, ... without gaps; the lettered items of an ordering or matching task are not options.
    if (
        len(letters) < 2
        or letters != [chr(ord("A") + i) for i in range(len(letters))]
        or _ITEM_TASK.search(instruction)
    ):
        return {}
    return found


_ITEM_TASK = re.compile(r"\b(?:order|sequence|arrange|chronolog\w*|match\w*|pair each|put these)\b", re.IGNORECASE)


_CHOSEN = re.compile(r"\(([A-Ha-h])\)|^\s*([A-H])[).:,]?(?:\s|$)|\b(?:answer|option|choice) is:?\s*\(?([A-Ha-h])\b")


def chosen_letters(response: str) -> list[tuple[str, str]]:
    """The option letters a response picks, each with the text that follows it (up to the end of its clause)."""
    chosen = []
    for match in _CHOSEN.finditer(response):
        letter = next(group for group in match.groups() if group).upper()
        rest = response[match.end() :]
        if re.match(r"[.:]", match.group(0).strip()[-1:]) or re.match(r"\s*[.:]", rest):
            chosen.append((letter, ""))  # "B." / "(B):" ends the pick; what follows is the reasoning, not the option
            continue
        clause = re.split(r"[.;:\n]|,\s*(?:which|because|since|as|so)\b|\s+(?:because|since)\b", rest, maxsplit=1)[0]
        chosen.append((letter, clause.strip(" ,-—")))
    return chosen


_NUMBER_WORD = r"(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|\d+)"


def _count(word: str) -> int:
    return int(word) if word.isdigit() else int(_NUMBER_WORDS[word.lower()])


@dataclass(frozen=True)
class Constraint:
    """A limit an instruction puts on the form of its answer."""

    kind: str
    """`max_words`, `sentences`, `items`, `true_false`, `yes_no`, `only`."""
    value: int = 0


_CONSTRAINTS = (
    (re.compile(r"\b(?:in|with|using|give|answer in)\s+(?:a\s+)?(?:single|one)\s+word\b", re.I), "max_words", 1),
    (
        re.compile(
            rf"\b(?:in|with)\s+(?:no more than|at most|fewer than|under|less than|not more than)\s+{_NUMBER_WORD}"
            r"\s+words\b",
            re.I,
        ),
        "max_words",
        None,
    ),  # fmt: skip
    (re.compile(rf"\b{_NUMBER_WORD}\s+words\s+or\s+(?:fewer|less)\b", re.I), "max_words", None),
    (re.compile(rf"\b(?:in|using|with|write)\s+(?:exactly\s+)?{_NUMBER_WORD}\s+sentences?\b", re.I), "sentences", None),
    (re.compile(r"\b(?:in|with)\s+(?:a single|one)\s+sentence\b", re.I), "sentences", 1),
    (re.compile(rf"\blist\s+(?:exactly\s+)?{_NUMBER_WORD}\b", re.I), "items", None),
    (
        re.compile(
            r"\b(?:answer|reply|respond)\s+(?:with\s+)?(?:only\s+)?['\"]?true['\"]?\s+or\s+['\"]?false['\"]?\s+only"
            r"|\btrue or false only\b",
            re.I,
        ),
        "true_false",
        0,
    ),  # fmt: skip
    (
        re.compile(r"\b(?:answer|reply)\s+(?:with\s+)?(?:only\s+)?yes\s+or\s+no\s+only|\byes or no only\b", re.I),
        "yes_no",
        0,
    ),  # fmt: skip
    (
        re.compile(
            r"\b(?:a single number|the number only|only the number|(?:the )?name only|only the name|nothing else"
            r"|no other text|the year only|only the year|just the (?:name|number|year|word))\b",
            re.I,
        ),
        "only",
        0,
    ),  # fmt: skip
)


def constraints(instruction: str) -> list[Constraint]:
    """The form constraints an instruction states ("in one word", "in under 20 words", "in exactly two sentences",
    "list three", "True or False only", "the name only")."""
    found = []
    for pattern, kind, fixed in _CONSTRAINTS:
        match = pattern.search(instruction)
        if match:
            value = fixed if fixed is not None else _count(next(g for g in match.groups() if g))
            found.append(Constraint(kind, value))
    return found


def answer_items(response: str) -> list[str]:
    """The items of a list answer: one per line when it has several lines, else comma/semicolon separated."""
    lines = [re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip() for line in response.splitlines() if line.strip()]
    if len(lines) > 1:
        return lines
    text = re.sub(r"\s+and\s+", ", ", response.strip().rstrip("."))
    return [item.strip() for item in re.split(r"[,;]", text) if item.strip()]


_PRONOUN_OPENING = re.compile(r"^\W*(?:it|its|they|their|this|these|he|she|his|her|there)\b", re.IGNORECASE)


def sentence_stems(passage: str) -> list[tuple[str, set[str]]]:
    """Each sentence with its content stems; one that opens with a pronoun ("It is 420 meters long") also counts
    the stems of the sentence before it, whose subject it continues."""
    found: list[tuple[str, set[str]]] = []
    for sentence in sentences(passage):
        stems = content_stems(sentence)
        if found and _PRONOUN_OPENING.search(sentence):
            stems = stems | found[-1][1]
        found.append((sentence, stems))
    return found


def focus_sentences(passage: str, question_stems: set[str]) -> tuple[list[str], int]:
    """The passage sentences that share the most content stems with the question, and that count."""
    scored = [(len(question_stems & stems), sentence) for sentence, stems in sentence_stems(passage)]
    best = max((score for score, _ in scored), default=0)
    return [sentence for score, sentence in scored if score == best], best
