"""Validators of the text-extraction skill: items pulled out of the source in the format the task asks for.

The format the task names must parse (JSON with `json.loads`, a markdown table with the same number of cells in every
row, CSV with the same number of fields, a list one item per line); the keys or columns it names must be there; and
every extracted item must come from the source: found in it once case, whitespace, punctuation and number formatting
are set aside ("$34.00" = "34"), or else made only of the source's (or the task's) words and figures.
"""

import csv
import json
import re
from functools import lru_cache, partial
from typing import Any

from agentinstruct.metrics.grounding import entity_words, numbers, stem
from agentinstruct.metrics.text import STOPWORDS, PairView, words
from agentinstruct.metrics.validators import Validator, copies_demo, malformed_instruction

_JSON = re.compile(r"\bjson\b", re.IGNORECASE)
_CSV = re.compile(r"\bcsv\b", re.IGNORECASE)
_TABLE = re.compile(
    r"\b(?:markdown|pipe)\s+table\b|\b(?:a|as a|in a)\s+(?:\w+[- ]column\s+)?table\b(?!\s+(?:of contents|salt|tennis))",
    re.IGNORECASE,
)
_LIST = re.compile(
    r"\blist\b|\bbullet(?:ed)?\b|\bnumbered\b|\bone (?:\w+ )?per line\b"
    r"|\beach on (?:its|a) (?:own|separate|new) line\b",
    re.IGNORECASE,
)
_PER_LINE = re.compile(
    r"\bone (?:\w+ )?per line\b|\beach on (?:its|a) (?:own|separate|new) line\b|\bbullet(?:ed)?\b|\bnumbered\b",
    re.IGNORECASE,
)
_FENCE = re.compile(r"^\s*```[\w-]*\s*\n(.*?)\n?\s*```\s*$", re.DOTALL)
_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")
_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}
_ASKED_COUNT = re.compile(
    r"\b(?:list|name|give|extract)\s+(?:the\s+|exactly\s+)?(two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\b",
    re.IGNORECASE,
)
_EMPTY_VALUES = frozenset(["", "none", "null", "n/a", "na", "-", "unknown", "not given", "not stated", "not mentioned"])


def requested_format(instruction: str) -> str | None:
    """`json`, `csv`, `table`, `list`, or None when the task names no format."""
    for name, pattern in (("json", _JSON), ("csv", _CSV), ("table", _TABLE), ("list", _LIST)):
        if pattern.search(instruction):
            return name
    return None


def _unfenced(response: str) -> str:
    match = _FENCE.match(response)
    return (match.group(1) if match else response).strip()


def _table_rows(response: str) -> list[list[str]]:
    """The rows of a markdown table (separator rows left out), each as its cells."""
    rows = []
    for line in response.splitlines():
        if "|" not in line or _SEPARATOR_ROW.match(line):
            continue
        cells = line.strip()
        cells = cells[1:] if cells.startswith("|") else cells
        cells = cells[:-1] if cells.endswith("|") else cells
        rows.append([cell.strip() for cell in cells.split("|")])
    return rows


def _csv_rows(response: str) -> list[list[str]]:
    lines = [line for line in response.splitlines() if line.strip()]
    return [[cell.strip() for cell in row] for row in csv.reader(lines)]


def _list_items(response: str) -> list[str]:
    """The items of a list answer, one per line (bullets and numbers stripped; heading lines ending in ':' left out)."""
    items = []
    for line in response.splitlines():
        text = _BULLET.sub("", line).strip()
        if text and not text.endswith(":"):
            items.append(text)
    return items


def _format_unparsable(view: PairView) -> str | None:
    """The format the task asks for parses: JSON loads, a table's (or CSV's) rows all have the header's number of
    cells, a list has one item per line."""
    kind = requested_format(view.instruction)
    response = _unfenced(view.response)
    if kind == "json":
        try:
            json.loads(response)
        except ValueError as exc:
            return f"the task asks for JSON, and the response does not parse: {exc}"
    elif kind in ("table", "csv"):
        rows = _table_rows(response) if kind == "table" else _csv_rows(response)
        if len(rows) < 2 or (kind == "table" and len(rows[0]) < 2):
            return f"the task asks for a {kind}, and the response has no header row with rows under it"
        for index, row in enumerate(rows[1:], start=2):
            if len(row) != len(rows[0]):
                return f"row {index} of the {kind} has {len(row)} cells; its header has {len(rows[0])}"
    elif kind == "list":
        items = _list_items(response)
        asked = _ASKED_COUNT.search(view.instruction)
        count = asked and (_COUNT_WORDS.get(asked.group(1).lower()) or int(asked.group(1)))
        if count and count >= 2 and len(items) > 1 and len(items) != count:
            return f"the task asks for {count} items; the response lists {len(items)}"
        if _PER_LINE.search(view.instruction) and len(items) == 1 and len(re.split(r"[;,]\s+", items[0])) >= 3:
            return "the task asks for one item per line, and the response puts several on one line"
    return None


_KEYS = re.compile(
    r"\b(?:with|using|having|and)\s+(?:the\s+)?(?:following\s+)?(?:keys?|fields?|columns?|headers?|properties)\b"
    r"\s*(?::|named|called)?\s*"
    r"|\b(?:keys?|fields?|columns?|headers?)\s*:\s*",
    re.IGNORECASE,
)
_KEYS_END = re.compile(
    r"\.(?:\s|$)|[;?!\n]|\s+(?:for|from|in|where|with|that|which|using|copied|taken|of|to|when|if)\s", re.IGNORECASE
)
_NAME = re.compile(r"^[A-Za-z_][\w-]*$")
_TITLE_WORDS = re.compile(r"^[A-Z][\w-]*(?:\s+[A-Z][\w-]*){0,2}$")


def requested_keys(instruction: str) -> list[str]:
    """The keys, columns or header fields the task names ("with keys name, phone and email", "with columns Item and
    Price", "with the header item,price"): single names, quoted names, or up to three capitalised words."""
    found: list[str] = []
    for match in _KEYS.finditer(instruction):
        rest = instruction[match.end() :]
        end = _KEYS_END.search(rest)
        listed = rest[: end.start()] if end else rest
        for part in re.split(r",\s*(?:and|or)\s+|\s+(?:and|or)\s+|,|/", listed):
            part = part.strip()
            quoted = re.fullmatch(r"[\"'`\u201c\u2018](.+?)[\"'`\u201d\u2019]", part)
            if quoted:
                found.append(quoted.group(1))
            elif _NAME.match(part) or _TITLE_WORDS.match(part):
                found.append(part)
            else:
                break
    return found


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _json_keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {_key(k) for k in value} | {k for v in value.values() for k in _json_keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _json_keys(v)}
    return set()


def _missing_keys(view: PairView) -> str | None:
    """Every key or column the task names is in the response: a key of the JSON (at any depth), or a header cell of
    the table or CSV."""
    wanted = requested_keys(view.instruction)
    kind = requested_format(view.instruction)
    if not wanted or kind not in ("json", "table", "csv"):
        return None
    response = _unfenced(view.response)
    if kind == "json":
        try:
            present = _json_keys(json.loads(response))
        except ValueError:
            return None  # format_unparsable says what is wrong
    else:
        rows = _table_rows(response) if kind == "table" else _csv_rows(response)
        present = {_key(cell) for cell in rows[0]} if rows else set()
    missing = [key for key in wanted if _key(key) not in present]
    if missing:
        return f"the response lacks the requested {'key' if kind == 'json' else 'column'}(s) {', '.join(missing)}"
    return None


_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
_MONTHS = {
    name: index
    for index, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}


def _canonical_number(match: re.Match) -> str:
    try:
        value = float(match.group(0).replace(",", ""))
    except ValueError:
        return match.group(0)
    return f" {int(value) if value.is_integer() else value} "


def normalised(text: str) -> str:
    """Lower case, numbers written one way ("$1,200.00" -> "1200"), punctuation and runs of space as one space."""
    text = _NUMBER.sub(_canonical_number, text.lower().replace("\u2019", "'"))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _items(view: PairView) -> list[str]:
    """What the response extracted: the JSON's values, the table's or CSV's cells below the header, or its lines."""
    response = _unfenced(view.response)
    kind = requested_format(view.instruction)
    if kind == "json":
        try:
            return [str(v) for v in _json_values(json.loads(response))]
        except ValueError:
            return []
    if kind in ("table", "csv"):
        rows = _table_rows(response) if kind == "table" else _csv_rows(response)
        return [cell for row in rows[1:] for cell in row]
    return _list_items(response)


def _json_values(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [item for v in value.values() for item in _json_values(v)]
    if isinstance(value, list):
        return [item for v in value for item in _json_values(v)]
    if value is None or isinstance(value, bool):
        return []
    return [value]


MAX_UNKNOWN_SHARE = 1 / 3


def _item_not_in_source(view: PairView) -> str | None:
    """Every extracted item comes from the source: it occurs there (case, spacing, punctuation and number format set
    aside), or else its figures are the source's, its names are the source's, and at most a third of its other
    content words are new (a described event, "9 a.m.: the sale opens", may word things its own way)."""
    if not view.passage:
        return None
    source = normalised(view.passage)
    known_text = f"{view.passage}\n{view.instruction}"
    known_words = set(words(known_text))
    known_stems = {stem(word) for word in known_words}
    known_numbers = numbers(view.passage) | numbers(view.instruction)
    known_numbers |= {float(_MONTHS[word]) for word in known_words if word in _MONTHS}  # "June 9" -> "06/09"
    for item in _items(view):
        text = item.strip().strip("\"'`*")
        if text.lower() in _EMPTY_VALUES:
            continue
        found = normalised(text)
        if not found or f" {found} " in f" {source} ":
            continue
        invented = sorted(numbers(text) - known_numbers)
        if invented:
            return f"the extracted item '{text[:60]}' has {invented[0]:g}, which the source does not give"
        content = [
            word
            for word in words(text)
            if word not in STOPWORDS and len(word) > 2 and not word.replace("-", "").isdigit()
        ]
        unknown = [word for word in content if word not in known_words and stem(word) not in known_stems]
        names = [word for word in unknown if word in entity_words(text)]
        if names or (unknown and len(unknown) > MAX_UNKNOWN_SHARE * len(content)):
            return f"the extracted item '{text[:60]}' is not in the source ('{(names or unknown)[0]}' is nowhere in it)"
    return None


@lru_cache(maxsize=16)
def _demo_marks(skill: str) -> frozenset[str]:
    """The names and long figures of a skill's demo source and its transformed forms ("Eastgate", "58217")."""
    from agentinstruct.programs.skills import get_skill

    found: set[str] = set()
    demo = get_skill(skill)
    for text in (demo.demo_passage, *(agent.demo_output for agent in demo.transformations)):
        found |= entity_words(text)
        found |= {word for word in words(text) if sum(ch.isdigit() for ch in word) >= 3}
    return frozenset(found)


def copies_demo_source(view: PairView, skill: str) -> str | None:
    """The passage copies the skill's worked example (as `copies_demo` checks), or the instruction names a name or a
    long figure of the worked example that its own passage lacks. Format-led skills write instructions in the demos'
    own words ("... as a JSON list of objects with keys item and price", "Label: one of positive, negative"), so
    their instructions are not compared with the demos word for word."""
    reason = copies_demo(PairView(view.passage, "", view.response), skill)
    if reason:
        return reason
    marks = set(entity_words(view.instruction)) | set(words(view.instruction))
    borrowed = sorted((marks & _demo_marks(skill)) - set(words(view.passage)))
    if borrowed:
        return f"the instruction names '{borrowed[0]}' from the skill's worked example, not from its passage"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_demo_source, skill="text_extraction")),
    Validator("format_unparsable", _format_unparsable),
    Validator("missing_keys", _missing_keys),
    Validator("item_not_in_source", _item_not_in_source),
)
