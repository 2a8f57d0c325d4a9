"""Validators of the data-to-text skill: prose written from structured data for the purpose the task states.

The source must be data: a markdown table whose rows all have the header's number of cells, JSON that parses, or
'Field: value' lines (`parse_data` reads it into records of fields). The task must ask for text, and the response must
be prose rather than the data restated as a table, JSON or field lines. The text must cover what the task asks for
(the rows and fields it names, every row when it says "each year", else at least half of the rows), and it must
invent nothing: every name must occur in the data or the task, and every figure must be one of the data's (as
written, or marked as approximate and within 5%) or a total, difference, product or share of the data's figures that
checks out (`derived_figures`) and whose operands the text itself states or points to by their records; a derivation
nobody can see in the text would let almost any small number through. Arithmetic written out must be right; a task
that asks for the highest or lowest value of a field gets it.
"""

from __future__ import annotations

import bisect
import itertools
import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache, partial

from agentinstruct.metrics.arithmetic import arithmetic_error
from agentinstruct.metrics.grounding import constraints, entity_words, numbers, stem
from agentinstruct.metrics.text import STOPWORDS, PairView, words
from agentinstruct.metrics.validators import Validator, constraint_violated, copies_demo, malformed_instruction

SKILL = "data_to_text"
MIN_ROW_SHARE = 0.5
"""Least share of the data's rows a text must mention when the task names no rows (brief forms aside)."""
APPROX_TOLERANCE = 0.05
"""How far a figure marked as approximate ("about 52,000") may be from the data's figure it rounds."""
MAX_POOL = 150
"""Most known values combined pairwise (a source rarely states more)."""
BRIEF_WORDS = 40
"""A task whose word limit is at most this is a brief form (a caption, a headline): it need not cover half the rows."""

# --------------------------------------------------------------------------------------------------------------------
# Reading the data
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Data:
    """Structured data read from a source: its kind, its fields, and its records (rows or repeated items)."""

    kind: str
    """`table`, `json` or `key_value`."""
    fields: tuple[str, ...]
    records: tuple[dict[str, str], ...]
    label: str
    """The field that names each record (a table's first column of distinct values, a JSON "name" or "year")."""


_FENCE = re.compile(r"```[\w-]*[ \t]*\n(.*?)\n?[ \t]*```", re.DOTALL)
_SEPARATOR_ROW = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?\s*$")
_KV_LINE = re.compile(r"^\s*(?:[-*\u2022]\s+)?\**(?P<key>[A-Za-z][\w ()/'’&.%#-]{0,40}?)\**\s*:\s+(?P<value>\S.*?)\s*$")
_LABEL_KEYS = ("name", "title", "label", "year", "month", "date", "day", "item", "product", "team", "route", "id")


class NotData(ValueError):
    """The text holds structure that is broken (a table row with the wrong number of cells, JSON that fails)."""


def _cells(line: str) -> list[str]:
    text = line.strip()
    text = text[1:] if text.startswith("|") else text
    text = text[:-1] if text.endswith("|") else text
    return [cell.strip() for cell in text.split("|")]


def _table(text: str) -> Data | None:
    """The first markdown table of the text (a run of lines holding '|'), checked: every row has the header's cells."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if "|" not in lines[index]:
            index += 1
            continue
        block = []
        while index < len(lines) and "|" in lines[index]:
            block.append(lines[index])
            index += 1
        rows = [_cells(line) for line in block if not _SEPARATOR_ROW.match(line)]
        if len(rows) < 2 or len(rows[0]) < 2:
            continue
        header = rows[0]
        for number, row in enumerate(rows[1:], start=2):
            if len(row) != len(header):
                raise NotData(f"row {number} of the table has {len(row)} cells; its header has {len(header)}")
        fields = tuple(cell or f"column {i + 1}" for i, cell in enumerate(header))
        records = tuple(dict(zip(fields, row, strict=True)) for row in rows[1:])
        return Data("table", fields, records, _label_field(fields, records, prefer_first=True))
    return None


def _flatten(value: object, prefix: str = "") -> dict[str, str]:
    if isinstance(value, dict):
        flat: dict[str, str] = {}
        for key, item in value.items():
            flat |= _flatten(item, f"{prefix} {key}".strip())
        return flat
    if isinstance(value, list):
        if all(not isinstance(item, dict | list) for item in value):
            return {prefix or "value": ", ".join(str(item) for item in value if item is not None)}
        flat = {}
        for position, item in enumerate(value, start=1):
            flat |= _flatten(item, f"{prefix} {position}".strip())
        return flat
    if value is None or isinstance(value, bool):
        return {}
    return {prefix or "value": str(value)}


def _object_lists(value: object) -> list[list[dict]]:
    found = []
    if isinstance(value, list):
        objects = [item for item in value if isinstance(item, dict)]
        if objects and len(objects) == len(value):
            found.append(objects)
        for item in value:
            found += _object_lists(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += _object_lists(item)
    return found


def _json(text: str) -> Data | None:
    """The JSON value of the text (a title line before it is allowed), as records: its longest list of objects, else
    an object of objects, else the object itself as one record."""
    start = re.search(r"^\s*[{\[]", text, re.MULTILINE)
    if not start:
        return None
    body = text[start.start() :].strip()
    try:
        value, _ = json.JSONDecoder().raw_decode(body)
    except ValueError as exc:
        if body.startswith("{") or re.match(r"\[\s*[{\[\"\d]", body):
            raise NotData(f"the JSON does not parse: {exc}") from exc
        return None
    if not isinstance(value, dict | list) or not value:
        return None
    lists = _object_lists(value)
    if lists:
        records = tuple(_flatten(item) for item in max(lists, key=len))
    elif isinstance(value, dict) and len(value) >= 2 and all(isinstance(item, dict) for item in value.values()):
        records = tuple({"name": str(key), **_flatten(item)} for key, item in value.items())
    elif isinstance(value, dict):
        records = (_flatten(value),)
    else:
        records = tuple({"value": str(item)} for item in value if item is not None)
    fields = tuple(dict.fromkeys(key for record in records for key in record))
    return Data("json", fields, records, _label_field(fields, records))


def _key_values(text: str) -> Data | None:
    """'Field: value' lines (at least three, and most of the text's lines), as records: blocks that start with the
    same field (a blank line or a repeated field starts a new block), else all the lines as one record."""
    lines = [line for line in text.splitlines() if line.strip()]
    matches = [_KV_LINE.match(line) for line in lines]
    pairs = [m for m in matches if m and len(m.group("key").split()) <= 5]
    if len(pairs) < 3 or len(pairs) < 0.6 * len(lines):
        return None
    blocks: list[dict[str, str]] = [{}]
    for line in text.splitlines():
        match = _KV_LINE.match(line)
        repeated = match and match.group("key").strip().lower() in map(str.lower, blocks[-1])
        if blocks[-1] and (not line.strip() or repeated):
            blocks.append({})
        if match and len(match.group("key").split()) <= 5:
            blocks[-1][match.group("key").strip()] = match.group("value")
    blocks = [block for block in blocks if block]
    firsts = [next(iter(block)).lower() for block in blocks]
    common = max(set(firsts), key=firsts.count)
    if firsts.count(common) >= 2:
        records = tuple(block for block, first in zip(blocks, firsts, strict=True) if first == common)
    else:
        records = ({key: value for block in blocks for key, value in block.items()},)
    fields = tuple(dict.fromkeys(key for record in records for key in record))
    return Data("key_value", fields, records, _label_field(fields, records, prefer_first=True))


def _label_field(fields: tuple[str, ...], records: tuple[dict[str, str], ...], prefer_first: bool = False) -> str:
    def distinct(field: str) -> bool:
        values = [record.get(field, "") for record in records]
        return all(values) and len(set(values)) == len(values)

    if not prefer_first:
        for key in _LABEL_KEYS:
            named = [field for field in fields if field.lower() == key and distinct(field)]
            if named:
                return named[0]
    return next((field for field in fields if distinct(field)), fields[0] if fields else "")


@lru_cache(maxsize=256)
def parse_data(text: str) -> Data | None:
    """The structured data of a text: its first markdown table, else its JSON, else its 'Field: value' lines (in a
    code fence or not); None when it holds none.

    Raises:
        NotData: The text's structure is broken (a row with the wrong number of cells, JSON that does not parse).
    """
    fenced = _FENCE.search(text)
    body = fenced.group(1) if fenced else text
    for reader in (_table, _json, _key_values):
        data = reader(body)
        if data and data.fields:
            return data
    return None


def _structure_problem(text: str) -> str | None:
    try:
        data = parse_data(text)
    except NotData as exc:
        return str(exc)
    if data is None:
        return "no markdown table, JSON or 'Field: value' lines"
    if len(data.fields) < 2 or (len(data.records) < 2 and len(data.fields) < 3):
        return f"too little structure ({len(data.fields)} field(s), {len(data.records)} record(s))"
    return None


def _data(view: PairView) -> Data | None:
    try:
        return parse_data(view.passage)
    except NotData:
        return None


# --------------------------------------------------------------------------------------------------------------------
# Figures and words
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    """A figure a text writes in digits: its value (scale words applied), its decimals, and whether it is marked as
    approximate ("about 52,000") or as a percentage."""

    value: float
    decimals: int
    approx: bool
    percent: bool
    text: str


_FIGURE = re.compile(
    r"(?<![\w.])(?P<number>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<decimals>\d+))?(?![\d])"
    r"(?:(?P<glued>k|bn|m)\b|\s+(?P<scale>thousand|million|billion)\b)?(?P<percent>\s*%|\s+per\s*cent\b)?",
    re.IGNORECASE,
)
_APPROX = re.compile(
    r"\b(?:about|around|roughly|approximately|approx|nearly|almost|over|more than|under|less than|just over|"
    r"just under|some|close to|upwards of|estimated)\s*\$?$|~\s*\$?$",
    re.IGNORECASE,
)
_SCALES = {"k": 1e3, "m": 1e6, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_ENUMERATOR = re.compile(r"(?m)^\s*\(?\d{1,2}[.)]\s")
_MONTH_NUMBERS = {
    name: number
    for number, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",), ("june", "jun")]
        + [("july", "jul"), ("august", "aug"), ("september", "sep", "sept"), ("october", "oct")]
        + [("november", "nov"), ("december", "dec")],
        start=1,
    )
    for name in names
}


def figures(text: str) -> list[Figure]:
    """The figures a text writes in digits ("41,200", "$1.2m", "27%", "about 52,000", "1.5 million")."""
    text = _ENUMERATOR.sub(" ", text)
    found = []
    for match in _FIGURE.finditer(text):
        digits = match.group("number").replace(",", "")
        value = float(f"{digits}.{match.group('decimals')}" if match.group("decimals") else digits)
        scale = (match.group("glued") or match.group("scale") or "").lower()
        if scale == "m" and not re.search(r"[$£€]\s*$", text[: match.start()]):
            scale = ""  # "3m" is three metres unless it is money
        value *= _SCALES.get(scale, 1.0)
        approx = bool(_APPROX.search(text[max(0, match.start() - 20) : match.start()]))
        decimals = len(match.group("decimals") or "")
        found.append(Figure(value, decimals, approx, bool(match.group("percent")), match.group(0).strip()))
    return found


def known_numbers(text: str) -> set[float]:
    """Every value a text states: in digits (with scale words applied), in words ("three"), and the number of each
    month it names ("June 9" -> 6, for "2024-06-09")."""
    found = numbers(text) | {figure.value for figure in figures(text)}
    return found | {float(_MONTH_NUMBERS[word]) for word in set(words(text)) if word in _MONTH_NUMBERS}


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'").replace("'s", ""))


def stems(text: str) -> set[str]:
    """Comparable stems of a text's content words; hyphens and underscores split words ("on-time", "gull_island")."""
    return {stem(token)[:6] for token in _tokens(text) if token not in STOPWORDS and len(token) > 2 and token.isalpha()}


def _same(value: float, other: float) -> bool:
    return abs(value - other) <= 1e-6 * max(1.0, abs(other))


def _present(value: float, said: list[Figure]) -> bool:
    """Whether the text states `value`: as written, or marked as approximate and within APPROX_TOLERANCE."""
    return any(
        _same(f.value, value) or (f.approx and abs(f.value - value) <= APPROX_TOLERANCE * abs(value)) for f in said
    )


# --------------------------------------------------------------------------------------------------------------------
# Derived figures
# --------------------------------------------------------------------------------------------------------------------


def _numeric(cell: str) -> float | None:
    found = figures(cell)
    return found[0].value if len(found) == 1 else None


Anchor = tuple[float, tuple[int, ...]]
"""An operand of a derived figure and the records it may be recognised by."""


@dataclass(frozen=True)
class Derived:
    """A result of the data's figures, with its operands (each with the records it belongs to)."""

    value: float
    operands: tuple[Anchor, ...]
    exact: bool
    """Exact results (sums, differences, products) must match; rounded ones (ratios, shares) may be rounded."""
    any_operand: bool = False
    """One anchored operand is enough (a total or an average of a whole field); else every operand must be."""


def _cell_values(data: Data) -> list[list[tuple[int, float]]]:
    """The numeric cells of each non-label field, as (record index, value)."""
    return [
        [(index, value) for index, record in enumerate(data.records) if (value := _numeric(record.get(field, "")))]
        for field in data.fields
        if field != data.label
    ]


def derived_figures(data: Data | None, known: set[float]) -> list[Derived]:
    """What a text may state without the data stating it, sorted by value.

    Exact: the sum or difference of any two known values, the product of two values of one record (a price and a
    quantity), the total of a field over all records and that total less one record's value. Rounded (a text may
    round them at the precision it writes): the ratio or percentage of two values of one field or of one record, the
    percentage change between two values of one field, one value's share of two in one record, a field's average, and
    each value's share of its field's total."""
    columns = _cell_values(data) if data else []
    rows_of: dict[float, tuple[int, ...]] = {}
    for column in columns:
        for index, value in column:
            rows_of[value] = (*rows_of.get(value, ()), index)
    pool = sorted(v for v in known if v != 0)[:MAX_POOL]
    found = [
        Derived(value, ((a, rows_of.get(a, ())), (b, rows_of.get(b, ()))), True)
        for a, b in itertools.combinations(pool, 2)
        for value in (a + b, abs(a - b))
    ]
    by_record: dict[int, list[float]] = {}
    for column in columns:
        for index, value in column:
            by_record.setdefault(index, []).append(value)
        for (i, a), (j, b) in itertools.permutations(column, 2):
            pair = ((a, (i,)), (b, (j,)))
            changes = (a / b, 100 * a / b, 100 * (a - b) / b, abs(100 * (a - b) / b))
            found += [Derived(v, pair, False) for v in changes]
        if len(column) >= 2:
            values = [value for _, value in column]
            total, rows = sum(values), tuple(index for index, _ in column)
            whole = tuple((value, (index,)) for index, value in column)
            found += [Derived(total, whole, True, True), Derived(total / len(values), whole, False, True)]
            found += [Derived(total - value, ((total, rows), (value, (index,))), True) for index, value in column]
            if total:
                shares = [Derived(100 * v / total, ((v, (i,)), (total, rows)), False) for i, v in column]
                found += shares
    for index, values in by_record.items():
        for a, b in itertools.permutations(values, 2):
            pair = ((a, (index,)), (b, (index,)))
            shares = (a / b, 100 * a / b) + ((100 * a / (a + b),) if a + b else ())
            found += [Derived(a * b, pair, True)] + [Derived(v, pair, False) for v in shares]
    return sorted(found, key=lambda derived: derived.value)


def _anchored(derived: Derived, said: set[float], rows: set[int]) -> bool:
    """Whether the text anchors a derived figure's operands: each (or, for a total, one) is among its figures or
    belongs to a record it mentions."""
    anchored = [any(_same(value, s) for s in said) or bool(set(where) & rows) for value, where in derived.operands]
    return any(anchored) if derived.any_operand else all(anchored)


def _accounted(figure: Figure, known: set[float], derived: list[Derived], said: set[float], rows: set[int]) -> bool:
    """Whether a figure is the data's (or approximates it, marked "about"), or a result of the data's figures whose
    operands the text anchors (`_anchored`). Rounded results may be written to the figure's own precision ("27%" for
    27.18, "47,167" for 47,166.67)."""
    value = figure.value
    if any(_same(value, k) for k in known):
        return True
    if figure.approx and any(abs(value - k) <= APPROX_TOLERANCE * abs(k) for k in known if k):
        return True
    exact = max(0.011, 1e-6 * abs(value))
    rounding = 0.5 * 10 ** (-figure.decimals) if (abs(value) >= 10 or figure.decimals) else exact
    if figure.approx:
        rounding = max(rounding, APPROX_TOLERANCE * abs(value))
    widest = max(exact, rounding)
    start = bisect.bisect_left(derived, value - widest, key=lambda d: d.value)
    for candidate in itertools.takewhile(lambda d: d.value <= value + widest, derived[start:]):
        if abs(candidate.value - value) <= (exact if candidate.exact else rounding) and _anchored(
            candidate, said, rows
        ):
            return True
    return False


def unaccounted_figures(response: str, source: str, data: Data | None) -> list[Figure]:
    """The response's figures that are neither the source's nor derived from them (see `derived_figures` and
    `_accounted`); a figure the response derives may feed the next ("59,800 and 72,500, a rise of 12,700")."""
    known = known_numbers(source)
    stated = figures(response)
    pending = [f for f in stated if not any(_same(f.value, k) for k in known)]
    if not pending:
        return []
    derived = derived_figures(data, known)
    said = {f.value for f in stated}
    rows = {index for index, said_row in enumerate(_rows_said(data, response)) if said_row} if data else set()
    changed = True
    while pending and changed:
        changed = False
        for figure in list(pending):
            if _accounted(figure, known, derived, said, rows):
                pending.remove(figure)
                new = figure.value
                steps = [Derived(v, ((new, ()), (k, ())), True) for k in known for v in (new + k, abs(new - k))]
                derived = sorted(derived + steps, key=lambda d: d.value)
                known.add(new)
                changed = True
    return pending


# --------------------------------------------------------------------------------------------------------------------
# What the task asks for
# --------------------------------------------------------------------------------------------------------------------

_WRITING = re.compile(
    r"\b(?:write|writing|summari[sz]e|describe|draft|compose|narrate|explain|report|caption|compare|present|announce"
    r"|tell|turn|rewrite|prepare|produce|create|profile|outline|introduce|recount|discuss)\w*\b"
    r"|\b(?:sentences?|paragraphs?|summary|caption|headline|e-?mail|memo|letter|report|news|article|blurb"
    r"|description|overview|narrative|bullet points?|post|announcement|notice|story|briefing|commentary|prose)\b",
    re.IGNORECASE,
)
_ALL = re.compile(r"\b(?:each|every|all|per)\s+(?:of\s+)?(?:the\s+)?(\w+)(?:\s+(\w+))?", re.IGNORECASE)
""""each year", "all three years", "one sentence per class": the two words after it may name the rows."""
_ROW_NOUNS = {"row", "record", "entry", "item", "line"}
_EVERY_FIELD = re.compile(
    r"\b(?:every|each|all(?:\s+the)?)\s+(?:figures?|fields?|columns?|values?|details?|numbers?)\b", re.IGNORECASE
)
_BRIEF = re.compile(
    r"\b(?:caption|headline|title|slogan|tagline|tweet|one sentence|a sentence|single sentence)\b", re.I
)
_BULLETS_ASKED = re.compile(r"\bbullet(?:ed)?(?:[- ]points?)?\b|\blist\b", re.IGNORECASE)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d{1,2}[.)])\s+")


def _label_stems(data: Data) -> dict[int, set[str]]:
    """Each record's label stems, less those every label shares ("Harlow Bay to Gull Island" / "Harlow Bay to Port
    Seton" -> gull, island / port, seton)."""
    found = {index: stems(record.get(data.label, "")) for index, record in enumerate(data.records)}
    shared = set.intersection(*found.values()) if len(found) >= 2 else set()
    return {index: (found[index] - shared) or found[index] for index in found}


def _label_matches(label: str, wanted: set[str], text_stems: set[str], said: set[float]) -> bool:
    """Whether a text names a record by its label: every figure of a numeric label ("2021"), else every distinctive
    content stem of it (`wanted`)."""
    values = [f.value for f in figures(label)]
    if values:
        return all(any(_same(v, s) for s in said) for v in values)
    return bool(wanted) and wanted <= text_stems


def _value_said(cell: str, said: list[Figure], said_stems: set[str]) -> bool:
    """Whether the text states a cell's value: each of its figures, or (for words) its content stems (two thirds of
    them for a long value)."""
    values = [f.value for f in figures(cell)]
    if values:
        return all(_present(value, said) for value in values)
    wanted = stems(cell)
    if not wanted:
        return True
    shared = len(wanted & said_stems)
    return shared == len(wanted) or (len(wanted) >= 3 and shared >= 2 * len(wanted) / 3)


def _rows_said(data: Data, text: str) -> list[bool]:
    """For each record, whether the text mentions it: by its label, or by two of its values (one if it has one)."""
    said, said_stems = figures(text), stems(text)
    numbers_said = {f.value for f in said}
    labels = _label_stems(data)
    mentioned = []
    for index, record in enumerate(data.records):
        if data.label in record and _label_matches(record[data.label], labels[index], said_stems, numbers_said):
            mentioned.append(True)
            continue
        cells = [cell for field, cell in record.items() if field != data.label and (figures(cell) or stems(cell))]
        hits = sum(_value_said(cell, said, said_stems) for cell in cells)
        mentioned.append(bool(cells) and hits >= min(2, len(cells)))
    return mentioned


@dataclass(frozen=True)
class Coverage:
    """What a task asks a text to cover of its data."""

    rows: tuple[int, ...]
    """The records the task names (by label, or a range "from 2021 to 2023") or asks for by "each year"."""
    fields: tuple[str, ...]
    """The fields the task names (by the words of their names, figures included: "2023 passengers")."""
    targeted: bool
    """Whether the task names rows or asks for every row; if not, the text must cover half of them."""


_RANGE = re.compile(r"\b(?:from|between)\b[^.;]*?\b(?:to|and|until|through)\b|\d\s*[-\u2013]\s*\d", re.IGNORECASE)


def asked_coverage(instruction: str, data: Data) -> Coverage:
    """The rows and fields a task asks a text to cover (see `Coverage`)."""
    asked_stems = stems(instruction)
    asked_numbers = {f.value for f in figures(instruction)}  # digits only: "three bullet points" names no row 3

    def named_field(field: str) -> bool:
        values = [f.value for f in figures(field)]
        if not stems(field) or not stems(field) <= asked_stems:
            return False
        return all(any(_same(v, n) for n in asked_numbers) for v in values)

    fields = [f for f in data.fields if f != data.label and named_field(f)]
    if _EVERY_FIELD.search(instruction):
        fields = [f for f in data.fields if f != data.label]
    labels = _label_stems(data)
    named = [
        index
        for index, record in enumerate(data.records)
        if data.label in record and _label_matches(record[data.label], labels[index], asked_stems, asked_numbers)
    ]
    ends = [_numeric(data.records[index][data.label]) for index in named]
    if len(named) >= 2 and None not in ends and _RANGE.search(instruction):
        low, high = min(ends), max(ends)
        named = [
            index
            for index, record in enumerate(data.records)
            if (value := _numeric(record.get(data.label, ""))) is not None and low <= value <= high
        ]
    row_nouns = {stem(noun)[:6] for noun in _ROW_NOUNS} | stems(data.label)
    every = any(
        stem(word)[:6] in row_nouns for match in _ALL.finditer(instruction) for word in match.groups() if word
    ) or bool(re.search(r"\b(\w+) by \1\b|\bin turn\b", instruction, re.IGNORECASE))
    if named and not (every and len(named) == 1):
        return Coverage(tuple(named), tuple(fields), True)
    if every:
        return Coverage(tuple(range(len(data.records))), tuple(fields), True)
    return Coverage((), tuple(fields), False)


def _is_brief(instruction: str) -> bool:
    limits = [c.value for c in constraints(instruction) if c.kind == "max_words"]
    one_sentence = any(c.kind == "sentences" and c.value == 1 for c in constraints(instruction))
    return bool(_BRIEF.search(instruction)) or one_sentence or any(limit <= BRIEF_WORDS for limit in limits)


# --------------------------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _demo_marks(skill: str) -> tuple[frozenset[str], frozenset[float]]:
    """The names of a skill's worked example (its demo source and transformed forms) that it only ever writes with a
    capital ("Gull", "Agnes"; not "year" or "day", which it also writes in lowercase; no months), and its figures of
    three digits or more, read as whole numbers ("41,200", "1921")."""
    from agentinstruct.programs.skills import get_skill

    demo = get_skill(skill)
    text = "\n".join([demo.demo_passage, *(agent.demo_output for agent in demo.transformations)])
    lowercase = set(re.findall(r"\b[a-z][a-z'’-]*", text))
    names = {word for word in entity_words(text) if word not in lowercase and word not in _CALENDAR}
    return frozenset(names), frozenset(f.value for f in figures(text) if f.value >= 100)


def copies_worked_example(view: PairView, skill: str) -> str | None:
    """The source copies the skill's worked example (as `copies_demo` checks), or the task borrows from it: it writes
    one of the example's names with its capital, or one of its long figures, and its own source has neither (a task
    written for the demo, not for its source)."""
    reason = copies_demo(PairView(view.passage, "", view.response), skill)
    if reason:
        return reason
    names, long_figures = _demo_marks(skill)
    own_words, own_figures = set(words(view.passage)), known_numbers(view.passage)
    for match in re.finditer(r"\b[A-Z][\w'’-]*", view.instruction):
        word = re.sub(r"['’]s?$", "", match.group(0)).lower()
        if word in names and word not in own_words:
            return f"the task names '{match.group(0)}' from the skill's worked example, not from its source"
    for figure in figures(view.instruction):
        if figure.value in long_figures and not any(_same(figure.value, k) for k in own_figures):
            return f"the task names {figure.text} from the skill's worked example, not from its source"
    return None


def _source_not_structured(view: PairView) -> str | None:
    """The source is structured data: a markdown table with consistent rows, JSON that parses, or 'Field: value'
    lines; with at least two fields, and two records or three fields."""
    if not view.passage:
        return "the task has no data"
    problem = _structure_problem(view.passage)
    return f"the source is not structured data: {problem}" if problem else None


def _no_writing_task(view: PairView) -> str | None:
    """The task asks for text (write, summarize, describe, a caption, an email ...), not a lookup or an extraction."""
    if not _WRITING.search(view.instruction):
        return "the task asks for no text to be written from the data"
    if re.search(r"\b(?:as|in|into)\s+(?:a\s+)?(?:json|csv|(?:markdown\s+)?table)\b", view.instruction, re.I):
        return "the task asks for structured output, not text"
    return None


def _not_prose(view: PairView) -> str | None:
    """The response is prose: not a table, not JSON, not 'Field: value' lines; a list only where the task asks for
    bullet points, and then each bullet a sentence of five or more words."""
    response = view.response.strip()
    try:
        restated = parse_data(response)
    except NotData:
        if response[:1] in "{[|":
            return "the response is broken structured data, not prose"
        restated = None
    if restated and restated.kind in ("table", "json"):
        return f"the response restates the data as {'a table' if restated.kind == 'table' else 'JSON'}, not prose"
    if restated and len(restated.fields) >= 3:
        return "the response restates the data as 'Field: value' lines, not prose"
    lines = [line for line in response.splitlines() if line.strip()]
    bullets = [line for line in lines if _BULLET.match(line)]
    if _BULLETS_ASKED.search(view.instruction):
        short = [line for line in bullets if len(words(_BULLET.sub("", line))) < 5]
        if short:
            return f"the bullet '{short[0].strip()[:50]}' is a fragment, not a sentence"
    elif len(bullets) >= 3 and len(bullets) >= 0.6 * len(lines):
        return "the response is a list; the task asks for prose"
    return None


_BULLET_COUNT = re.compile(r"\b(\d+|two|three|four|five|six|seven|eight)\s+bullet(?:ed)?(?:[- ]points?|s)\b", re.I)
_COUNT_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
_PARAGRAPHS = re.compile(
    r"\b(one|a single|a|two|three|\d)\s+(?:short\s+)?paragraphs?\b(?!\s+(?:for|per|about|on)\s+(?:each|every))", re.I
)
_HEADLINE = re.compile(r"\bwith\s+a\s+(?:short\s+|catchy\s+)?headline\b|\bheadline\s+and\b", re.IGNORECASE)


def _form_wrong(view: PairView) -> str | None:
    """The response has the form the task states: the number of bullet points, the number of paragraphs ("in one
    paragraph"), a headline on its own first line."""
    lines = [line for line in view.response.splitlines() if line.strip()]
    wanted = _BULLET_COUNT.search(view.instruction)
    if wanted:
        count = _COUNT_WORDS.get(wanted.group(1).lower()) or int(wanted.group(1))
        found = sum(bool(_BULLET.match(line)) for line in lines)
        if found != count:
            return f"the task asks for {count} bullet points; the response has {found}"
    paragraphs = _PARAGRAPHS.search(view.instruction)
    if paragraphs and not re.search(r"\b(?:e-?mail|memo|letter|headline)\b", view.instruction, re.I):
        word = paragraphs.group(1).lower()
        count = 1 if word in ("a", "a single") else _COUNT_WORDS.get(word) or int(word)
        found = len([block for block in re.split(r"\n\s*\n", view.response.strip()) if block.strip()])
        if found != count:
            return f"the task asks for {count} paragraph(s); the response has {found}"
    if _HEADLINE.search(view.instruction):
        first = lines[0].strip().strip("#* ") if lines else ""
        if len(lines) < 2 or len(words(first)) > 15 or first.endswith("."):
            return "the task asks for a headline; the response does not open with one on its own line"
    return None


def _missing_data(view: PairView) -> str | None:
    """The text covers what the task asks for (`asked_coverage`): each named field of each row the task names or asks
    for by "each year" (a brief form, such as a caption, needs one value of each named field among those rows); with
    no rows named, at least one value of each named field and at least half of the rows (a brief form: one)."""
    data = _data(view)
    if data is None or not data.records:
        return None
    said, said_stems = figures(view.response), stems(view.response)
    asked = asked_coverage(view.instruction, data)
    brief = _is_brief(view.instruction)
    mentioned = _rows_said(data, view.response)
    rows = asked.rows if asked.targeted else tuple(range(len(data.records)))
    for field in asked.fields:
        cells = [(index, data.records[index].get(field, "")) for index in rows]
        cells = [(index, cell) for index, cell in cells if cell]
        missing = [(index, cell) for index, cell in cells if not _value_said(cell, said, said_stems)]
        if cells and len(missing) == len(cells):
            return f"the text gives no value of {field}, which the task names"
        if asked.targeted and not brief and missing:
            index, cell = missing[0]
            name = data.records[index].get(data.label, "?")
            return f"the text lacks {field} of '{name}' ({cell}), which the task asks for"
    if asked.targeted:
        if not asked.fields:
            unsaid = [index for index in asked.rows if not mentioned[index]]
            if unsaid and (not brief or len(unsaid) == len(asked.rows)):
                name = data.records[unsaid[0]].get(data.label, "?")
                return f"the text says nothing about '{name}', which the task asks about"
        return None
    if len(data.records) == 1:
        values = [cell for cell in data.records[0].values() if stems(cell) or figures(cell)]
        covered = sum(_value_said(cell, said, said_stems) for cell in values)
        needed = 1 if brief else math.ceil(MIN_ROW_SHARE * len(values))
        if covered < needed:
            return f"the text mentions {covered} of the data's {len(values)} values; at least {needed} are needed"
        return None
    needed = 1 if brief else max(1, math.ceil(MIN_ROW_SHARE * len(data.records)))
    if sum(mentioned) < needed:
        return (
            f"the text mentions {sum(mentioned)} of the data's {len(data.records)} rows; at least {needed} are needed"
        )
    return None


_SUPERLATIVE = re.compile(
    r"\b(?P<high>most|highest|largest|biggest|busiest|greatest|maximum|peak|top)\b"
    r"|\b(?P<low>fewest|lowest|smallest|least|quietest|minimum)\b",
    re.IGNORECASE,
)


def asked_extremes(instruction: str, data: Data) -> list[tuple[str, bool]]:
    """The (field, highest?) pairs a task asks for: a superlative followed within six words by a field's name ("which
    year had the most sailings", "the lowest on-time share")."""
    found = []
    for match in _SUPERLATIVE.finditer(instruction):
        window = " ".join(instruction[match.end() :].split()[:6])
        near = stems(window)
        fields = [f for f in data.fields if f != data.label and stems(f) and stems(f) <= near]
        if len(fields) == 1:
            found.append((fields[0], bool(match.group("high"))))
    return found


def _wrong_extreme(view: PairView) -> str | None:
    """A task asks for the highest or lowest value of a field: the text states that value (the largest or smallest of
    the field's figures over all rows)."""
    data = _data(view)
    if data is None or len(data.records) < 2:
        return None
    said = figures(view.response)
    for field, highest in asked_extremes(view.instruction, data):
        values = [v for record in data.records if (v := _numeric(record.get(field, ""))) is not None]
        if len(values) < 2:
            continue
        wanted = max(values) if highest else min(values)
        if not _present(wanted, said):
            return f"the task asks for the {'highest' if highest else 'lowest'} {field} ({wanted:g}); the text lacks it"
    return None


def _title_case(line: str) -> bool:
    """A headline in title case ("Ferry Numbers Climb on Gull Island Route"): short, no full stop, mostly capitals."""
    if len(words(line)) > 12 or line.rstrip().endswith((".", ",", ";")):
        return False
    tokens = [t for t in re.findall(r"[A-Za-z][\w'’-]*", line) if len(t) > 3]
    return len(tokens) >= 2 and sum(t[0].isupper() for t in tokens) >= 0.6 * len(tokens)


_NUMERIC_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b")
_CALENDAR = frozenset(_MONTH_NUMBERS) | frozenset(
    ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
)


def _invented_value(view: PairView) -> str | None:
    """Every figure of the text is the data's (or the task's), or a total, difference or share of the data's figures
    (`unaccounted_figures`); every name of the text occurs in the data or the task (headline lines in title case
    aside)."""
    if not view.passage:
        return None
    source = f"{view.passage}\n{view.instruction}"
    extra = unaccounted_figures(view.response, source, _data(view))
    if extra:
        return f"the text states {extra[0].text}, which the data neither gives nor implies"
    known = set(words(source)) | set(_tokens(source))
    if _NUMERIC_DATE.search(view.passage):
        known |= _CALENDAR  # "2024-04-14" may be written "14 April 2024"
    known_stems = {stem(word) for word in known}
    body = "\n".join(line for line in view.response.splitlines() if not _title_case(line))
    invented = sorted(w for w in entity_words(body) if w not in known and stem(w) not in known_stems)
    if invented:
        return f"the text names '{invented[0]}', which is nowhere in the data"
    return None


def _bad_arithmetic(view: PairView) -> str | None:
    """Arithmetic the text writes out ("52,400 - 20,100 = 32,300") is right."""
    error = arithmetic_error(view.response)
    return f"the text's arithmetic is wrong: {error}" if error else None


VALIDATORS: tuple[Validator, ...] = (
    Validator("malformed_instruction", malformed_instruction, instruction_only=True),
    Validator("copies_demo", partial(copies_worked_example, skill=SKILL)),
    Validator("source_not_structured", _source_not_structured),
    Validator("no_writing_task", _no_writing_task),
    Validator("not_prose", _not_prose),
    Validator("form_wrong", _form_wrong),
    Validator("constraint_violated", constraint_violated),
    Validator("missing_data", _missing_data),
    Validator("wrong_extreme", _wrong_extreme),
    Validator("invented_value", _invented_value),
    Validator("bad_arithmetic", _bad_arithmetic),
)
