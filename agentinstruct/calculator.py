"""The calculator tool responders may use, and the arithmetic check that puts it to work on an answer.

`calculator(expression)` evaluates one arithmetic expression with `metrics.arithmetic.calculate` (the same tokenizer
and evaluator that `arithmetic_error` checks answers with; model text is never evaluated as Python) and is offered as
`CALCULATOR`, a `dspy.Tool`, so a ReAct-style responder can call it and a record can list its schema in `tools`.

`check_arithmetic(answer)` is what the Fermi and analytical-reasoning responders do with it: a 270M model cannot run a
tool loop, but it can write its answer with the arithmetic spelled out ("20,000 × 2 = 40,000"). Every step written
that way is recomputed with the calculator; a stated result the calculator disagrees with is replaced by the right
one, written the way the model wrote numbers ("4,000" -> "40,000", "12 million" -> "120 million"), and so are the
later uses of the wrong number that can be found for certain: the same number as an operand of a later step, or in the
closing line ("Answer: 6", "Estimate: about 1,400 loaves"), as long as that number appears nowhere before the wrong
step nor in the question (where it could be a given figure). Each calculator call is kept.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import dspy

from agentinstruct.metrics.arithmetic import CalculationError, Step, arithmetic_error, arithmetic_steps, calculate

EXACT_TOLERANCE = 0.01
APPROX_TOLERANCE = 0.1
"""A step is corrected when `arithmetic_error`'s default tolerances call it wrong (stricter than any skill's
validator: what a validator would reject is always corrected)."""
MAX_STEPS_CHECKED = 50


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression: numbers, + - * / ^, parentheses, % (30% is 0.3), sqrt, round, abs, floor,
    ceil, log10, min, max. No variables or units."""
    try:
        return format_value(calculate(expression))
    except CalculationError as exc:
        return f"error: {exc}"


CALCULATOR = dspy.Tool(
    calculator,
    desc=" ".join((calculator.__doc__ or "").split()),
    arg_desc={"expression": "e.g. 20000 * 2 / 20"},
)
"""The calculator as a DSPy tool (`dspy.ReAct(signature, tools=[CALCULATOR])`)."""


def calculator_schema() -> dict:
    """The calculator's OpenAI function schema, as a record's `tools` column lists it."""
    return CALCULATOR.format_as_litellm_function_call()


def format_value(value: float) -> str:
    """A result as the calculator reports it: whole numbers exactly, others to 12 significant digits."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.12g}"


@dataclass(frozen=True)
class CalculatorCall:
    """One calculator call made while checking an answer: the step as written, the expression sent, the value returned,
    and what became of the step."""

    step: str
    expression: str
    result: str
    outcome: str
    """"right" (the stated result agrees), "corrected" (replaced by `corrected_to`), or "left" (wrong, but could not be
    replaced for certain)."""
    corrected_to: str | None = None

    def arguments(self) -> str:
        return json.dumps({"expression": self.expression}, ensure_ascii=False)


@dataclass
class ArithmeticCheck:
    """An answer after its arithmetic was checked with the calculator."""

    original: str
    text: str
    calls: list[CalculatorCall] = field(default_factory=list)
    later_uses: int = 0
    """How many later uses of a wrong number were replaced along with it."""

    @property
    def corrected(self) -> int:
        return sum(call.outcome == "corrected" for call in self.calls)

    @property
    def right(self) -> int:
        return sum(call.outcome == "right" for call in self.calls)

    @property
    def verified(self) -> bool:
        """Whether every step now checks out (what could not be corrected is still wrong)."""
        return arithmetic_error(self.text, EXACT_TOLERANCE, APPROX_TOLERANCE) is None

    def execution(self) -> dict | None:
        """What the calculator did, in the record's `execution` shape; None when the answer writes out no step."""
        if not self.calls:
            return None
        output = "\n".join(
            f"calculator({call.expression}) = {call.result}: {call.outcome}"
            + (f" ({call.step} -> {call.corrected_to})" if call.corrected_to else f" ({call.step})")
            for call in self.calls
        )
        detail = f"{len(self.calls)} arithmetic step(s) checked with the calculator, {self.corrected} corrected"
        if self.later_uses:
            detail += f" (and {self.later_uses} later use(s) of a wrong result)"
        left = len(self.calls) - self.right - self.corrected
        if left:
            detail += f", {left} wrong but left as written"
        return {
            "verified": self.verified,
            "command": "calculator: " + "; ".join(call.expression for call in self.calls),
            "exit_code": 0,
            "tests_passed": self.right,
            "tests_failed": len(self.calls) - self.right,
            "output": output,
            "detail": detail,
        }

    def tool_turns(self) -> list[dict]:
        """The calculator calls as OpenAI-shaped turns: one assistant turn calling the calculator for every step, then
        one `tool` turn per call with its value (the final answer comes after them)."""
        if not self.calls:
            return []
        ids = [f"call_{index + 1}" for index in range(len(self.calls))]
        calls = [
            {"id": call_id, "type": "function", "function": {"name": "calculator", "arguments": call.arguments()}}
            for call_id, call in zip(ids, self.calls, strict=True)
        ]
        results = [
            {"role": "tool", "content": call.result, "tool_call_id": call_id, "name": "calculator"}
            for call_id, call in zip(ids, self.calls, strict=True)
        ]
        return [{"role": "assistant", "content": "", "tool_calls": calls}, *results]


_CONCLUSION = re.compile(
    r"^\W*(?:final\s+|rough\s+|my\s+)?(?:answer|estimate|result|total|so|therefore|thus|overall|in total|"
    r"that gives|this gives)\b",
    re.IGNORECASE,
)
_RESULT = re.compile(
    r"^(?P<sign>[-−]?)(?P<literal>\d[\d,]*(?:\.\d+)?|\.\d+)(?P<exponent>[eE][-+]?\d+)?"
    r"(?P<times10>\s*[×x*·✕∙]\s*10(?:\^\s*(?P<power>[-−]?\d+)|(?P<sup>[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)))?(?P<rest>.*)$",
    re.DOTALL,
)
_SEPARATED = re.compile(r"\d,\d{3}(?!\d)")
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def check_arithmetic(answer: str, question: str = "", tool: dspy.Tool = CALCULATOR) -> ArithmeticCheck:
    """Recompute every arithmetic step `answer` writes out with the calculator `tool`, correct the stated results it
    disagrees with (and their later uses, where certain), and keep the calls. `question` holds the figures the answer
    was given: a wrong result equal to one of them is corrected in its step only."""
    check = ArithmeticCheck(answer, answer)
    unfixable: set[tuple[int, int]] = set()
    index = 0
    while index < MAX_STEPS_CHECKED:
        steps = arithmetic_steps(check.text)
        if index >= len(steps):
            break
        step = steps[index]
        index += 1
        if step.expression is None:
            continue  # a hyphen that may be a range: no one value to compute
        result = tool(expression=step.expression)
        try:
            value = float(result)
        except ValueError:
            continue  # the calculator refused it ("error: ...")
        wrong = step.error(EXACT_TOLERANCE, APPROX_TOLERANCE) > 0
        key = (step.line, step.result_span[0] if step.result_span else -1)
        if not wrong or step.result_span is None or key in unfixable:
            check.calls.append(CalculatorCall(step.text, step.expression, result, "left" if wrong else "right"))
            continue
        fixed = _corrected(check.text, step, value, question)
        if fixed is None:
            unfixable.add(key)
            check.calls.append(CalculatorCall(step.text, step.expression, result, "left"))
            continue
        check.text, written, later = fixed
        check.later_uses += later
        check.calls.append(CalculatorCall(step.text, step.expression, result, "corrected", written))
    return check


def _line_starts(text: str) -> list[int]:
    """Where each line of `text.splitlines()` starts in `text`."""
    starts, offset = [], 0
    for line in text.splitlines(keepends=True):
        starts.append(offset)
        offset += len(line)
    return starts


def _corrected(text: str, step: Step, value: float, question: str) -> tuple[str, str, int] | None:
    """`text` with `step`'s stated result replaced by `value` written like it, and the later uses of the wrong result
    replaced too; with the new result's text and the number of later uses replaced. None when the replacement does not
    make the step right (a result the reader took apart differently)."""
    starts = _line_starts(text)
    lines = text.splitlines()
    begin, end = step.result_span
    stated_text = lines[step.line][begin:end]
    written = _written_like(stated_text, step, value, separators=bool(_SEPARATED.search(text)))
    if written is None or written == stated_text:
        return None
    at = starts[step.line]
    replacements = [(at + begin, at + end)]
    # Later uses of the wrong number, where certain: it must not appear before the step, nor in the question.
    unambiguous = not _mentions(text[: at + begin], stated_text) and not _mentions(question, stated_text)
    if unambiguous:
        for later in arithmetic_steps(text):
            for operand in later.operand_spans:
                position = (starts[later.line] + operand[0], starts[later.line] + operand[1])
                if position[0] > at + end and text[position[0] : position[1]] == stated_text:
                    replacements.append(position)
    # The closing line restates a wrong result: certain when nothing else came before it, or when it is the result of
    # the last step before that line ("50 - 40 = 10" ... "Answer: 10", even though 10 was also a given figure).
    steps = arithmetic_steps(text)
    for number, line in enumerate(lines):
        if number < step.line or not _CONCLUSION.match(line):
            continue
        last = [s for s in steps if s.line < number]
        restated = bool(last) and last[-1].line == step.line and last[-1].result_span == step.result_span
        if not (unambiguous or restated):
            continue
        for match in _occurrences(line, stated_text):
            position = (starts[number] + match.start(), starts[number] + match.end())
            if position[0] > at + end:
                replacements.append(position)
    replacements = sorted(set(replacements), reverse=True)
    fixed = text
    for first, last in replacements:
        fixed = fixed[:first] + written + fixed[last:]
    # The step must now check out where it stands.
    now = [s for s in arithmetic_steps(fixed.splitlines()[step.line]) if s.result_span and s.result_span[0] == begin]
    if not now or now[0].error(EXACT_TOLERANCE, APPROX_TOLERANCE) > 0:
        return None
    return fixed, written, len(replacements) - 1


def _occurrences(text: str, number: str):
    return re.finditer(rf"(?<![\w.,]){re.escape(number)}(?![\w]|[.,]\d)", text)


def _mentions(text: str, number: str) -> bool:
    return any(True for _ in _occurrences(text, number))


def _written_like(stated: str, step: Step, value: float, *, separators: bool) -> str | None:
    """`value` written in the form of the stated result `stated`: the same thousands separators, scale word ("million"),
    scientific notation ("1.5 × 10^8", "3e8") and percent sign; thousands separators also where the answer uses them
    elsewhere (`separators`). None when `stated` is in no form this knows."""
    match = _RESULT.match(stated)
    if match is None:
        return None
    literal = float(match["literal"].replace(",", "")) * (-1 if match["sign"] else 1)
    candidates = [value]
    if "%" in match["rest"] or "percent" in match["rest"].lower():
        candidates += [value * 100, value / 100]  # "50 / 200 = 25%": the checker reads either
    target = step.stated
    value = min(candidates, key=lambda v: abs(math.log(abs(v) / abs(target))) if v and target else math.inf)
    commas = "," in match["literal"] or separators
    if match["times10"] or match["exponent"]:
        if value == 0:
            return None
        power = math.floor(math.log10(abs(value)))
        mantissa = _plain(value / 10.0**power, approximate=step.approximate, commas=False)
        if match["exponent"]:
            return f"{mantissa}e{power}{match['rest']}"
        times = match["times10"][: match["times10"].index("10")]
        exponent = str(power).translate(_SUPERSCRIPTS) if match["sup"] else f"^{power}"
        return f"{mantissa}{times}10{exponent}{match['rest']}"
    if literal == 0 or step.stated == 0:
        return None
    scale = step.stated / literal  # "12 million": 1e6; "25%": 1
    return _plain(value / scale, approximate=step.approximate, commas=commas) + match["rest"]


def _plain(value: float, *, approximate: bool, commas: bool) -> str:
    """A number written plainly: whole numbers without decimals, others to four significant figures (two for an
    approximate step of at least 100: "≈ 3,900,000")."""
    if approximate and abs(value) >= 100:
        value = float(f"{value:.2g}")
    if abs(value - round(value)) < 1e-9 * max(1.0, abs(value)):
        return f"{round(value):,}" if commas else str(round(value))
    digits = max(0, 3 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{digits}f}" if commas else f"{value:.{digits}f}"
    return text.rstrip("0").rstrip(".")
