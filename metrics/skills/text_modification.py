"""Validators of the text-modification skill: the rewrite really changes the text, and it meets what the request asks
for wherever a rule can tell (capitalization, vocabulary limits, redaction, keyword replacement, output formats,
length, data formats, translation, labels, and meaning kept by paraphrases).

Which check applies is read from the request's wording; a check whose wording is absent passes. The readers of wording
are deliberately narrow: a request they do not recognise is not checked rather than checked wrongly.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import TYPE_CHECKING

from agentinstruct.metrics.grounding import constraints, sentences
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import Validator, copied_share, copies_demo

if TYPE_CHECKING:
    from agentinstruct.metrics.diversity import Embedder

PARAPHRASE_MIN_COSINE = 0.8
"""Least cosine (all-MiniLM-L6-v2) between a whole-text paraphrase and its text, set on hand-written pairs (the
calibration cases of tests/test_skill_text_modification.py are a sample): six faithful paraphrases and rewordings of
four texts scored 0.89-0.96; ten rewrites on another subject or with no content 0.01-0.48; two rewrites that keep the
names but change the facts 0.74 and 0.82. 0.8 leaves a 0.09 margin under the lowest faithful paraphrase, rejects any
drift to another subject and part of the same-names rewrites (telling those apart reliably needs more than a sentence
embedding)."""
PART_PARAPHRASE_MIN_COSINE = 0.6
"""Least cosine between a paraphrase of one part (a request naming a sentence or part, answered with under 60% of
the text's length) and the closest sentence or pair of sentences of the text: three faithful one-sentence paraphrases
scored 0.68-0.80, rewrites on another subject at most 0.48."""
MAX_COPIED_SHARE = 0.5
"""Most of a paraphrase's word 4-grams that may occur in its text: faithful paraphrases share 0-0.11, a copy with four
words swapped 0.88."""

SKILL = "text_modification"
_NUMBER_WORDS = {
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
    "fifteen": 15,
    "twenty": 20,
}
COUNT_PATTERN = r"(\d+|" + "|".join(_NUMBER_WORDS) + r")"
_QUOTED = r"['\"“‘]([^'\"”’\n]{1,60})['\"”’]"
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+")
_PHONE = re.compile(r"(?<![\w-])(?:\+?\d{1,3}[-.\s])?(?:\(\d{3}\)\s*|\d{3}[-.\s])?\d{3}[-.\s]\d{4}(?![\w-])")
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?"
    r"|Nov(?:ember)?|Dec(?:ember)?)"
)
_SLASH_DATE = re.compile(r"\b\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}(?:-\d{2})?\b")
_MONTH_DAY = re.compile(
    rf"\b{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?|\b\d{{1,2}}\s+{_MONTH}\b\.?(?:\s+\d{{4}})?"
)
_MONTH_YEAR = re.compile(rf"\b{_MONTH}\.?,?\s+\d{{4}}\b")
_CLOCK = re.compile(r"\b\d{1,2}(?::\d{2})?\s*(?:a\.?\s?m\b\.?|p\.?\s?m\b\.?)", re.IGNORECASE)
_CALENDAR = re.compile(rf"(?i:{_MONTH}|(?:mon|tues|wednes|thurs|fri|satur|sun)day)")
_PLACEHOLDER = re.compile(r"\[[A-Z][A-Z0-9 _-]*\]")
_SCOPE = re.compile(
    r"\b(?:first|second|third|fourth|fifth|last|final|opening|closing|sentences?|paragraphs?|lines?|quotes?|quotation"
    r"|headings?|headline|title|subject line|bullets?|sections?|parts?)\b",
    re.IGNORECASE,
)
"""Words by which a request points at one part of its text."""
_PARTIAL = re.compile(
    r"\b(?:first|second|third|fourth|fifth|last|final|opening|closing|sentences?|paragraphs?|lines?|quotes?|quotation"
    r"|headings?|headline|title|subject line|bullets?|items?|sections?|parts?|names?|words?|except|but not|other than"
    r"|apart from|only the|just the)\b",
    re.IGNORECASE,
)


def _plain(text: str) -> str:
    return " ".join(text.split())


def number_value(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER_WORDS[word.lower()]


def _clauses(instruction: str) -> list[str]:
    """The request's sentences (split where a sentence end is followed by a capital letter)."""
    return [part for part in re.split(r"(?<=[.!?;])\s+(?=[A-Z])", instruction) if part.strip()]


def _partial(instruction: str, *remove: re.Pattern[str]) -> bool:
    """Whether the request targets part of the text (a sentence, the names, "except ..."), once the phrases in
    `remove` (the request's own wording, such as "title case") are taken out."""
    text = re.sub(r"\bincluding\b[^,.;]*", " ", instruction, flags=re.IGNORECASE)
    for pattern in remove:
        text = pattern.sub(" ", text)
    return bool(_PARTIAL.search(text))


def _unquoted(text: str) -> str:
    """The text without e-mail addresses and web links, which keep their own spelling in any rewrite."""
    return _URL.sub(" ", _EMAIL.sub(" ", text))


# The rewrite is a rewrite.


def _unchanged(view: PairView) -> str | None:
    """The rewrite is the text itself (spacing and enclosing quotes aside)."""
    if not view.passage:
        return None
    strip = "\"'`“”‘’ \n"
    if _plain(view.response).strip(strip) == _plain(view.passage).strip(strip):
        return "the rewrite is the text unchanged"
    return None


_OPENING = re.compile(
    r"^\W*(?:(?:sure|certainly|of course|absolutely|okay|ok|gladly)\b[!,.]?\s*"
    r"(?:here|below|i(?:'ll|’ll| will| have|'ve|’ve)|this is|the (?:rewritten|revised|modified))\b"
    r"|(?:here(?:'s|’s| is| are)|below (?:is|are))\s+(?:the|your|a|an|my)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:text|version|rewrite|translation|paraphrase|summary|json|result|output)\b"
    r"|(?:rewritten|revised|modified|paraphrased|simplified|translated|edited|updated) (?:text|version)\s*:)",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"\b(?:i hope this helps|hope this helps"
    r"|let me know if you (?:need|want|would like) (?:any )?(?:further|more|other) (?:changes|edits|help))"
    r"|^\W*(?:note|notes|changes made|explanation)\s*:",
    re.IGNORECASE,
)
_SELF_REPORT = re.compile(
    r"\bi(?: have|'ve|’ve) \w+ed\b.*\b(?:the|your) (?:original|text|passage|request|rewrite)\b", re.I
)


def _adds_commentary(view: PairView) -> str | None:
    """The rewrite opens with a chat preamble ("Sure! Here is the rewritten text:") or ends with a note about itself,
    which the text it rewrites did not have."""
    lines = [line.strip() for line in view.response.strip().splitlines() if line.strip()]
    if not lines:
        return None
    source = view.passage.lower()
    opening = _OPENING.search(lines[0])
    if opening and opening.group(0).strip(" :!.").lower() not in source:
        return f"the rewrite opens with commentary: '{lines[0][:60]}'"
    closing = _CLOSING.search(lines[-1]) or _SELF_REPORT.search(lines[-1])
    if len(lines) > 1 and closing and closing.group(0).lower() not in source:
        return f"the rewrite ends with commentary: '{lines[-1][:60]}'"
    return None


def _copies_demo_text(view: PairView) -> str | None:
    """The text is the skill's demo text (a transformation agent that continued its demo), or the request is about the
    demo text rather than its own: it names people or places of the demo text that its text does not have ("Rewrite
    Lena's quote ..."). Requests are short and generic ("Rewrite the text in all capital letters."), so sharing the
    demos' wording alone is no copy."""
    reason = copies_demo(PairView(view.passage, "", view.response), skill=SKILL)
    if reason or not view.passage:
        return reason
    foreign = sorted(_entities(view.instruction) & _demo_entities() - set(words(view.passage)))
    if foreign:
        return f"the request is about the skill's worked example: it names {', '.join(foreign[:3])}, not in its text"
    return None


def _entities(text: str) -> set[str]:
    from agentinstruct.metrics.grounding import entity_words

    return {word for word in entity_words(text) if not _CALENDAR.fullmatch(word)}


@lru_cache(maxsize=1)
def _demo_entities() -> frozenset[str]:
    """The names of people and places in the skill's demo text: its capitalised words that it never writes in
    lowercase ("Lena", "Westvale"; not "Good" or "Owner")."""
    from agentinstruct.programs.skills import get_skill

    text = get_skill(SKILL).demo_passage
    return frozenset(_entities(text) - set(re.findall(r"\b[a-z][a-z'’-]*", text)))


# Capitalization.

_UPPER_REQUEST = re.compile(
    r"\b(?:all[- ]caps|(?:all\s+)?(?:capital|block)\s+letters|(?:all\s+)?upper[- ]?case(?:\s+letters)?)\b", re.I
)
_LOWER_REQUEST = re.compile(r"\b(?:all\s+)?lower[- ]?case(?:\s+letters)?(?:\s+only)?\b|\bno capital letters\b", re.I)
_TITLE_REQUEST = re.compile(r"\btitle[- ]case\b|\bcapitali[sz]e the first letter of (?:every|each) word\b", re.I)
_MINOR_WORDS = frozenset(
    ["a", "an", "the", "and", "but", "or", "nor", "for", "so", "yet", "of", "in", "on", "at", "to", "by", "up", "as"]
    + ["with", "from", "into", "onto", "over", "than", "via", "per"]
)


def _capitalization_ignored(view: PairView) -> str | None:
    """A request to put the whole text in capitals, lowercase or title case, and a rewrite that is not (e-mail
    addresses and links aside; 5% of letters may differ, as in "iPhone")."""
    requests = [(kind, pattern) for kind, pattern in (("upper", _UPPER_REQUEST), ("lower", _LOWER_REQUEST),
                ("title", _TITLE_REQUEST)) if pattern.search(view.instruction)]  # fmt: skip
    if len(requests) != 1 or _partial(view.instruction, requests[0][1]):
        return None
    kind = requests[0][0]
    text = _unquoted(view.response)
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) < 10:
        return None
    if kind == "upper":
        share = sum(ch.islower() for ch in letters) / len(letters)
        return (
            f"the request asks for capital letters; {share:.0%} of the letters are lowercase" if share > 0.05 else None
        )
    if kind == "lower":
        share = sum(ch.isupper() for ch in letters) / len(letters)
        return f"the request asks for lowercase; {share:.0%} of the letters are capitals" if share > 0.05 else None
    main = [w for w in re.findall(r"[A-Za-z][A-Za-z'’-]*", text) if w.lower() not in _MINOR_WORDS]
    lower = [w for w in main if w[0].islower()]
    if main and len(lower) > 0.1 * len(main):
        return f"the request asks for title case; {len(lower)} of {len(main)} words start lowercase ('{lower[0]}')"
    return None


# Vocabulary limits.

LETTER_REQUEST = re.compile(r"\bthe letter\s+['\"“‘]?([A-Za-z])\b")
_NEGATION = re.compile(r"\b(?:without|no|avoid\w*|never|not|don't|don’t)\b", re.I)
MAX_LETTERS_REQUEST = re.compile(
    r"\bwords?\s+(?:of|with|that have|having)\s+"
    r"(?P<bound>at most|no more than|up to|not more than|fewer than|less than)\s+"
    rf"(?P<n>{COUNT_PATTERN[1:-1]})\s+letters\b"
    rf"|\bno words?\s+(?:longer than|of more than|with more than|over)\s+(?P<n2>{COUNT_PATTERN[1:-1]})\s+letters\b"
    rf"|\bwords?\s+of\s+(?P<n3>{COUNT_PATTERN[1:-1]})\s+letters\s+or\s+(?:fewer|less)\b",
    re.I,
)
FORBIDDEN_REQUEST = re.compile(
    rf"\b(?:without(?: using)?|avoid(?:ing)?|(?:do not|don't|don’t|never|not) us(?:e|ing))\s+(?:the|any)?\s*words?\s+"
    rf"((?:{_QUOTED}(?:\s*,\s*|\s*,?\s+(?:or|and|nor)\s+)?)+)",
    re.I,
)


def vocabulary_limit_broken(view: PairView) -> str | None:
    """A stated vocabulary limit the rewrite breaks: a letter it must not use, words it must not use, or a most
    letters per word (e-mail addresses and links aside). Limits with exceptions ("except names") are not checked."""
    instruction = view.instruction
    if re.search(r"\b(?:except|apart from|other than|aside)\b", instruction, re.I):
        return None
    text = _unquoted(view.response)
    for match in LETTER_REQUEST.finditer(instruction):
        if _NEGATION.search(instruction[max(0, match.start() - 40) : match.start()]):
            letter = match.group(1).lower()
            found = [w for w in re.findall(r"[A-Za-z'’]+", text) if letter in w.lower()]
            if found:
                return f"the request forbids the letter '{letter}'; the rewrite uses it ('{found[0]}')"
    match = MAX_LETTERS_REQUEST.search(instruction)
    if match:
        strict = (match.group("bound") or "").lower() in ("fewer than", "less than")
        limit = number_value(match.group("n") or match.group("n2") or match.group("n3")) - strict
        long = [w for w in re.findall(r"[A-Za-z]+", text) if len(w) > limit]
        if long:
            return f"the request allows words of at most {limit} letters; the rewrite has '{long[0]}'"
    match = FORBIDDEN_REQUEST.search(instruction)
    if match:
        for word in re.findall(_QUOTED, match.group(1)):
            if re.search(rf"(?<![\w-]){re.escape(word.strip())}(?![\w-])", text, re.I):
                return f"the request forbids the word '{word.strip()}'; the rewrite uses it"
    return None


# Redaction and obfuscation.

_HIDE_VERB = (
    r"(?i:redact\w*|obfuscat\w*|anonymi[sz]\w*|mask(?:s|ing)?|hid(?:e|es|ing)|conceal(?:s|ing)?|censor(?:s|ing)?"
    r"|remov(?:e|es|ing)|delet(?:e|es|ing)|strip(?:s|ping)?|omit(?:s|ting)?|leave out|leaving out|black out|without"
    r"|(?P<replace>replac(?:e|es|ing)))"
)
_HIDDEN = (
    r"(?i:redacted|obfuscated|anonymi[sz]ed|masked|hidden|concealed|censored|removed|deleted|stripped|omitted"
    r"|left out|blacked out|(?P<replaced>replaced))"
)
_BY_PLACEHOLDER = re.compile(
    r"\b(?:with|by)\s+(?:\[[^\]]+\]|X+\b|\*+|#+|_{2,}|(?:an?\s+|the\s+)?(?:placeholders?|labels?|tags?|blanks?"
    r"|asterisks|underscores)\b)",
    re.I,
)
_KEEP = r"\b(?:keep\w*|preserv\w*|leave|leaving|without (?:chang|alter|los|touch)\w*)\s+(?:[\w'’-]+\s+){0,3}?"
_TARGETS = {
    "phone": r"(?i:\b(?:tele)?phone(?:\s+numbers?)?\b)",
    "email": r"(?i:\be-?mail\s+address(?:es)?\b|\be-?mails\b)",
    "digit": r"(?i:\b(?:every|each|any)\s+(?:single\s+)?(?:digit|number|numeral|figure)\b(?!\s+of)"
    r"|\b(?:all|the|any)\s+(?:of the\s+)?(?:digits|numbers|numerals|figures)\b(?!\s+of))",
    "date": r"(?i:\b(?:every|each|all|any|the)\s+dates?\b)",
    "names": r"\b(?i:names?)\s+(?:of\s+)?(?P<names>[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*"
    r"(?:(?:\s*,\s*|\s*,?\s+(?:and|or)\s+)[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*)*)",
}
_NEAR = r"\s+(?:\S+\s+){0,6}?"
_HIDE_TARGET = {
    target: (re.compile(rf"\b{_HIDE_VERB}{_NEAR}{pattern}"), re.compile(rf"{pattern}{_NEAR}{_HIDDEN}\b"))
    for target, pattern in _TARGETS.items()
}


def _hidden_target(clause: str, target: str) -> re.Match[str] | None:
    """Where the clause asks to hide `target`: a hiding verb a few words before it ("removing the phone number") or
    a past participle a few words after it ("the phone number removed"); replacing counts only by a placeholder."""
    for pattern in _HIDE_TARGET[target]:
        for match in pattern.finditer(clause):
            replacing = match.groupdict().get("replace") or match.groupdict().get("replaced")
            if not replacing or _BY_PLACEHOLDER.search(clause, match.start()):
                return match
    return None


def _left_over(target: str, text: str) -> str | None:
    """An item of `target` kind still in `text`."""
    if target == "phone":
        found = _PHONE.search(text)
    elif target == "email":
        found = _EMAIL.search(text)
    elif target == "digit":
        found = re.search(r"\d+", text)
    else:
        found = _SLASH_DATE.search(text) or _ISO_DATE.search(text) or _MONTH_DAY.search(text)
        found = found or _MONTH_YEAR.search(text)
    return found.group(0) if found else None


def _redaction_incomplete(view: PairView) -> str | None:
    """A request to hide or remove phone numbers, e-mail addresses, every digit, dates, or listed names, and a rewrite
    in which one is still there. Targets the request keeps ("keeping the phone number") or scopes to one part of the
    text ("in the first sentence") are not checked."""
    labels = {"phone": "phone numbers", "email": "e-mail addresses", "digit": "digits", "date": "dates"}
    response = _PLACEHOLDER.sub(" ", view.response)
    for clause in _clauses(view.instruction):
        if re.search(r"\b(?:first|second|third|last|sentence|paragraph|except)\b", clause, re.I):
            continue
        for target, label in labels.items():
            match = _hidden_target(clause, target)
            named = match and re.search(_TARGETS[target], match.group(0))
            if not named or re.search(_KEEP + re.escape(named.group(0)), clause, re.I):
                continue
            found = _left_over(target, response)
            if found:
                return f"the request hides {label}; the rewrite still has '{found}'"
        match = _hidden_target(clause, "names")
        if match:
            for name in re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", match.group("names")):
                if name.strip() and re.search(rf"(?<![\w-]){re.escape(name.strip())}(?![\w-])", response):
                    return f"the request hides the name '{name.strip()}'; the rewrite still has it"
    return None


def _placeholder_unused(view: PairView) -> str | None:
    """The request names a placeholder or tag to insert ("with [NAME]", "adding [DATE]"), and the rewrite never uses
    it."""
    for placeholder in dict.fromkeys(_PLACEHOLDER.findall(view.instruction)):
        if placeholder not in view.response and placeholder not in view.passage:
            return f"the request asks for {placeholder}; the rewrite never uses it"
    return None


# Keyword replacement.

_REPLACE_VERB = re.compile(r"\b(?:replac\w*|chang\w*|swap\w*|turn\w*)\b", re.I)
_PAIR = re.compile(rf"{_QUOTED}\s+(?:with|by|to|into|for|becomes|should become)\s+{_QUOTED}")


def _keyword_not_replaced(view: PairView) -> str | None:
    """A request to replace quoted words with others ("replacing 'shop' with 'store'"): the text must contain the old
    word, and the rewrite must no longer use it (as a whole word; a capitalized form mid-sentence counts as a name
    when the request writes the word lowercase)."""
    if not view.passage:
        return None
    for clause in _clauses(view.instruction):
        if not _REPLACE_VERB.search(clause) or _BY_PLACEHOLDER.search(clause):
            continue
        for old, new in _PAIR.findall(clause):
            old, new = old.strip(), new.strip()
            if not re.search(rf"(?<![\w-]){re.escape(old)}", view.passage, re.I):
                return f"the request replaces '{old}', which the text does not contain"
            text = re.sub(re.escape(new), " ", view.response, flags=re.I)
            flags = 0 if old.islower() else re.I
            pattern = rf"(?<![\w-]){re.escape(old)}(?![\w-])"
            if old.islower():
                pattern += rf"|(?:^|[.!?:]\s+|\n\s*){re.escape(old.capitalize())}(?![\w-])"
            if re.search(pattern, text, flags):
                return f"the request replaces '{old}' with '{new}'; the rewrite still has '{old}'"
    return None


# Output formats.

_BULLETS = re.compile(r"\bbullet(?:ed)?(?:[- ]point(?:ed)?)?\s+list\b|\bbullet points\b|\b(?:as|in)\s+bullets\b", re.I)
_BULLET_COUNT = re.compile(
    r"\b(?:(?P<bound>no more than|at most|up to|not more than|at least|no fewer than)\s+)?"
    rf"{COUNT_PATTERN}\s+bullet(?:s|\s+points)\b",
    re.I,
)
_BULLET_LINE = re.compile(r"^\s*(?:[-*•–]|\u2022)\s+\S")
_NUMBERED = re.compile(r"\bnumbered\s+(?:list|steps|points|items)\b", re.I)
_NUMBERED_LINE = re.compile(r"^\s*\d+[.)]\s+\S")
_JSON = re.compile(
    r"\b(?:as|into|in|to|return|give|output)\s+(?:(?:a|an|one|valid|single)\s+)*JSON(?:\s+(object|array|list))?\b", re.I
)
_KEYS = re.compile(r"\b(?:with|using|having)\s+(?:the\s+)?keys?\s*(?::|named|called)?\s+(.+)", re.I)
_TABLE = re.compile(r"\b(?:as|into|in|to)\s+(?:an?\s+)?(?:markdown\s+)?table\b|\btable\s+with\b", re.I)
_BOLD = re.compile(
    r"\b(?:in|as|using)\s+bold\b|\bbold(?:face)?\s+(?:markdown|text|type|font|formatting)\b|\bmarkdown bold\b", re.I
)
_ITALICS = re.compile(
    r"\b(?:in|as|using)\s+italics?\b|\bitalici[sz]e\w*|\bitalic\s+(?:markdown|text|type|font)\b|\bmarkdown italics\b",
    re.I,
)
_COLUMNS = re.compile(rf"\b{COUNT_PATTERN}\s+columns\b|\b{COUNT_PATTERN}-column\b", re.I)


def _json_keys(instruction: str) -> list[str]:
    """The keys a request names ("with keys name, year and price", "keys 'a' and 'b'"), up to the first item that is
    not a bare key."""
    match = _KEYS.search(instruction)
    if not match:
        return []
    keys = []
    for item in re.split(r"\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", match.group(1)):
        item = item.strip().rstrip(".;:").strip("'\"`“”‘’")
        if not re.fullmatch(r"[A-Za-z_][\w-]*", item):
            break
        keys.append(item)
    return keys


def _parsed_json(response: str) -> object:
    text = re.sub(r"^```(?:json)?\s*|\s*```$", "", response.strip(), flags=re.I)
    return json.loads(text)


def _table_rows(response: str) -> list[list[str]]:
    rows = []
    for line in response.splitlines():
        if "|" not in line or re.fullmatch(r"\s*\|?(?:\s*:?-{2,}:?\s*\|?)+\s*", line):
            continue
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def _format_not_followed(view: PairView) -> str | None:
    """The rewrite is not in the format the request states: a bulleted or numbered list (and the number of bullets),
    parseable JSON (object or array, with the named keys), a table (rows of equal width, the stated number of
    columns), Markdown bold, italics or headings, or marks in square brackets or parentheses."""
    instruction, response = view.instruction, view.response
    lines = [line for line in response.splitlines() if line.strip()]
    if _BULLETS.search(instruction):
        bullets = [line for line in lines if _BULLET_LINE.match(line)]
        if len(bullets) < 2 or len(bullets) < 0.5 * len(lines):
            return f"the request asks for a bulleted list; {len(bullets)} of {len(lines)} lines are bullets"
        count = _BULLET_COUNT.search(instruction)
        if count:
            wanted, bound = number_value(count.group(2)), (count.group("bound") or "").lower()
            low, high = (
                (wanted, 10**6) if bound.startswith(("at least", "no fewer")) else (0 if bound else wanted, wanted)
            )
            if not low <= len(bullets) <= high:
                said = f"{bound} {wanted}".strip()
                return f"the request asks for {said} bullets; the rewrite has {len(bullets)}"
    if _NUMBERED.search(instruction) and sum(bool(_NUMBERED_LINE.match(line)) for line in lines) < 2:
        return "the request asks for a numbered list; the rewrite has no numbered lines"
    wants_json = _JSON.search(instruction)
    if wants_json:
        try:
            data = _parsed_json(response)
        except ValueError as exc:
            return f"the request asks for JSON; the rewrite does not parse ({str(exc)[:60]})"
        kind = (wants_json.group(1) or "").lower()
        if kind == "object" and not isinstance(data, dict):
            return "the request asks for a JSON object; the rewrite is another JSON value"
        if kind in ("array", "list") and not isinstance(data, list):
            return "the request asks for a JSON array; the rewrite is another JSON value"
        records = (
            [data]
            if isinstance(data, dict)
            else [r for r in data if isinstance(r, dict)]
            if isinstance(data, list)
            else []
        )
        missing = [k for k in _json_keys(instruction) if records and not all(k in r for r in records)]
        if missing:
            return f"the request names the key {missing[0]}; the rewrite's JSON lacks it"
    rows = _table_rows(response)
    if _TABLE.search(instruction) and (rows or re.search(r"\bmarkdown\s+table\b", instruction, re.I)):
        if len(rows) < 2:
            return "the request asks for a Markdown table; the rewrite has no table rows"
        widths = {len(row) for row in rows}
        if len(widths) > 1:
            return f"the rewrite's table rows have different numbers of cells ({sorted(widths)})"
        columns = _COLUMNS.search(instruction)
        wanted = number_value(next(g for g in columns.groups() if g)) if columns else None
        if wanted and widths != {wanted}:
            return f"the request asks for a table with {wanted} columns; the rewrite's has {widths.pop()}"
    if _BOLD.search(instruction) and not re.search(r"\*\*[^*\n]+\*\*|__[^_\n]+__|<(?:b|strong)>", response):
        return "the request asks for bold text; the rewrite has none"
    if _ITALICS.search(instruction) and not re.search(
        r"(?<![*\w])\*[^*\n]+\*(?![*\w])|(?<![_\w])_[^_\n]+_(?![_\w])|<(?:i|em)>", response
    ):
        return "the request asks for italics; the rewrite has none"
    if re.search(r"\bmarkdown\s+head(?:ing|er)s?\b", instruction, re.I) and not re.search(
        r"(?m)^#{1,6}\s+\S", response
    ):
        return "the request asks for Markdown headings; the rewrite has none"
    for name, opening in (("square brackets", "["), ("parentheses", "(")):
        if re.search(rf"\bin {name}\b", instruction, re.I) and response.count(opening) <= view.passage.count(opening):
            return f"the request asks for marks in {name}; the rewrite adds none"
    return None


# Length.

_SHORTEN = re.compile(
    r"\b(?:shorten\w*|shorter(?!\s+(?:sentences|words|lines|paragraphs))|condens\w*|summari[sz]\w*|trim\w*"
    r"|more concise|concise|briefer|abridg\w*|tl;?dr)\b",
    re.I,
)
_SIMPLIFY = re.compile(r"\bsimplif\w*\b", re.I)
_EXPAND = re.compile(
    r"\b(?:expand\w*(?!\s+(?:(?:the|all|every|each|any)\s+)*(?:abbreviation|acronym|contraction|short form)s?\b)"
    r"|elaborat\w*|lengthen\w*|flesh(?:ed|ing)? out|make it longer|(?:a|into a)\s+longer)\b",
    re.I,
)
_REMOVE = re.compile(
    r"\b(?:remov\w*|delet\w*|omit\w*|leave out|drop\w*|cut out)\b|\bwithout the (?:sentences?|paragraphs?|parts?|lines?"
    r"|mentions?|sections?|details?|quotes?)\b",
    re.I,
)
_AT_MOST = re.compile(
    rf"\b(?:in|with|using|to|of)\s+(?:no more than|at most|fewer than|under|less than|not more than|a maximum of)"
    rf"\s+{COUNT_PATTERN}\s+words\b|\b{COUNT_PATTERN}\s+words\s+or\s+(?:fewer|less)\b",
    re.I,
)
_NOT_LONGER = re.compile(r"\b(?:add\w*|explain\w*|includ\w*|defin\w*|glossary)\b", re.I)
_FORMATTING = re.compile(r"\b(?:bullet\w*|formatting|markdown|numbering|line breaks?|headings?)\b", re.I)
_AT_LEAST = re.compile(rf"\b(?:at least|no fewer than|no less than|a minimum of)\s+{COUNT_PATTERN}\s+words\b", re.I)
_ABOUT = re.compile(rf"\b(?:about|around|roughly|approximately)\s+{COUNT_PATTERN}\s+words\b", re.I)


def _length_wrong(view: PairView) -> str | None:
    """The rewrite's length contradicts the request: not shorter after a request to shorten, summarize or remove
    something, longer than the text after a request to simplify, not longer after a request to expand the whole text,
    or outside a stated word count (at most, at least, about N words) or sentence count."""
    instruction, response = view.instruction, view.response
    count = len(words(response))
    for constraint in constraints(instruction):
        if constraint.kind == "max_words" and count > constraint.value + (1 if constraint.value <= 2 else 0):
            return f"the request asks for at most {constraint.value} words; the rewrite has {count}"
        if constraint.kind == "sentences":
            found = len([s for s in sentences(response) if len(words(s)) >= 2])
            if found != constraint.value:
                return f"the request asks for {constraint.value} sentences; the rewrite has {found}"
    most = _AT_MOST.search(instruction)
    if most:
        limit = number_value(next(g for g in most.groups() if g))
        if count > limit:
            return f"the request asks for at most {limit} words; the rewrite has {count}"
    least = _AT_LEAST.search(instruction)
    if least and count < number_value(least.group(1)):
        return f"the request asks for at least {number_value(least.group(1))} words; the rewrite has {count}"
    about = _ABOUT.search(instruction)
    if about and not 0.5 * number_value(about.group(1)) <= count <= 2 * number_value(about.group(1)):
        return f"the request asks for about {number_value(about.group(1))} words; the rewrite has {count}"
    source = len(words(view.passage))
    if not source:
        return None
    partial = _partial(instruction)
    if _SHORTEN.search(instruction) and count >= (1.0 if partial else 0.9) * source:
        return f"the request asks for a shorter text; the rewrite has {count} words against the text's {source}"
    if _SIMPLIFY.search(instruction) and not _NOT_LONGER.search(instruction) and count > source:
        return f"the request asks for a simpler text; the rewrite is longer ({count} words against {source})"
    if (
        _REMOVE.search(instruction)
        and not re.search(r"\breplac\w*", instruction, re.I)
        and not _FORMATTING.search(instruction)
        and len(_plain(response)) >= len(_plain(view.passage))
    ):
        return "the request removes something; the rewrite is not shorter than the text"
    if _EXPAND.search(instruction) and not partial and count <= 1.1 * source:
        return f"the request asks to expand the text; the rewrite has {count} words against the text's {source}"
    return None


# Data normalization.


def _normalization_incomplete(view: PairView) -> str | None:
    """A request to write dates as YYYY-MM-DD, times in 24-hour form, money as USD, or numbers in words, and a
    rewrite that still holds an item in another form (a request about one part is checked when the rewrite is that
    part alone)."""
    instruction, response = view.instruction, view.response
    if _SCOPE.search(instruction) and len(words(response)) >= 0.6 * len(words(view.passage)):
        return None  # one part changed inside the whole text: the rest may keep its forms
    if re.search(r"\bYYYY-MM-DD\b", instruction, re.I):
        old = _SLASH_DATE.search(response) or _MONTH_DAY.search(response)
        if not old and re.search(r"\bYYYY-MM\b(?!-)", instruction, re.I):
            old = _MONTH_YEAR.search(response)
        if old:
            return f"the request asks for dates as YYYY-MM-DD; the rewrite still has '{old.group(0)}'"
    if re.search(r"\b24[- ]hour\b", instruction, re.I):
        old = _CLOCK.search(response)
        if old:
            return f"the request asks for 24-hour times; the rewrite still has '{old.group(0)}'"
    if re.search(r"\bUSD\b|\bcurrency codes?\b", instruction):
        old = re.search(r"\$\s?\d[\d,.]*", response)
        if old:
            return f"the request asks for currency codes; the rewrite still has '{old.group(0)}'"
    if re.search(
        r"\bspell(?:ed|ing|s)? out (?:every|each|all|the)\s+(?:numbers?|figures?)\b"
        r"|\b(?:numbers?|figures?|digits?|amounts?)\s+(?:written\s+)?(?:out\s+)?(?:in|as)\s+words\b",
        instruction,
        re.I,
    ):
        rest = _unquoted(response)
        for pattern in (_PHONE, _SLASH_DATE, _ISO_DATE, _MONTH_DAY, _MONTH_YEAR, _CLOCK):
            rest = pattern.sub(" ", rest)
        digit = re.search(r"\d[\d,.]*", rest)
        if digit:
            return f"the request asks for numbers in words; the rewrite still has '{digit.group(0)}'"
    return None


# Translation and labels.

_TRANSLATE = re.compile(r"\b(?i:translat)\w*\b[^.?!]*?\b(?:into|to)\s+([A-Z][a-z]+)")
_ENGLISH_MARKERS = frozenset(
    ["the", "and", "with", "that", "this", "from", "which", "were", "they", "their", "have", "been", "would"]
    + ["should", "there", "what", "when", "who", "its", "you", "your", "our", "are", "it"]
)


def _not_translated(view: PairView) -> str | None:
    """A request to translate into a language other than English, and a rewrite that is still English: English
    function words (the, and, with, that, ...) make up 5% or more of its words (they make up over 10% of English
    prose, and next to none of a Spanish, French or German text)."""
    match = _TRANSLATE.search(view.instruction)
    if not match or match.group(1) == "English" or re.search(r"\b(?:rest|remainder)\b", view.instruction):
        return None
    if _SCOPE.search(view.instruction) and len(words(view.response)) >= 0.6 * len(words(view.passage)):
        return None  # one part translated inside the whole text
    tokens = words(_unquoted(view.response))
    if len(tokens) < 5:
        return None
    share = sum(token in _ENGLISH_MARKERS for token in tokens) / len(tokens)
    if share >= 0.05:
        return (
            f"the request asks for {match.group(1)}; the rewrite is still English ({share:.0%} English function words)"
        )
    return None


_ENTAILMENT_LABELS = re.compile(r"\b(?:entail\w*|contradict\w*|neutral)\b", re.I)


def _label_not_offered(view: PairView) -> str | None:
    """A request that asks for one of stated labels (entailment / contradiction / neutral, yes or no, true or false)
    and a rewrite whose first sentence gives none of them."""
    instruction = view.instruction
    first = " ".join(words(view.response)[:15])
    if len({m.lower()[:6] for m in _ENTAILMENT_LABELS.findall(instruction)}) == 3:
        if not _ENTAILMENT_LABELS.search(first):
            return "the request asks for entailment, contradiction or neutral; the rewrite gives no label"
    elif re.search(r"\banswer\s+(?:with\s+)?(?:only\s+)?['\"“]?yes['\"”]?\s+or\s+['\"“]?no\b", instruction, re.I):
        if not re.search(r"\b(?:yes|no)\b", first):
            return "the request asks for yes or no; the rewrite gives neither"
    elif re.search(
        r"\banswer\s+(?:with\s+)?(?:only\s+)?['\"“]?true['\"”]?\s+or\s+['\"“]?false\b", instruction, re.I
    ) and not re.search(r"\b(?:true|false)\b", first):
        return "the request asks for true or false; the rewrite gives neither"
    return None


# Paraphrase.

_PARAPHRASE = re.compile(
    r"\b(?:paraphras\w*|rephras\w*|reword\w*|restat\w*|in (?:your|my|their) own words|plagiari\w*"
    r"|(?:does not|doesn't|doesn’t|do not|don't|not) copy)\b",
    re.I,
)
_RUN_LIMIT = re.compile(
    rf"\b(?:phrase|run|string|sequence|stretch)\s+of\s+more\s+than\s+{COUNT_PATTERN}\s+(?:consecutive\s+)?words\b"
    rf"|\bmore\s+than\s+{COUNT_PATTERN}\s+(?:consecutive\s+)?words\s+in\s+a\s+row\b",
    re.I,
)
_embedder: Embedder | None = None


def _embeddings() -> Embedder:
    """The module's sentence embedder, created on first use (loading the model takes seconds)."""
    global _embedder
    if _embedder is None:
        from agentinstruct.metrics.diversity import Embedder

        _embedder = Embedder()
    return _embedder


def _masked_words(text: str, tag: str) -> list[str]:
    """The text's words, with e-mail addresses, links and phone numbers (which a rewording keeps) replaced by tokens
    that match nothing, so that they break runs."""
    tokens = []
    for index, piece in enumerate(re.split(r"(\x00)", _PHONE.sub("\x00", _URL.sub("\x00", _EMAIL.sub("\x00", text))))):
        tokens += [f"\x00{tag}{index}"] if piece == "\x00" else words(piece)
    return tokens


def longest_shared_run(text: str, source: str) -> int:
    """The length in words of the longest word sequence `text` shares with `source` (contact details left out)."""
    a, b = _masked_words(text, "a"), _masked_words(source, "b")
    best, previous = 0, [0] * (len(b) + 1)
    for token in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if token == other:
                current[j] = previous[j - 1] + 1
                best = max(best, current[j])
        previous = current
    return best


def _too_close_to_source(view: PairView) -> str | None:
    """A paraphrase or rewording that keeps the text's wording: a run of words longer than the request allows ("no
    phrase of more than four words"), or, without a stated limit, half or more of its word 4-grams."""
    if not view.passage or not _PARAPHRASE.search(view.instruction):
        return None
    limit = _RUN_LIMIT.search(view.instruction)
    if limit:
        allowed = number_value(next(g for g in limit.groups() if g))
        run = longest_shared_run(view.response, view.passage)
        if run > allowed:
            return f"the request allows at most {allowed} copied words in a row; the rewrite copies {run}"
        return None
    share = copied_share(view.response, view.passage)
    if len(words(view.response)) >= 8 and share >= MAX_COPIED_SHARE:
        return f"the paraphrase keeps the text's wording ({share:.0%} of its 4-word phrases are copied)"
    return None


def _meaning_changed(view: PairView) -> str | None:
    """A paraphrase or rewording whose meaning drifted from its text: sentence-embedding cosine below
    PARAPHRASE_MIN_COSINE with the whole text, or, for a request about one part ("the sentence about ...") answered
    with that part alone (under 60% of the text's length), below PART_PARAPHRASE_MIN_COSINE with the closest sentence
    or pair of sentences."""
    if not view.passage or not _PARAPHRASE.search(view.instruction) or len(words(view.response)) < 4:
        return None
    embedder = _embeddings()
    if _SCOPE.search(view.instruction) and len(words(view.response)) < 0.6 * len(words(view.passage)):
        parts = list(sentences(view.passage))
        candidates = [*parts, *(" ".join(parts[i : i + 2]) for i in range(len(parts) - 1))]
        threshold = PART_PARAPHRASE_MIN_COSINE
    else:
        candidates, threshold = [view.passage], PARAPHRASE_MIN_COSINE
    vectors = embedder.embed([view.response, *candidates])
    similarity = float((vectors[1:] @ vectors[0]).max())
    if similarity < threshold:
        return f"the paraphrase does not keep the text's meaning (similarity {similarity:.2f} < {threshold})"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("copies_demo", _copies_demo_text),
    Validator("unchanged", _unchanged),
    Validator("adds_commentary", _adds_commentary),
    Validator("capitalization_ignored", _capitalization_ignored),
    Validator("vocabulary_limit_broken", vocabulary_limit_broken),
    Validator("redaction_incomplete", _redaction_incomplete),
    Validator("placeholder_unused", _placeholder_unused),
    Validator("keyword_not_replaced", _keyword_not_replaced),
    Validator("format_not_followed", _format_not_followed),
    Validator("length_wrong", _length_wrong),
    Validator("normalization_incomplete", _normalization_incomplete),
    Validator("not_translated", _not_translated),
    Validator("label_not_offered", _label_not_offered),
    Validator("too_close_to_source", _too_close_to_source),
    Validator("meaning_changed", _meaning_changed),
)
