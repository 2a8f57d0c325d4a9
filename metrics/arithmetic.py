"""Checking the arithmetic a text writes out, without ever evaluating model text as code.

`arithmetic_steps` finds the equations a text writes out (`a × b = c`, `a / b ≈ c`, `(a + b) × c = d`,
`3 × 10^8 / 2 = 1.5 × 10^8`) and evaluates their left side with a small tokenizer and a recursive-descent parser over
numeric literals, + - × / ^ and parentheses. It only checks what it can read for certain: clock times, dates,
compound quantities ("2 hours 30 minutes"), sums of mixed units ("1 hour + 30 minutes") and conversions
("100 cm × 3 = 3 m") are skipped, not guessed at; a hyphen between two numbers may be a range ("2-3 hours"), so any
reading of it may match. Every skill that lets a model compute (reading comprehension, Fermi, puzzles, few-shot
reasoning) checks with `arithmetic_error`.

`calculate` is the same evaluator behind a calculator: one expression of numbers, + - × / ^ (or **), parentheses,
unary minus, percent signs and a few functions (`FUNCTIONS`); anything else is refused with a `CalculationError`.
`agentinstruct/calculator.py` offers it to responders as a tool.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass, field

from agentinstruct.metrics.text import STOPWORDS

# --------------------------------------------------------------------------------------------------------------------
# Arithmetic: tokens
# --------------------------------------------------------------------------------------------------------------------

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_TOKEN = re.compile(
    r"(?P<date>\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}(?![\d/]))"
    r"|(?P<time>\d{1,2}:\d{2}(?::\d{2})?)"
    r"|(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+(?![\w.]))?|\.\d+)"
    r"|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)"
    r"|(?P<eq>~=|≈|≃|≅|=)"
    r"|(?P<op>[×✕*·∙/÷+^]|[-−–])"
    r"|(?P<word>[A-Za-z][A-Za-z'’]*)"
    r"|(?P<pct>%)"
    r"|(?P<tilde>~)"
    r"|(?P<cur>[$£€])"
    r"|(?P<lp>\()"
    r"|(?P<rp>\))"
    r"|(?P<other>\S)"
)
_BULLET = re.compile(r"^\s*[-*•–]\s+")
_OPS = {"×": "*", "✕": "*", "*": "*", "·": "*", "∙": "*", "/": "/", "÷": "/", "+": "+", "^": "^"}
_SCALE_SUFFIXES = {"k": 1e3, "K": 1e3, "M": 1e6, "bn": 1e9, "B": 1e9}
"""Scale letters glued to a number ("10k", "5M", "2bn")."""
_SINGLE_LETTER_WORDS = frozenset("aAxX")
_UNIT_LINKS = frozenset(["per", "a", "an", "each", "of", "every"])
"""Small words a unit may contain ("2.5 people per household", "3 cups of flour", "3 times a day")."""
_SCALES = {"dozen": 12.0, "hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_APPROX_SIGNS = frozenset(["≈", "≃", "≅", "~="])
_APPROX_WORDS = frozenset(["about", "approximately", "approx", "roughly", "around", "nearly", "almost", "circa"])
_WORD_OPS = {"times": "*", "plus": "+", "minus": "-", "x": "*", "X": "*"}
_PAIR_OPS = {("divided", "by"): "/", ("multiplied", "by"): "*"}
_UNIT_FAMILIES = {
    "time": "sec secs second seconds min mins minute minutes h hr hrs hour hours day days week weeks month months "
    "year years yr yrs decade decades century centuries",
    "length": "mm cm m metre metres meter meters km kilometre kilometres kilometer kilometers inch inches ft foot "
    "feet yd yard yards mile miles",
    "mass": "mg g gram grams kg kilogram kilograms tonne tonnes ton tons lb lbs pound pounds oz ounce ounces",
    "volume": "ml millilitre millilitres milliliter milliliters litre litres liter liters gallon gallons cup cups",
    "energy": "wh kwh mwh gwh j kj mj gj calorie calories kcal",
}
_UNIT = {
    word: (family, word.lower().rstrip("s") or word.lower())
    for family, names in _UNIT_FAMILIES.items()
    for word in names.split()
}


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    end: int
    value: float = 0.0
    decimals: int = 0


def _normalise(line: str) -> str:
    """A line as the tokenizer reads it: a leading bullet blanked ("- 360 × 0.5 = 180" is no subtraction), markdown
    bold blanked, and `2**3` written `2^3`."""
    line = _BULLET.sub(lambda m: " " * len(m.group(0)), line)
    return re.sub(r"(?<=[\d)])\s*\*\*\s*(?=[\d(])", "^", line).replace("**", "  ")


def _tokens(line: str) -> list[_Token]:
    """The tokens of a normalised line."""
    found: list[_Token] = []
    for match in _TOKEN.finditer(line):
        kind = match.lastgroup or "other"
        token = _Token(kind, match.group(0), match.start(), match.end())
        if kind == "num":
            text = token.text.replace(",", "")
            token.value = float(text)
            if not math.isfinite(token.value):
                token.kind = "other"  # "1e999"
            mantissa = text.lower().split("e")[0]
            token.decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
            if "e" in text.lower():
                token.decimals = max(0, token.decimals - int(text.lower().split("e")[1]))
        elif kind == "word" and token.text.lower() == "equals":
            token.kind = "eq"
        elif kind == "sup":
            try:
                token.value = float(token.text.translate(_SUPERSCRIPT))
            except ValueError:
                token.kind = "other"
        found.append(token)
    return found


# --------------------------------------------------------------------------------------------------------------------
# Arithmetic: reading an expression
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class _Number:
    """A numeric literal with what was written around it: a scale word, a percent sign, a unit."""

    value: float
    half_unit: float
    percent: bool = False
    unit: tuple[str, str] | None = None
    span: tuple[int, int] = (0, 0)
    """Where the number (with its scale, exponent and percent sign) is written in its line."""


@dataclass
class _Expression:
    items: list  # _Number, or an operator: "+", "-", "*", "/", "^", "u-" (unary minus), "(", ")", "r-" (range or minus)
    end: int

    @property
    def has_operator(self) -> bool:
        return any(isinstance(item, str) and item not in ("(", ")") for item in self.items)


def _number(tokens: list[_Token], i: int) -> tuple[_Number, int] | None:
    """A number at `tokens[i]` with its scale ("1.5 million", "10k"), percent sign and superscript exponent folded
    in; returns it and the index after it."""
    token = tokens[i]
    if token.kind != "num":
        return None
    value, half = token.value, 0.5 * 10.0**-token.decimals
    i += 1
    percent = False
    if i < len(tokens) and tokens[i].kind == "sup" and tokens[i].start == token.end:
        try:
            value, half, i = value ** tokens[i].value, 0.0, i + 1  # "10⁸"
        except (OverflowError, ZeroDivisionError):
            return None
        if isinstance(value, complex) or not math.isfinite(value):
            return None
    if i < len(tokens) and tokens[i].kind == "word":
        scale = _SCALES.get(tokens[i].text.lower())
        if scale is None and tokens[i].start == token.end:
            scale = _SCALE_SUFFIXES.get(tokens[i].text)
        if scale:
            value, half, i = value * scale, half * scale, i + 1
    if i < len(tokens) and (tokens[i].kind == "pct" or tokens[i].text.lower() in ("percent", "pct")):
        percent, i = True, i + 1
    return _Number(value, half, percent, span=(token.start, tokens[i - 1].end)), i


def _unit(word: str) -> tuple[str, str] | None:
    return _UNIT.get(word) or (_UNIT.get(word.lower()) if len(word) > 1 else None)


def _word_operator(tokens: list[_Token], i: int) -> tuple[str, int] | None:
    """A written operator at `tokens[i]` ("x", "times", "divided by") followed by an operand; its symbol and the
    index after it."""
    if tokens[i].kind != "word":
        return None
    pair = (tokens[i].text.lower(), tokens[i + 1].text.lower() if i + 1 < len(tokens) else "")
    if pair in _PAIR_OPS:
        symbol, after = _PAIR_OPS[pair], i + 2
    elif tokens[i].text in _WORD_OPS:
        symbol, after = _WORD_OPS[tokens[i].text], i + 1
    else:
        return None
    if after < len(tokens) and (tokens[after].kind in ("num", "lp", "cur")):
        return symbol, after
    return None


def _operand_position(tokens: list[_Token], i: int) -> tuple[list, int] | None:
    """Opening parentheses, a unary minus and a currency sign before a number: the items and the index of the
    number."""
    items: list = []
    while i < len(tokens):
        token = tokens[i]
        if token.kind == "lp":
            items.append("(")
        elif token.kind == "cur":
            pass
        elif token.text in ("-", "−") and i + 1 < len(tokens) and tokens[i + 1].start == token.end:
            items.append("u-")
        else:
            return items, i
        i += 1
    return None


def _read_expression(tokens: list[_Token], i: int, *, until_equals: bool) -> _Expression | None:
    """The expression that starts at `tokens[i]`: operands (numbers, each with up to three unit words) joined by
    operators, with balanced parentheses. With `until_equals` it must end at an equals sign."""
    items: list = []
    depth = 0
    while True:
        found = _operand_position(tokens, i)
        if found is None:
            return None
        opening, i = found
        items += opening
        depth += opening.count("(")
        if depth > MAX_NESTING or len(items) > MAX_ITEMS:
            return None
        read = _number(tokens, i) if i < len(tokens) else None
        if read is None:
            return None
        number, i = read
        units = 0
        while i < len(tokens) and tokens[i].kind == "word" and units < 3 and not _word_operator(tokens, i):
            word = tokens[i]
            if word.text.lower() in STOPWORDS and word.text.lower() not in _UNIT_LINKS:
                break  # "was", "is", "and": a sentence goes on, not a unit
            if word.text.lower() in _SCALES:
                return None
            unit = _unit(word.text)
            glued = word.start == tokens[i - 1].end
            letter = len(word.text) == 1 and word.text not in _SINGLE_LETTER_WORDS
            if units == 0 and unit is None and (glued or letter):
                return None  # a variable ("3n + 4"), an ordinal ("3rd") or a clock time ("2pm"), not a unit
            if number.unit is None and unit:
                number.unit = unit
            units, i = units + 1, i + 1
        items.append(number)
        while i < len(tokens) and tokens[i].kind == "rp" and depth > 0:
            items.append(")")
            depth, i = depth - 1, i + 1
        if i >= len(tokens):
            return None if until_equals or depth else _Expression(items, i)
        token = tokens[i]
        written = _word_operator(tokens, i)
        if token.kind == "op":
            previous = tokens[i - 1]
            if token.text in "-−–":
                tight = previous.end == token.start and i + 1 < len(tokens) and tokens[i + 1].start == token.end
                # "2-3" may be a range or a difference; a tight en dash is a range ("2–3") and is read as one too.
                symbol = "r-" if tight and (token.text == "–" or previous.kind == "num") else "-"
            else:
                symbol = _OPS[token.text]
            items.append(symbol)
            i += 1
        elif written:
            items.append(written[0])
            i = written[1]
        elif token.kind == "eq" and until_equals and depth == 0:
            return _Expression(items, i)
        else:
            return None if until_equals or depth else _Expression(items, i)


MAX_NESTING = 8
MAX_ITEMS = 200
"""Longer or deeper expressions are not arithmetic steps a response writes out (and would recurse deeply)."""


class _Unreadable(Exception):
    """The expression cannot be evaluated (division by zero, an overflow, a malformed nesting)."""


def _round(value: float, digits: float = 0.0) -> float:
    if digits != int(digits) or abs(digits) > 15:
        raise ValueError("round() takes a whole number of digits up to 15")
    return float(round(value, int(digits)))


FUNCTIONS = {
    "sqrt": (math.sqrt, 1, 1),
    "round": (_round, 1, 2),
    "abs": (abs, 1, 1),
    "floor": (math.floor, 1, 1),
    "ceil": (math.ceil, 1, 1),
    "log10": (math.log10, 1, 1),
    "min": (min, 1, 20),
    "max": (max, 1, 20),
}
"""The functions `calculate` knows: name -> (function, fewest and most arguments)."""


@dataclass(frozen=True)
class _Call:
    """A function call in an expression's items (only `calculate` writes them): `_Call`, "(", args split by ",", ")"."""

    name: str

    def apply(self, args: list[float]) -> float:
        function, fewest, most = FUNCTIONS[self.name]
        if not fewest <= len(args) <= most:
            raise _Unreadable
        try:
            return _finite(float(function(*args)))
        except (ValueError, OverflowError, TypeError) as exc:
            raise _Unreadable from exc


def _finite(value: float) -> float:
    """`value`, or `_Unreadable` when an operation overflowed (`1e308 * 10`) or lost its meaning (`inf - inf`)."""
    if isinstance(value, complex) or not math.isfinite(value):
        raise _Unreadable
    return value


def _evaluate(items: list, percent_as_fraction: bool, ranges: tuple[str, ...]) -> float:
    """Evaluates an expression's items by precedence (^ binds tightest and to the right; unary minus; × /; + -).
    `ranges` says how each ambiguous hyphen reads: "-" (minus), "lo", "hi", "mid" (the range's low or high end or
    middle) or "span" (its length, as in "1998-2023 = 25 years")."""
    stream = list(items)
    range_reading = iter(ranges)
    # Resolve hyphen ranges first: "2-3" becomes one number.
    resolved: list = []
    index = 0
    while index < len(stream):
        item = stream[index]
        if item == "r-":
            reading = next(range_reading)
            if reading == "-":
                resolved.append("-")
            else:
                low = resolved.pop()
                high = stream[index + 1]
                if not isinstance(low, _Number) or not isinstance(high, _Number):
                    raise _Unreadable
                value = {
                    "lo": low.value,
                    "hi": high.value,
                    "mid": (low.value + high.value) / 2,
                    "span": high.value - low.value,  # "1998-2023 = 25 years"
                }[reading]
                resolved.append(_Number(value, 0.0, low.percent or high.percent, low.unit or high.unit))
                index += 1
        else:
            resolved.append(item)
        index += 1
    position = 0

    def peek() -> object:
        return resolved[position] if position < len(resolved) else None

    def take() -> object:
        nonlocal position
        position += 1
        return resolved[position - 1]

    def primary() -> float:
        item = take()
        if isinstance(item, _Call):
            if take() != "(":
                raise _Unreadable
            args = [additive()]
            while peek() == ",":
                take()
                args.append(additive())
            if take() != ")":
                raise _Unreadable
            return item.apply(args)
        if item == "(":
            value = additive()
            if take() != ")":
                raise _Unreadable
            return value
        if item == "u-":
            return -power()
        if isinstance(item, _Number):
            return item.value / 100 if item.percent and percent_as_fraction else item.value
        raise _Unreadable

    def power() -> float:
        base = primary()
        if peek() == "^":
            take()
            exponent = power()
            if abs(exponent) > 400 or (base == 0 and exponent < 0):
                raise _Unreadable
            try:
                result = base**exponent
            except (OverflowError, ZeroDivisionError) as exc:
                raise _Unreadable from exc
            if isinstance(result, complex):
                raise _Unreadable
            return result
        return base

    def multiplicative() -> float:
        value = power()
        while peek() in ("*", "/"):
            operator = take()
            right = power()
            if operator == "/" and right == 0:
                raise _Unreadable
            value = _finite(value * right if operator == "*" else value / right)
        return value

    def additive() -> float:
        value = multiplicative()
        while peek() in ("+", "-"):
            operator = take()
            right = multiplicative()
            value = _finite(value + right if operator == "+" else value - right)
        return value

    result = additive()
    if position != len(resolved) or not math.isfinite(result):
        raise _Unreadable
    return result


def _values(expression: _Expression) -> set[float]:
    """Every value the expression may have: percent signs read as a fraction or as a plain number, each hyphen
    between two numbers as a minus or a range (at most two such hyphens)."""
    ranges = expression.items.count("r-")
    if ranges > 2:
        return set()
    readings = list(itertools.product(("-", "lo", "hi", "mid", "span"), repeat=ranges))
    percents = (True, False) if any(isinstance(i, _Number) and i.percent for i in expression.items) else (True,)
    found = set()
    for percent, reading in itertools.product(percents, readings):
        try:
            found.add(_evaluate(expression.items, percent, reading))
        except (_Unreadable, IndexError, StopIteration):
            continue
    return found


def _mixes_units(expression: _Expression, result_unit: tuple[str, str] | None) -> bool:
    """Whether the expression adds quantities of one kind in different units ("1 hour + 30 minutes"), or its result
    is in another unit of a kind it uses ("100 cm × 3 = 3 m"): read as plain numbers, those are not wrong."""
    units = {item.unit for item in expression.items if isinstance(item, _Number) and item.unit}
    families: dict[str, set[str]] = {}
    for family, name in units:
        families.setdefault(family, set()).add(name)
    if any(op in expression.items for op in ("+", "-", "r-")) and any(len(names) > 1 for names in families.values()):
        return True
    if result_unit:
        family, name = result_unit
        return family in families and name not in families[family]
    return False


# --------------------------------------------------------------------------------------------------------------------
# Arithmetic: equations
# --------------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One arithmetic step a text writes out: its text, the value it states, the values its left side may have, and
    whether it was stated as approximate ("≈", "about")."""

    text: str
    stated: float
    computed: tuple[float, ...]
    approximate: bool
    half_unit: float
    line: int = field(default=-1, compare=False)
    """The index of its line in `text.splitlines()`."""
    result_span: tuple[int, int] | None = field(default=None, compare=False)
    """Where the stated result is written in that line (None when the line could not be read in place)."""
    operand_spans: tuple[tuple[int, int], ...] = field(default=(), compare=False)
    """Where each number of its left side is written in that line."""
    expression: str | None = field(default=None, compare=False)
    """The left side as `calculate` reads it ("20000 * 2"); None when a hyphen may be a range."""

    def error(self, exact_tolerance: float, approx_tolerance: float) -> float:
        """The relative error of the stated value against the nearest computed one, after allowing for rounding to
        the stated precision (0 when it is right)."""
        best = math.inf
        for value in self.computed:
            gap = abs(value - self.stated)
            if gap <= self.half_unit + 1e-9 * max(1.0, abs(value)):
                return 0.0
            whole = self.stated == round(self.stated) and abs(value) >= 1
            if whole and math.floor(value) <= self.stated <= math.ceil(value):
                return 0.0  # whole units: "50 people / 8 per car = 7 cars", "8 / 3 = 2 full boxes"
            best = min(best, gap / max(abs(value), abs(self.stated), 1e-12))
        if self.approximate and self.computed:
            # "≈" may round to the leading digit: 1,240 ≈ 1,000; 9,500 ≈ 10,000.
            nearest = min(self.computed, key=lambda v: abs(v - self.stated))
            if nearest and abs(nearest - self.stated) <= 0.5 * 10.0 ** math.floor(math.log10(abs(nearest))) * 1.0001:
                return 0.0
        tolerance = approx_tolerance if self.approximate else exact_tolerance
        return 0.0 if best <= tolerance else best

    def shown_value(self) -> str:
        value = min(self.computed, key=lambda v: abs(v - self.stated))
        return f"{value:,.6g}" if abs(value) < 1e15 else f"{value:.3g}"


def _starts_expression(tokens: list[_Token], line: str, i: int) -> bool:
    """Whether an expression may start at `tokens[i]` rather than in the middle of one: not after an operator, a
    number, a clock time or a date, not glued to a letter or to ":/.,-" ("CO2", "9:30", "3,50"), and not inside a
    compound quantity ("2 hours 30 minutes", "2 to 3 hours")."""
    token = tokens[i]
    if token.kind not in ("num", "lp", "cur") and not (token.kind == "op" and token.text in "-−"):
        return False
    if token.kind == "op" and not (i + 1 < len(tokens) and tokens[i + 1].start == token.end):
        return False
    if token.start > 0 and (line[token.start - 1].isalnum() or line[token.start - 1] in ":/.,-−–^'’_"):
        return False
    if i == 0:
        return True
    previous = tokens[i - 1]
    if previous.kind in ("op", "num", "time", "date", "sup", "pct") or _word_operator(tokens, i - 1):
        return False
    if previous.kind == "word" and previous.text.lower() in ("by", "x") and i >= 2:
        return False
    if previous.kind == "word" and i >= 2 and tokens[i - 2].kind == "num":
        return _is_result(tokens, i - 2)
    return not (token.kind == "op" and previous.kind not in ("other", "eq", "lp"))


def _is_result(tokens: list[_Token], i: int) -> bool:
    """Whether the number at `tokens[i]` is the stated result of an equation (so a word after it is a conjunction
    before the next step, as in "= 24 and 2 × 3 = 6")."""
    j = i - 1
    while j >= 0 and (tokens[j].kind in ("cur", "tilde") or tokens[j].text.lower() in _APPROX_WORDS):
        j -= 1
    return j >= 0 and tokens[j].kind == "eq"


def _result(tokens: list[_Token], i: int) -> tuple[_Number, bool, int, int] | None:
    """The stated result after an equals sign at `tokens[i]`: the number, whether it is approximate, the index where
    it starts and the index after it. "= 1.5 × 10^8" is one number."""
    approximate = tokens[i].text in _APPROX_SIGNS
    i += 1
    while i < len(tokens) and (tokens[i].kind in ("tilde", "cur") or tokens[i].text.lower() in _APPROX_WORDS):
        approximate = approximate or tokens[i].kind == "tilde" or tokens[i].text.lower() in _APPROX_WORDS
        i += 1
    if i >= len(tokens):
        return None
    start = i
    negative = i + 1 < len(tokens) and tokens[i].text in ("-", "−") and tokens[i + 1].start == tokens[i].end
    read = _number(tokens, i + negative) if i + negative < len(tokens) else None
    if read is None:
        return None
    number, i = read
    if negative:
        number.value = -number.value
    # Scientific notation: "1.5 × 10^8", "1.5 × 10⁸".
    if (
        i + 2 < len(tokens)
        and tokens[i].kind in ("op", "word")
        and (_OPS.get(tokens[i].text) == "*" or tokens[i].text in ("x", "X"))
        and tokens[i + 1].kind == "num"
        and tokens[i + 1].value == 10
    ):
        if tokens[i + 2].kind == "sup" and tokens[i + 2].start == tokens[i + 1].end:
            exponent, after = tokens[i + 2].value, i + 3
        elif tokens[i + 2].text == "^" and i + 3 < len(tokens) and tokens[i + 3].kind == "num":
            exponent, after = tokens[i + 3].value, i + 4
        elif tokens[i + 2].text == "^" and i + 4 < len(tokens) and tokens[i + 3].text in ("-", "−"):
            exponent, after = -tokens[i + 4].value, i + 5
        else:
            exponent, after = None, i
        if exponent is not None and abs(exponent) <= 300:
            number.value *= 10.0**exponent
            number.half_unit *= 10.0**exponent
            i = after
    if i < len(tokens) and tokens[i].kind == "word":
        number.unit = _unit(tokens[i].text)
    return number, approximate, start, i


def _compound_after(tokens: list[_Token], i: int) -> bool:
    """Whether the number ending before `tokens[i]` is part of a compound quantity, a clock time or a date
    ("= 3 hours 15 minutes", "= 10:15")."""
    if i >= len(tokens):
        return False
    token = tokens[i]
    if token.kind in ("num", "time", "date", "sup") or (token.kind == "other" and token.text in ":/"):
        return token.kind != "other" or token.start == tokens[i - 1].end
    if token.kind == "word" and token.text.lower() not in STOPWORDS and i + 1 < len(tokens):
        return tokens[i + 1].kind == "num"
    return False


def arithmetic_steps(text: str) -> list[Step]:
    """Every arithmetic step `text` writes out that can be read for certain: an expression with at least one operator,
    an equals sign (or ≈), and a stated number."""
    steps: list[Step] = []
    for number, raw in enumerate(text.splitlines()):
        line = _normalise(raw)
        in_place = len(line) == len(raw)  # `2**3` is read as `2^3`: positions no longer match the text
        tokens = _tokens(line)
        i = 0
        while i < len(tokens):
            if not _starts_expression(tokens, line, i):
                i += 1
                continue
            expression = _read_expression(tokens, i, until_equals=True)
            if expression is None or not expression.has_operator:
                i += 1
                continue
            result = _result(tokens, expression.end)
            if result is None:
                i = expression.end + 1
                continue
            stated, approximate, start, after = result
            values = _values(expression)
            if after < len(tokens) and (tokens[after].kind == "op" or _word_operator(tokens, after)):
                # A running chain ("300 × 4 = 1,200 × 12 = 14,400") or an equality of expressions ("2 × 6 = 3 × 4"):
                # an equality that holds is right; otherwise the stated number is checked.
                right = _read_expression(tokens, start, until_equals=False)
                right_values = _values(right) if right else set()
                if any(abs(v - r) <= 1e-9 * max(1.0, abs(v)) for v in values for r in right_values):
                    values = set()
            skip = _compound_after(tokens, after) or _mixes_units(expression, stated.unit)
            if values and not skip:
                if stated.percent:  # "50 / 200 = 25%": a fraction stated as a percentage, or the other way round
                    values |= {v * 100 for v in values} | {v / 100 for v in values}
                excerpt = line[tokens[i].start : tokens[after - 1].end].strip()
                operands = [item.span for item in expression.items if isinstance(item, _Number)]
                steps.append(
                    Step(
                        excerpt,
                        stated.value,
                        tuple(sorted(values)),
                        approximate,
                        stated.half_unit,
                        line=number,
                        result_span=(tokens[start].start, tokens[after - 1].end) if in_place else None,
                        operand_spans=tuple(operands) if in_place else (),
                        expression=_expression_text(expression.items),
                    )
                )
            i = expression.end + 1
    return steps


def arithmetic_error(text: str, exact_tolerance: float = 0.01, approx_tolerance: float = 0.1) -> str | None:
    """The first arithmetic step written out in `text` whose stated result is wrong, with the right one, or None.

    A step stated with "=" may be off by `exact_tolerance` (relative) or by its own rounding ("1 / 3 = 0.33",
    "50 / 8 = 7 cars"); one stated with "≈", "~" or "about" by `approx_tolerance`."""
    for step in arithmetic_steps(text):
        if step.error(exact_tolerance, approx_tolerance):
            return f"{step.text} (the result is {step.shown_value()})"
    return None


# --------------------------------------------------------------------------------------------------------------------
# Arithmetic: the calculator
# --------------------------------------------------------------------------------------------------------------------

MAX_EXPRESSION_CHARS = 500
MAX_MAGNITUDE = 1e100
"""`calculate` refuses longer expressions and larger results: no estimate needs them."""


class CalculationError(ValueError):
    """An expression `calculate` does not read (a name, an attribute, a string, a lambda), or one whose value is not
    a finite number of reasonable size (division by zero, an overflow, a huge power)."""


def _literal(value: float) -> str:
    """A number as `calculate` reads it back exactly (whole numbers without an exponent)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _expression_text(items: list) -> str | None:
    """An expression's items as `calculate` reads them: numbers as plain literals (scales folded in), percent signs
    kept, one operator spelling. None when a hyphen may be a range ("2-3 hours"): there is no one value to compute."""
    written: list[str] = []
    glued = True  # a unary minus and an opening parenthesis are written against what follows them
    for item in items:
        if isinstance(item, _Number):
            text = _literal(item.value) + ("%" if item.percent else "")
        elif item == "r-":
            return None
        else:
            text = "-" if item == "u-" else item
        written.append(text if glued or text == ")" else f" {text}")
        glued = item in ("u-", "(")
    return "".join(written)


def calculate(expression: str) -> float:
    """The value of one arithmetic expression, read by the same tokenizer and evaluator as `arithmetic_error`.

    It reads numbers (`1,200`, `3.5`, `2e6`, `1.5 million`, `10k`, `30%` as 0.3), + - × * / ÷ ^ ** (an exponent of
    at most 400), parentheses, unary minus, the words "times", "plus", "minus", "divided by", and the functions in
    `FUNCTIONS` (`sqrt(2)`, `round(3.14159, 2)`, `max(3, 4)`). Nothing is ever evaluated as Python: a name, an
    attribute, a string, a call of anything else is refused.

    Raises:
        CalculationError: The expression is unreadable, or its value is not finite or larger than `MAX_MAGNITUDE`.
    """
    text = expression.strip() if isinstance(expression, str) else ""
    if not text:
        raise CalculationError("an empty expression")
    if len(text) > MAX_EXPRESSION_CHARS:
        raise CalculationError(f"the expression is longer than {MAX_EXPRESSION_CHARS} characters")
    # "log10" would read as the word "log" and the number 10: it is spelled without digits for the tokenizer.
    tokens = _tokens(re.sub(r"\blog10(?=\s*\()", "logten", text.rstrip("= ").replace("**", "^")))
    items: list = []
    depth, i, operand = 0, 0, True
    while i < len(tokens):
        token = tokens[i]
        if operand:
            if token.kind == "num":
                read = _number(tokens, i)
                if read is None:
                    raise CalculationError(f"cannot read the number at {token.text!r}")
                items.append(read[0])
                i, operand = read[1], False
                continue
            name = token.text.lower().replace("logten", "log10")
            if token.kind == "word" and name in FUNCTIONS:
                if i + 1 >= len(tokens) or tokens[i + 1].kind != "lp":
                    raise CalculationError(f"{name} needs its arguments in parentheses")
                items += [_Call(name), "("]
                depth, i = depth + 1, i + 1
            elif token.kind == "lp":
                items.append("(")
                depth += 1
            elif token.text in ("-", "−"):
                items.append("u-")
            elif token.text != "+" and token.kind != "cur":
                raise CalculationError(f"expected a number at {token.text!r}")
        else:
            written = _word_operator(tokens, i)
            if written:
                items.append(written[0])
                i, operand = written[1], True
                continue
            if token.kind == "rp" and depth:
                items.append(")")
                depth -= 1
            elif token.kind == "op":
                items.append("-" if token.text in "-−–" else _OPS[token.text])
                operand = True
            elif token.text == "," and depth:
                items.append(",")
                operand = True
            else:
                raise CalculationError(f"expected an operator at {token.text!r}")
        if depth > MAX_NESTING or len(items) > MAX_ITEMS:
            raise CalculationError("the expression is nested too deeply or too long")
        i += 1
    if operand or depth:
        raise CalculationError("the expression is incomplete")
    try:
        value = _evaluate(items, True, ())
    except (_Unreadable, IndexError, StopIteration) as exc:
        raise CalculationError(
            "the expression has no finite value (a division by zero, an overflow, a huge power, or a malformed call)"
        ) from exc
    if abs(value) > MAX_MAGNITUDE:
        raise CalculationError(f"the result is larger than {MAX_MAGNITUDE:g}")
    return value
