"""Validators of the creative-content skill: a poem, story, advertisement, slogan, letter or dialogue drawn from the
source's facts, under constraints the request states and a rule can check.

`brief_of` reads the checkable constraints of a request: lengths (words, sentences, lines, stanzas, characters, a
number of slogans), forms (haiku, limerick, sonnet, acrostic, dialogue, letter), words to include, an opening or
closing phrase, hashtags and a point of view; vocabulary limits (a letter or words to avoid, short words only) are
read and checked by the text-modification skill's rules. A request must name a creative form and state at least one
checkable constraint. The piece must meet them, must not be a refusal or wrapped in commentary, must draw on the
source (shared content words) without copying a long run of it, and must invent no figures.

Syllables are counted by a spelling heuristic (`syllables`: vowel groups, less a silent final e), right for most
everyday words and off by one on some; a haiku line may miss its count by one syllable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache, partial

from agentinstruct.metrics.grounding import content_stems, sentences, underived_figures
from agentinstruct.metrics.skills.data_to_text import copies_worked_example
from agentinstruct.metrics.skills.text_modification import (
    COUNT_PATTERN,
    FORBIDDEN_REQUEST,
    LETTER_REQUEST,
    MAX_LETTERS_REQUEST,
    longest_shared_run,
    number_value,
    vocabulary_limit_broken,
)
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, malformed_instruction

SKILL = "creative_content"
MAX_COPIED_RUN = 10
"""Most words in a row a piece may share with its source (a name with its description runs to six or seven)."""
HAIKU_SYLLABLES = (5, 7, 5)
SYLLABLE_SLACK = 1
"""How far a haiku line's heuristic syllable count may be from its target."""
ABOUT_SLACK = 0.25
"""How far from N words "about N words" may be; "a 50-word story" may be 10% off."""

_Q = r"['\"“‘]([^'\"”’\n]{1,60})['\"”’]"
_QUOTED_LIST = rf"((?:{_Q}(?:\s*,\s*|\s*,?\s+(?:and|or)\s+)?)+)"
_NUM = COUNT_PATTERN[1:-1]

# --------------------------------------------------------------------------------------------------------------------
# Reading the request
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    """The checkable constraints of a creative request (None or empty: not stated)."""

    min_words: int | None = None
    max_words: int | None = None
    sentences: int | None = None
    max_sentences: int | None = None
    lines: int | None = None
    max_lines: int | None = None
    stanzas: int | None = None
    lines_per_stanza: int | None = None
    max_chars: int | None = None
    items: int | None = None
    item_max_words: int | None = None
    hashtags: int | None = None
    include: tuple[tuple[str, ...], ...] = ()
    """Words or phrases to include; a group joined by "or" needs any one of its members."""
    opening: str | None = None
    ending: str | None = None
    person: str | None = None
    """`first`, `second` or `third`."""
    forms: frozenset[str] = field(default_factory=frozenset)
    acrostic: str | None = None
    title: bool = False
    vocabulary: bool = False

    def checkable(self) -> bool:
        """Whether the request states anything a rule can check."""
        values = (self.min_words, self.max_words, self.sentences, self.max_sentences, self.lines, self.max_lines)
        values += (self.stanzas, self.max_chars, self.items, self.hashtags, self.opening, self.ending, self.person)
        return any(v is not None for v in values) or bool(self.include or self.forms or self.vocabulary)


_FORM_WORDS = re.compile(
    r"\b(?:poems?|poetry|verses?|haikus?|limericks?|sonnets?|acrostics?|odes?|ballads?|songs?|lyrics|jingles?|chorus"
    r"|raps?|stor(?:y|ies)|tales?|fables?|parables?|anecdotes?|scenes?|scripts?|dialogues?|conversations?|monologues?"
    r"|speech(?:es)?|toasts?|letters?|postcards?|notes?|diary|diaries|journal|blog|posts?|tweets?|advert\w*|ads?"
    r"|commercials?|slogans?|taglines?|mottos?|descriptions?|blurbs?|brochures?|flyers?|posters?|invitations?"
    r"|riddles?|jokes?|puns?|menus?|eulog(?:y|ies)|reviews?|announcements?|cards?|couplets?|quatrains?|cinquains?"
    r"|tankas?|pitch(?:es)?|profiles?|obituar(?:y|ies)|fairy tales?|sketch(?:es)?|vignettes?)\b",
    re.IGNORECASE,
)
_ITEM_WORDS = (
    r"slogans?|taglines?|titles?|headlines?|names?|mottos?|captions?|jingles?|one-liners?|puns?|catchphrases?|jokes?"
)
_EACH_LIMIT = re.compile(
    rf"\beach\s+(?:of\s+(?:them|which)\s+)?(?:(?:with|in|of|using)\s+)?"
    rf"(?P<bound>no more than|at most|under|fewer than|less than|up to|not more than)\s+(?P<n>{_NUM})\s+words\b",
    re.IGNORECASE,
)
_STANZAS = re.compile(
    rf"\b(?P<s>{_NUM})\s+(?:\w+\s+)?stanzas?(?:\s+(?:of|with)\s+(?P<l>{_NUM})\s+lines?(?:\s+each)?)?"
    rf"|\b(?P<s2>{_NUM})\s+(?P<l2>{_NUM})-line\s+stanzas\b",
    re.IGNORECASE,
)
_MAX_WORDS = re.compile(
    rf"\b(?P<bound>no more than|at most|fewer than|under|less than|not more than|a maximum of|up to|not exceeding"
    rf"|within)\s+(?P<n>{_NUM})\s+words\b|\b(?P<n2>{_NUM})\s+words\s+or\s+(?:fewer|less)\b",
    re.IGNORECASE,
)
_MIN_WORDS = re.compile(
    rf"\b(?P<bound>at least|no fewer than|no less than|a minimum of|(?<!no )(?<!not )more than|over)\s+(?P<n>{_NUM})"
    r"\s+words\b",
    re.IGNORECASE,
)
_RANGE_WORDS = re.compile(rf"\b(?:between\s+)?(?P<a>{_NUM})\s*(?:-|–|to|and)\s*(?P<b>{_NUM})\s+words\b", re.I)
_EXACT_WORDS = re.compile(rf"\bexactly\s+(?P<n>{_NUM})\s+words\b", re.IGNORECASE)
_ABOUT_WORDS = re.compile(rf"\b(?:about|around|roughly|approximately)\s+(?P<n>{_NUM})\s+words\b", re.IGNORECASE)
_HYPHEN_WORDS = re.compile(r"\b(?P<n>\d+)-word\b", re.IGNORECASE)
_SENTENCES = re.compile(
    rf"\b(?:(?:in|of|with|using|write|tell\s+\w+(?:\s+\w+){{0,6}}\s+in)\s+)(?:exactly\s+)?(?P<n>{_NUM})\s+sentences?\b"
    rf"|\b(?P<n2>{_NUM})-sentence\b",
    re.IGNORECASE,
)
_MAX_SENTENCES = re.compile(
    rf"\b(?:no more than|at most|up to|not more than)\s+(?P<n>{_NUM})\s+sentences?\b", re.IGNORECASE
)
_LINES = re.compile(
    rf"\b(?:(?:of|in|with|exactly|has|having)\s+)(?:exactly\s+)?(?P<n>{_NUM})\s+lines?\b(?!\s+(?:each|per|for each))"
    rf"|\b(?P<n2>{_NUM})-line\b(?!\s+stanzas)",
    re.IGNORECASE,
)
_MAX_LINES = re.compile(rf"\b(?:no more than|at most|up to|not more than)\s+(?P<n>{_NUM})\s+lines\b", re.IGNORECASE)
_MAX_CHARS = re.compile(
    r"\b(?P<bound>no more than|at most|under|fewer than|less than|up to|within|not more than|a maximum of)\s+"
    r"(?P<n>\d+)\s+characters\b",
    re.IGNORECASE,
)
_ITEMS = re.compile(
    rf"\b(?:write|give|suggest|create|list|offer|come up with|propose|draft|invent)\s+(?:me\s+)?(?:exactly\s+)?"
    rf"(?P<n>{_NUM})\s+(?:[\w-]+\s+){{0,3}}?(?:{_ITEM_WORDS})\b",
    re.IGNORECASE,
)
_HASHTAGS = re.compile(rf"\b(?:exactly\s+)?(?P<n>{_NUM}|no)\s+hashtags?\b", re.IGNORECASE)
_INCLUDE = re.compile(rf"\b(?:the\s+)?(?:words?|phrases?|terms?|names?|lines?)\s+{_QUOTED_LIST}", re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:without|avoid\w*|not|never|no|don't|don’t|except|forbid\w*|ban\w*)\b[^.;]*$", re.I)
_ENDING = re.compile(
    rf"\b(?:end(?:ing|s)?|finish(?:ing|es)?|clos(?:e|es|ing))\s+(?:it\s+)?(?:with|on)\s+(?:the\s+(?:line|question"
    rf"|words?|phrase)\s+)?{_Q}",
    re.IGNORECASE,
)
_OPENING = re.compile(
    rf"\b(?:start(?:ing|s)?|begin(?:ning|s)?|open(?:ing|s)?)\s+(?:it\s+)?with\s+(?:the\s+(?:line|words?|phrase)\s+)?"
    rf"{_Q}",
    re.IGNORECASE,
)
_PERSON = re.compile(r"\b(first|second|third)[- ]person\b", re.IGNORECASE)
_TITLE = re.compile(r"\b(?:with|give it|add|include|and)\s+a\s+(?:short\s+)?title\b|\btitled\b", re.IGNORECASE)
_LETTER_FORM = re.compile(
    r"\b(?:a|an|short|brief|formal|open|thank-you|thank you|cover|love|warm)\s+(?:letter|postcard)\b"
    r"|\b(?:letter|postcard)\s+(?:from|to)\b",
    re.IGNORECASE,
)
_SHAPES = {
    "haiku": re.compile(r"\bhaikus?\b", re.IGNORECASE),
    "limerick": re.compile(r"\blimericks?\b", re.IGNORECASE),
    "sonnet": re.compile(r"\bsonnets?\b", re.IGNORECASE),
    "couplet": re.compile(r"\b(?:a|one)\s+(?:rhyming\s+)?couplet\b", re.IGNORECASE),
    "quatrain": re.compile(r"\b(?:a|one)\s+quatrain\b", re.IGNORECASE),
    "dialogue": re.compile(r"\bdialogue\b|\bconversation\b.*\bName:", re.IGNORECASE),
}
_SHAPE_LINES = {"haiku": 3, "limerick": 5, "sonnet": 14, "couplet": 2, "quatrain": 4}


def _n(match: re.Match, *names: str) -> int:
    return number_value(next(match.group(name) for name in names if match.group(name)))


def _acrostic_word(instruction: str) -> str | None:
    """The word an acrostic must spell: quoted, in capitals, or after "the word" / "the name"."""
    for sentence in re.split(r"(?<=[.!?])\s+", instruction):
        if not re.search(r"\bacrostic\b", sentence, re.IGNORECASE):
            continue
        quoted = re.search(_Q, sentence)
        capitals = re.search(r"\b[A-Z]{2,}\b", sentence)
        named = re.search(r"\bthe\s+(?:word|name)\s+([A-Za-z]{2,})", sentence)
        found = quoted or capitals or named
        if found:
            return re.sub(r"[^A-Za-z]", "", found.group(1) if found.groups() else found.group(0)).upper() or None
    return None


def _quoted(listed: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in re.findall(_Q, listed) if item.strip())


@lru_cache(maxsize=256)
def brief_of(instruction: str) -> Brief:
    """The checkable constraints of a request (see `Brief`)."""
    text = instruction
    values: dict[str, object] = {}
    each = _EACH_LIMIT.search(text)
    if each:
        strict = each.group("bound").lower() in ("under", "fewer than", "less than")
        values["item_max_words"] = number_value(each.group("n")) - strict
        text = text[: each.start()] + text[each.end() :]
    stanzas = _STANZAS.search(text)
    if stanzas:
        values["stanzas"] = _n(stanzas, "s", "s2")
        if stanzas.group("l") or stanzas.group("l2"):
            values["lines_per_stanza"] = _n(stanzas, "l", "l2")
            values["lines"] = values["stanzas"] * values["lines_per_stanza"]
        text = text[: stanzas.start()] + text[stanzas.end() :]
    if (match := _RANGE_WORDS.search(text)) and not _MAX_WORDS.search(text):
        values["min_words"], values["max_words"] = sorted(
            (number_value(match.group("a")), number_value(match.group("b")))
        )
    if match := _MAX_WORDS.search(text):
        strict = (match.group("bound") or "").lower() in ("fewer than", "under", "less than")
        values["max_words"] = _n(match, "n", "n2") - strict
    if match := _MIN_WORDS.search(text):
        strict = match.group("bound").lower() in ("more than", "over")
        values["min_words"] = _n(match, "n") + strict
    if match := _EXACT_WORDS.search(text):
        values["min_words"] = values["max_words"] = _n(match, "n")
    for pattern, slack in ((_ABOUT_WORDS, ABOUT_SLACK), (_HYPHEN_WORDS, 0.1)):
        match = pattern.search(text)
        if match and "max_words" not in values:
            wanted = _n(match, "n")
            values["min_words"], values["max_words"] = round(wanted * (1 - slack)), round(wanted * (1 + slack))
    if match := _SENTENCES.search(text):
        values["sentences"] = _n(match, "n", "n2")
    if match := _MAX_SENTENCES.search(text):
        values["max_sentences"] = _n(match, "n")
    if "lines" not in values and (match := _LINES.search(text)):
        values["lines"] = _n(match, "n", "n2")
    if match := _MAX_LINES.search(text):
        values["max_lines"] = _n(match, "n")
    if match := _MAX_CHARS.search(text):
        strict = match.group("bound").lower() in ("under", "fewer than", "less than")
        values["max_chars"] = int(match.group("n")) - strict
    if match := _ITEMS.search(text):
        values["items"] = _n(match, "n")
    if match := _HASHTAGS.search(text):
        values["hashtags"] = 0 if match.group("n").lower() == "no" else _n(match, "n")
    include = []
    for match in _INCLUDE.finditer(text):
        before = text[max(0, match.start() - 40) : match.start()]
        if _NEGATED.search(before) or re.search(r"\b(?:end|finish|clos|start|begin|open)\w*\s+with\s+$", before, re.I):
            continue
        items = _quoted(match.group(1))
        if items:
            include += [items] if re.search(r"\sor\s", match.group(1)) else [(item,) for item in items]
    values["include"] = tuple(include)
    if match := _ENDING.search(text):
        values["ending"] = match.group(1).strip()
    if match := _OPENING.search(text):
        values["opening"] = match.group(1).strip()
    if match := _PERSON.search(text):
        values["person"] = match.group(1).lower()
    forms = {name for name, pattern in _SHAPES.items() if pattern.search(text)}
    if _LETTER_FORM.search(text) and not re.search(r"\bthe\s+letter\s+['\"“‘]?[A-Za-z]\b", text):
        forms.add("letter")
    acrostic = _acrostic_word(text) if re.search(r"\bacrostic\b", text, re.IGNORECASE) else None
    if acrostic:
        forms.add("acrostic")
    values["forms"] = frozenset(forms)
    values["acrostic"] = acrostic
    values["title"] = bool(_TITLE.search(text))
    negated_letter = any(
        _NEGATED.search(text[max(0, m.start() - 40) : m.start()]) for m in LETTER_REQUEST.finditer(text)
    )
    values["vocabulary"] = bool(FORBIDDEN_REQUEST.search(text) or MAX_LETTERS_REQUEST.search(text) or negated_letter)
    return Brief(**values)


# --------------------------------------------------------------------------------------------------------------------
# Reading the piece
# --------------------------------------------------------------------------------------------------------------------


def _lines(response: str, brief: Brief) -> list[str]:
    """The piece's non-empty lines (a title line left out when the request asks for a title)."""
    lines = [line.strip() for line in response.strip().splitlines() if line.strip()]
    return lines[1:] if brief.title and len(lines) > 1 else lines


def _stanzas(response: str, brief: Brief) -> list[str]:
    blocks = [block for block in re.split(r"\n\s*\n", response.strip()) if block.strip()]
    return blocks[1:] if brief.title and len(blocks) > 1 and len(blocks[0].splitlines()) == 1 else blocks


_VOWELS = re.compile(r"[aeiouy]+")
_SILENT_ENDING = re.compile(r"[^aeiouy](?:e|es|ed)$")
_SOUNDED_ENDING = re.compile(r"(?:[^aeiouy]le|[td]ed|[sxz]es|[cs]hes|[cg]es|[tbcdgpv](?:re|res))$")


def syllables(word: str) -> int:
    """A spelling estimate of a word's syllables: its vowel groups (y counts), less a silent final e, -es or -ed
    ("hives" 1, "cranked" 1), kept where they are sounded ("apple" 2, "planted" 2, "metres" 2); a number counts by
    its digits, roughly."""
    if word.isdigit():
        return max(1, len(word))
    letters = re.sub(r"[^a-z]", "", word.lower())
    if not letters:
        return 0
    if len(letters) <= 3:
        return 1
    count = len(_VOWELS.findall(letters))
    if _SILENT_ENDING.search(letters) and not _SOUNDED_ENDING.search(letters):
        count -= 1
    return max(1, count)


def line_syllables(line: str) -> int:
    return sum(syllables(token) for token in re.findall(r"[A-Za-z0-9'’]+", line))


def _rhyme_key(word: str) -> str:
    letters = re.sub(r"[^a-z]", "", word.lower())
    if len(letters) > 3 and letters.endswith("s") and not letters.endswith("ss"):
        letters = letters[:-1]
    match = re.search(r"[aeiouy]+[^aeiouy]*e$", letters) if re.search(r"[^aeiouy]e$", letters) else None
    match = match or re.search(r"[aeiouy]+[^aeiouy]*$", letters)
    return match.group(0) if match else letters


def rhymes(a: str, b: str) -> bool:
    """Whether two words rhyme by spelling: the same last vowel group and what follows it ("gate" / "late", "Moy" /
    "joy"), or the same last three letters."""
    x, y = re.sub(r"[^a-z]", "", a.lower()), re.sub(r"[^a-z]", "", b.lower())
    if not x or not y:
        return False
    return _rhyme_key(x) == _rhyme_key(y) or (len(x) >= 3 and len(y) >= 3 and x[-3:] == y[-3:])


def _last_word(line: str) -> str:
    found = re.findall(r"[A-Za-z']+", line)
    return found[-1] if found else ""


def _phrase_words(text: str) -> list[str]:
    return words(text.replace("’", "'"))


def _has_phrase(text: str, phrase: str) -> bool:
    """A phrase in the text as whole words; a single word may be inflected ("blossoms", "pressed" for "press")."""
    wanted = _phrase_words(phrase)
    if not wanted:
        return True
    tokens = _phrase_words(text)
    if len(wanted) == 1:
        word = wanted[0]
        return any(token == word or (token.startswith(word) and len(token) - len(word) <= 3) for token in tokens)
    return any(tokens[i : i + len(wanted)] == wanted for i in range(len(tokens) - len(wanted) + 1))


# --------------------------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------------------------


def _no_creative_form(view: PairView) -> str | None:
    """The request names a creative form: a poem, story, advertisement, slogan, letter, dialogue, riddle, ..."""
    return None if _FORM_WORDS.search(view.instruction) else "the request names no creative form (poem, story, ...)"


def _unconstrained(view: PairView) -> str | None:
    """The request states at least one constraint a rule can check (see `brief_of`)."""
    if brief_of(view.instruction).checkable():
        return None
    return "the request states no checkable constraint (a form, a length, words to include, a point of view)"


_OPENER = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|absolutely|okay|ok|gladly|great)\b(?:\s*[!,.:]|\s+(?:here|below|i\b|this is))"
    r"|(?:here(?:'s|’s| is| are)|below (?:is|are))\s+(?:a|an|the|your|my|some)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:poems?|haikus?|limericks?|acrostics?|sonnets?|stor(?:y|ies)|ads?|advert\w*|slogans?|taglines?|descriptions?"
    r"|letters?|dialogues?|pieces?|versions?|drafts?|entr(?:y|ies)|posts?|riddles?|verses?|options?)\b"
    r"|title\s*:)",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"\b(?:i(?:'m| am) sorry|i (?:cannot|can't|can’t|can not|won't|am unable to|'m unable to)"
    r"|as an ai|as a language model)\b[^.!?\n]*\b(?:write|help|create|provide|comply|fulfil\w*|do that|assist"
    r"|generate|produce)\b",
    re.IGNORECASE,
)
_CLOSER = re.compile(
    r"^\W*(?:note|notes|word count|explanation|title|analysis)\s*:|\(\s*\d+\s+(?:words|syllables|lines)\s*\)"
    r"|\b(?:i hope (?:you|this)|let me know|feel free to)\b"
    r"|^\W*this (?:poem|haiku|limerick|acrostic|story|piece|ad|advert\w*|letter|dialogue|riddle|verse|sonnet)\s+"
    r"(?:uses|captures|highlights|celebrates|follows|meets|has|is|was|contains|combines|draws)\b",
    re.IGNORECASE,
)


def _refusal_or_meta(view: PairView) -> str | None:
    """The piece is the piece: not a refusal, not opened with a chat preamble ("Sure! Here is a haiku:") and not
    closed with notes about itself ("This poem captures ...", "(48 words)")."""
    lines = [line.strip() for line in view.response.strip().splitlines() if line.strip()]
    if not lines:
        return None
    first = " ".join(lines[:2])
    if _REFUSAL.search(first):
        return f"the piece is a refusal: '{lines[0][:60]}'"
    if _OPENER.search(lines[0]) and not (brief_of(view.instruction).title and lines[0].lower().startswith("title")):
        return f"the piece opens with commentary: '{lines[0][:60]}'"
    for line in lines[-2:] if len(lines) > 1 else lines:
        if _CLOSER.search(line):
            return f"the piece ends with commentary: '{line[:60]}'"
    return None


def _length_wrong(view: PairView) -> str | None:
    """The piece's length in words, sentences and characters is what the request states (at most, at least, exactly,
    between, about N words; N sentences; at most N characters)."""
    brief = brief_of(view.instruction)
    text = view.response.strip()
    count = len(words(text))
    if brief.max_words is not None and count > brief.max_words:
        return f"the request allows at most {brief.max_words} words; the piece has {count}"
    if brief.min_words is not None and count < brief.min_words:
        return f"the request asks for at least {brief.min_words} words; the piece has {count}"
    found = len([s for s in sentences(" ".join(text.split())) if len(words(s)) >= 2])
    if brief.sentences is not None and found != brief.sentences:
        return f"the request asks for {brief.sentences} sentence(s); the piece has {found}"
    if brief.max_sentences is not None and found > brief.max_sentences:
        return f"the request allows at most {brief.max_sentences} sentence(s); the piece has {found}"
    if brief.max_chars is not None and len(text) > brief.max_chars:
        return f"the request allows at most {brief.max_chars} characters; the piece has {len(text)}"
    return None


def _lines_wrong(view: PairView) -> str | None:
    """The piece has the lines the request states: N lines (or at most N), N stanzas (of M lines each), or N slogans
    one per line, each within its word limit."""
    brief = brief_of(view.instruction)
    lines = _lines(view.response, brief)
    wanted = brief.lines or brief.items
    if wanted is not None and len(lines) != wanted:
        return f"the request asks for {wanted} lines; the piece has {len(lines)}"
    if brief.max_lines is not None and len(lines) > brief.max_lines:
        return f"the request allows at most {brief.max_lines} lines; the piece has {len(lines)}"
    if brief.stanzas is not None:
        blocks = _stanzas(view.response, brief)
        if len(blocks) != brief.stanzas:
            return f"the request asks for {brief.stanzas} stanzas; the piece has {len(blocks)}"
        if brief.lines_per_stanza is not None:
            sizes = [len([line for line in block.splitlines() if line.strip()]) for block in blocks]
            if any(size != brief.lines_per_stanza for size in sizes):
                return f"the request asks for stanzas of {brief.lines_per_stanza} lines; the piece's have {sizes}"
    if brief.item_max_words is not None:
        long = [line for line in lines if len(words(line)) > brief.item_max_words]
        if long:
            return f"the request allows {brief.item_max_words} words per line; '{long[0][:50]}' has more"
    return None


_GREETING = re.compile(r"^\W*(?:dear|hello|hi|to|greetings|my dear|good (?:morning|afternoon|evening))\b", re.I)
_SIGN_OFF = re.compile(
    r"^\W*(?:yours|sincerely|best|warm|warmest|kind|love|regards|with|thank|thanks|cheers|all the best|until|see you)"
    r"\b|,\s*$",
    re.IGNORECASE,
)
_SPEAKER = re.compile(r"^\W*([A-Z][\w .'’-]{0,30}?)\W*:\s*\S")


def _form_broken(view: PairView) -> str | None:
    """The piece has the form the request names: a haiku's three lines of about 5, 7 and 5 syllables, a limerick's
    five lines with rhyming ends, a sonnet's 14 lines, an acrostic's initials spelling its word, a dialogue's
    'Name: line' lines between at least two speakers, a letter's greeting and sign-off, the stated opening or closing
    words, and the stated number of hashtags."""
    brief = brief_of(view.instruction)
    lines = _lines(view.response, brief)
    for form, size in _SHAPE_LINES.items():
        if form in brief.forms and brief.lines is None and len(lines) != size:
            return f"a {form} has {size} lines; the piece has {len(lines)}"
    if "haiku" in brief.forms and len(lines) == 3:
        counts = [line_syllables(line) for line in lines]
        if any(abs(count - target) > SYLLABLE_SLACK for count, target in zip(counts, HAIKU_SYLLABLES, strict=True)):
            return f"a haiku's lines have 5, 7 and 5 syllables; the piece's have about {counts}"
    if "limerick" in brief.forms and len(lines) == 5:
        ends = [_last_word(line) for line in lines]
        if not (rhymes(ends[0], ends[1]) or rhymes(ends[0], ends[4]) or rhymes(ends[1], ends[4])):
            return f"a limerick's lines 1, 2 and 5 rhyme; the piece ends them with {ends[0]}, {ends[1]}, {ends[4]}"
    if brief.acrostic:
        initials = "".join(next((ch for ch in line if ch.isalpha()), "") for line in lines).upper()
        if initials != brief.acrostic:
            return f"the acrostic must spell {brief.acrostic}; its lines start with {initials or 'nothing'}"
    if "dialogue" in brief.forms:
        speakers = [match.group(1).strip() for line in lines if (match := _SPEAKER.match(line))]
        if len(speakers) < 0.8 * len(lines) or len(set(speakers)) < 2:
            return "the request asks for a dialogue; the piece's lines are not 'Name: line' lines between two speakers"
    if "letter" in brief.forms and lines:
        if not _GREETING.search(lines[0]):
            return f"a letter opens with a greeting; the piece opens with '{lines[0][:40]}'"
        if len(lines) < 3 or not any(_SIGN_OFF.search(line) for line in lines[-3:]):
            return "a letter ends with a sign-off; the piece has none"
    if brief.ending and not _ends_with(view.response, brief.ending):
        return f"the request asks the piece to end with '{brief.ending}'"
    if brief.opening and _phrase_words(view.response)[: len(_phrase_words(brief.opening))] != _phrase_words(
        brief.opening
    ):
        return f"the request asks the piece to open with '{brief.opening}'"
    if brief.hashtags is not None:
        found = len(re.findall(r"(?<!\w)#\w+", view.response))
        if found != brief.hashtags:
            return f"the request asks for {brief.hashtags} hashtag(s); the piece has {found}"
    return None


def _ends_with(text: str, phrase: str) -> bool:
    wanted = _phrase_words(phrase)
    return _phrase_words(text)[-len(wanted) :] == wanted if wanted else True


def _missing_words(view: PairView) -> str | None:
    """Every word or phrase the request says to include is in the piece (a single word may be inflected)."""
    for group in brief_of(view.instruction).include:
        if not any(_has_phrase(view.response, item) for item in group):
            return f"the request asks for '{' or '.join(group)}'; the piece lacks it"
    return None


_FIRST_PERSON = frozenset(["i", "me", "my", "mine", "myself", "we", "our", "ours", "ourselves"])
_QUOTED_SPEECH = re.compile(r"\"[^\"]*\"|“[^”]*”|^\W*[A-Z][\w .'’-]{0,30}?\W*:.*$", re.MULTILINE)


def _point_of_view_wrong(view: PairView) -> str | None:
    """The piece keeps the point of view the request states: a first-person piece says I or we; a third-person one
    says neither outside quoted speech; a second-person one addresses "you"."""
    person = brief_of(view.instruction).person
    if person is None:
        return None
    narration = set(words(_QUOTED_SPEECH.sub(" ", view.response)))
    if person == "first" and not narration & _FIRST_PERSON:
        return "the request asks for the first person; the piece never says I or we"
    if person == "third" and narration & _FIRST_PERSON:
        return f"the request asks for the third person; the piece says '{sorted(narration & _FIRST_PERSON)[0]}'"
    if person == "second" and not narration & {"you", "your", "yours", "yourself"}:
        return "the request asks for the second person; the piece never says you"
    return None


def _copies_source(view: PairView) -> str | None:
    """The piece does not copy a long run of its source (more than MAX_COPIED_RUN words in a row)."""
    if not view.passage:
        return None
    run = longest_shared_run(view.response, view.passage)
    if run > MAX_COPIED_RUN:
        return f"the piece copies {run} words in a row from the text"
    return None


def _ignores_source(view: PairView) -> str | None:
    """The piece draws on its source: it shares at least two content words with it (four once it has 40 words)."""
    if not view.passage:
        return None
    shared = content_stems(view.response) & content_stems(view.passage)
    needed = 4 if len(words(view.response)) >= 40 else 2
    if len(shared) < needed:
        return f"the piece shares {len(shared)} content word(s) with the text; it is not drawn from it"
    return None


def _invented_figures(view: PairView) -> str | None:
    """Every figure the piece writes in digits is in the text or the request: a poem may say "forty trees", but a
    price, date or time the text does not give is invented."""
    if not view.passage:
        return None
    extra = underived_figures(view.response, f"{view.passage}\n{view.instruction}", computing=False)
    if extra:
        return f"the piece states {extra[0]:g}, which the text does not give"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_worked_example, skill=SKILL)),
    Validator("no_creative_form", _no_creative_form),
    Validator("unconstrained", _unconstrained),
    Validator("refusal_or_meta", _refusal_or_meta),
    Validator("length_wrong", _length_wrong),
    Validator("lines_wrong", _lines_wrong),
    Validator("form_broken", _form_broken),
    Validator("missing_words", _missing_words),
    Validator("vocabulary_limit_broken", vocabulary_limit_broken),
    Validator("point_of_view_wrong", _point_of_view_wrong),
    Validator("copies_source", _copies_source),
    Validator("ignores_source", _ignores_source),
    Validator("invented_figures", _invented_figures),
)
