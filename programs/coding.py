"""The coding skill's responder: the model writes code and test lines, and both run in the sandbox.

A small model cannot write a whole answer (prose, a code file and a test file) in one go, so the answer is made in
small steps, each one short field of its own predictor:

1. the code: the source's own code where the task only asks for tests or an explanation of it (taken as it is, never
   retyped), else written by `WriteCode`, then read leniently out of whatever fences and prose surround it;
2. two to four test lines (`assert f(x) == y` in Python, `assert.deepStrictEqual(f(x), y);` in JavaScript), which
   Python wraps into a test file: one `test_*` function (or one `node:test` case) per assert line;
3. the run: code and tests go into the sandbox (`agentinstruct.sandbox`, never this process) with a fixed runner of
   ours; where the task is about a bug, the tests run a second time against the source's buggy code, where they must
   fail. A run that fails is tried again with fresh samples, a few times;
4. the explanation, written by `ExplainCode` once the code passed.

The prediction carries `execution` (the record's `execution` column): `verified` is true when the code and its tests
really ran in the sandbox (whatever the outcome), `tests_passed` / `tests_failed` count test functions, `detail` says
what happened, including the run against the buggy code (`BUGGY_RUN` below). Where the sandbox cannot run, nothing
runs: the pair is marked unverified, and the skill's validators reject it.
"""

from __future__ import annotations

import ast
import keyword
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.signatures.agents import IDENTITY
from agentinstruct.signatures.coding import ExplainCode, WriteCode, WriteJavaScriptTests, WritePythonTests

PYTHON, JAVASCRIPT = "python", "javascript"
FENCE_TAG = {PYTHON: "python", JAVASCRIPT: "javascript"}
MAX_TESTS = 5
MIN_TESTS = 2
"""Passing tests a kept answer needs (the validators' bar): one assert proves little."""
ATTEMPTS = 3
"""Sandbox runs per answer: a run whose code fails its tests is retried with fresh samples (the tests only, where the
code is the source's own; code and tests, CODE_ATTEMPTS times, where the model writes the code)."""
CODE_ATTEMPTS = 2
MAX_DEMOS = 3
"""Worked examples per predictor (the first ones of the data file that fit it)."""
TESTS_MAX_TOKENS, EXPLANATION_MAX_TOKENS = 200, 160
"""Token caps of the short fields: a small model that has said what it had to say runs on until the cap."""
OUTPUT_CHARS = 2000
"""How much of the run's output the record keeps (its end, where the summary is)."""
BUGGY_RUN = re.compile(r"against the buggy code from the task: (\d+) passed, (\d+) failed")
"""How `detail` reports the run against the source's buggy code; the validators read it back."""

# ---------------------------------------------------------------------------------------------------------------------
# Reading code out of text
# ---------------------------------------------------------------------------------------------------------------------

_FENCE = re.compile(r"```[ \t]*([\w+#.-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)
_JS_MARKERS = re.compile(
    r"^\s*(?:(?:export\s+)?(?:async\s+)?function\s+\w+\s*\(|(?:export\s+)?(?:const|let|var)\s+\w+\s*=|"
    r"module\.exports\b|'use strict'|\"use strict\"|(?:export\s+)?class\s+\w+[^\n]*\{)",
    re.MULTILINE,
)
_PROSE_LINE = re.compile(r"^[A-Z][a-z]+(?:\s+[\w',-]+){3,}[.:!?]?$")
_TAG_LANGUAGE = {"python": PYTHON, "py": PYTHON, "python3": PYTHON, "javascript": JAVASCRIPT, "js": JAVASCRIPT}


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """The fenced code blocks of a text, as (tag, body); an unclosed last fence runs to the end."""
    return [(tag.lower(), body.rstrip()) for tag, body in _FENCE.findall(text)]


def parses_as_python(code: str) -> bool:
    """Whether `code` is Python that defines something (parsed only, never run)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    defining = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign, ast.Import)
    return any(isinstance(node, defining) for node in tree.body)


def looks_like_javascript(code: str) -> bool:
    return bool(_JS_MARKERS.search(code)) and ("{" in code or "=>" in code)


def language_of(code: str) -> str | None:
    """PYTHON or JAVASCRIPT, or None for prose and languages the sandbox runs no tests for."""
    if parses_as_python(code):
        return PYTHON
    if looks_like_javascript(code) and not re.search(r"^\s*def \w+\(.*\):\s*$", code, re.MULTILINE):
        return JAVASCRIPT
    return None


def _trim_python(text: str) -> str | None:
    """The longest run of lines of `text` that parses as Python: prose a model put before or after its code is cut."""
    lines = text.strip("\n").splitlines()
    for start in range(min(len(lines), 6)):
        for end in range(len(lines), max(start, len(lines) - 8), -1):
            candidate = "\n".join(lines[start:end]).strip("\n")
            if candidate and parses_as_python(candidate):
                return candidate
    return None


def _trim_javascript(text: str) -> str | None:
    lines = text.strip("\n").splitlines()
    while lines and (not lines[0].strip() or _PROSE_LINE.match(lines[0].strip())):
        lines.pop(0)
    while lines and (not lines[-1].strip() or _PROSE_LINE.match(lines[-1].strip())):
        lines.pop()
    code = "\n".join(lines)
    return code if code and looks_like_javascript(code) else None


def extract_code(text: str, language: str) -> str | None:
    """The code of `language` in a model's output, read leniently: a fenced block tagged for it (or any fenced block,
    the longest first), else the text itself, with prose lines before and after cut away (and, in Python, top-level
    asserts: tests belong in the tests, not in the module they would break on import)."""
    blocks = fenced_blocks(text)
    tagged = [body for tag, body in blocks if _TAG_LANGUAGE.get(tag) == language]
    candidates = tagged or sorted((body for _, body in blocks), key=len, reverse=True) or [text]
    trim = _trim_python if language == PYTHON else _trim_javascript
    for candidate in candidates:
        code = trim(candidate)
        if code:
            return _without_top_level_asserts(code) if language == PYTHON else code
    return None


def _without_top_level_asserts(code: str) -> str:
    tree = ast.parse(code)
    drop = {
        line
        for node in tree.body
        if isinstance(node, ast.Assert)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    if not drop:
        return code
    kept = [line for number, line in enumerate(code.splitlines(), 1) if number not in drop]
    stripped = "\n".join(kept).strip("\n")
    return stripped if parses_as_python(stripped) else code


def source_code(passage: str) -> tuple[str, str] | None:
    """The code a task's source holds, with its language: the whole source, or a fenced block of it; None when the
    source is prose (a specification, a scenario) or code in a language without a test runner here."""
    candidates = [body for _, body in fenced_blocks(passage)] or [passage]
    for candidate in candidates:
        language = language_of(candidate.strip())
        if language == JAVASCRIPT:
            return (_trim_javascript(candidate) or candidate).strip(), language
        if language:
            return candidate.strip(), language
    # Code a model wrote with a line of prose before or after it (a transformation's output).
    for candidate in candidates:
        for language, trim in ((PYTHON, _trim_python), (JAVASCRIPT, _trim_javascript)):
            code = trim(candidate)
            if code and code.count("\n") >= 2 and re.search(r"^\s*(?:def|class|function)\s", code, re.MULTILINE):
                return code, language
    return None


# ---------------------------------------------------------------------------------------------------------------------
# What the task asks for
# ---------------------------------------------------------------------------------------------------------------------

_BUG = re.compile(r"\b(?:bugs?|buggy|broken|faulty|defects?|fix(?:es|ed)?)\b", re.IGNORECASE)
_TESTS = re.compile(r"\b(?:unit[- ]tests?|tests?|test cases?)\b", re.IGNORECASE)
_EXPLAIN = re.compile(r"^\W*(?:explain|describe|what does|what do|walk through|how does|how do)\b", re.IGNORECASE)
_CHANGE = re.compile(
    r"\b(?:implement\w*|complete|fill in|fix\w*|refactor\w*|optimi[sz]e\w*|faster|rewrite|translate\w*|convert|port|"
    r"add|adds|adding|extend\w*|modify|rename|annotate)\b",
    re.IGNORECASE,
)
_TRANSLATE = re.compile(r"\b(?:translate\w*|convert\w*|port)\b", re.IGNORECASE)
_TARGET = re.compile(r"\b(?:to|into|in|using|with)\s+(javascript|js|node(?:\.js)?|python\s*3?|python)\b", re.IGNORECASE)
_NAMED = re.compile(r"\b(javascript|node\.js|python)\b", re.IGNORECASE)
_JS_STUB = re.compile(r"\)\s*(?:=>\s*)?\{\s*(?://[^\n]*\s*)?(?:throw new Error\([^)]*\);?\s*)?\}")
_JS_DEFINED = re.compile(
    r"^\s*(?:export\s+)?(?:async\s+)?function\*?\s+(\w+)|^\s*(?:export\s+)?class\s+(\w+)"
    r"|^\s+(?:async\s+)?(\w+)\s*\([^)]*\)\s*\{",
    re.MULTILINE,
)
_JS_KEYWORDS = frozenset({"if", "for", "while", "switch", "catch", "function", "return", "with"})


def defined_names(code: str) -> list[str]:
    """Every function, class and method name the code defines (parsed, for Python; by line pattern, for JavaScript)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        found = [next(g for g in m.groups() if g) for m in _JS_DEFINED.finditer(code)]
        return list(dict.fromkeys(name for name in found if name not in _JS_KEYWORDS))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return list(dict.fromkeys(node.name for node in ast.walk(tree) if isinstance(node, kinds)))


def has_stubs(code: str) -> bool:
    """Whether some function of the code has no body yet: `pass`, `...` or `raise NotImplementedError` (Python), an
    empty body or one that only throws (JavaScript)."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return bool(_JS_STUB.search(code))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            if not body:
                return True
            if len(body) == 1:
                only = body[0]
                if isinstance(only, ast.Pass) or (
                    isinstance(only, ast.Expr) and isinstance(only.value, ast.Constant) and only.value.value is ...
                ):
                    return True
                if isinstance(only, ast.Raise) and "NotImplementedError" in ast.unparse(only):
                    return True
    return False


_CODE_LINE = re.compile(
    r"^\s*(?:def|class|function|return|import|from|const|let|var|if|for|while|assert)\b|[{};]\s*$|\"\"\"|^\s*(?:#|//)"
)


def is_code_line(instruction: str) -> bool:
    """Whether a "task" is a line of code (a small model asked for tasks often continues the source instead)."""
    return bool(_CODE_LINE.search(instruction.strip()))


def asks_about_bug(instruction: str) -> bool:
    """Whether a task is about a bug in its source (fix it, find it, review for it)."""
    return bool(_BUG.search(instruction))


def asks_to_translate(instruction: str) -> bool:
    return bool(_TRANSLATE.search(instruction))


def asks_to_change(instruction: str, code: str | None) -> bool:
    """Whether the task asks for new or changed code (a word such as implement, fix, refactor, add, translate), the
    code's own names masked out (a task about testing a method `add` asks for no change)."""
    masked = instruction
    for name in defined_names(code or ""):
        masked = re.sub(rf"(?<![\w]){re.escape(name)}\b", "NAME", masked)
    return bool(_CHANGE.search(masked))


def keeps_source_code(instruction: str, code: str | None) -> bool:
    """Whether the answer's code is the source's own code, as it is: the task asks only for tests of it or an
    explanation of it, and the source's code is complete (no stubs left to fill in)."""
    if not code or has_stubs(code) or asks_about_bug(instruction):
        return False
    asks_tests_or_explanation = bool(_TESTS.search(instruction) or _EXPLAIN.search(instruction))
    return asks_tests_or_explanation and not asks_to_change(instruction, code)


def target_language(instruction: str, source_language: str | None) -> str:
    """The language the answer's code is in: the one the task says to write in, else the source's, else the one the
    task names, else Python."""
    wanted = [
        _TAG_LANGUAGE.get(name.lower().split(".")[0].split()[0], JAVASCRIPT) for name in _TARGET.findall(instruction)
    ]
    if wanted:
        return wanted[-1]
    if source_language:
        return source_language
    named = [_TAG_LANGUAGE.get(name.lower().split(".")[0], JAVASCRIPT) for name in _NAMED.findall(instruction)]
    return named[-1] if named else PYTHON


# ---------------------------------------------------------------------------------------------------------------------
# Tests: the model's lines, our test file
# ---------------------------------------------------------------------------------------------------------------------

_PY_TOP = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)|^(\w+)\s*(?::[^=\n]+)?=(?!=)", re.MULTILINE)
_JS_TOP = re.compile(
    r"^(?:export\s+)?(?:default\s+)?(?:async\s+)?(?:function\*?\s+(\w+)|class\s+(\w+)|(?:const|let|var)\s+(\w+))",
    re.MULTILINE,
)
_LIST_MARK = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_JS_WRAPPER = re.compile(
    r"^\s*(?:const|let|var)\s+.*\brequire\(|^\s*(?:test|it|describe)\s*\(|^\s*\}\s*\)?\s*;?\s*$|^\s*import\s"
)


def code_names(code: str, language: str) -> list[str]:
    """The names a file defines at its top level (functions, classes, constants), in order."""
    pattern = _PY_TOP if language == PYTHON else _JS_TOP
    names: list[str] = []
    for match in pattern.finditer(code):
        name = next(group for group in match.groups() if group)
        if name not in names and not name.startswith("__") and not keyword.iskeyword(name):
            names.append(name)
    return names


def _folded(name: str) -> str:
    return name.replace("_", "").lower()


def off_task_names(code: str, language: str, passage: str, instruction: str) -> list[str] | None:
    """The names the code defines when none of them occurs in the task or its source (a model that wrote its worked
    example's code instead of the task's); None when the code is about the task. `letterGrade` and `letter_grade`
    count as one name."""
    defined = list(dict.fromkeys([*code_names(code, language), *defined_names(code)]))
    if not defined:
        return None
    said = {_folded(word) for word in re.findall(r"[A-Za-z_]\w*", f"{passage}\n{instruction}")}
    return None if any(_folded(name) in said for name in defined) else defined


_IDENTIFIER = re.compile(r"\b[A-Za-z]+(?:_[A-Za-z0-9]+)+\b|\b[a-z]+[A-Z][A-Za-z0-9]*\b")


def foreign_names(instruction: str, code: str) -> list[str]:
    """The code-like names a task uses (`letter_grade`, `letterGrade`) that the code never mentions."""
    return [name for name in dict.fromkeys(_IDENTIFIER.findall(instruction)) if name not in code]


def _uses(line: str, names: Sequence[str]) -> list[str]:
    return [name for name in names if re.search(rf"(?<![\w.]){re.escape(name)}\b", line)]


def constructible_classes(code: str, language: str) -> list[str]:
    """The code's top-level classes that can be made without arguments (`Cart()`, `new Cart()`)."""
    found = []
    if language == PYTHON:
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []
        for node in tree.body:
            if not isinstance(node, ast.ClassDef):
                continue
            init = next((f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "__init__"), None)
            if init is None:
                found.append(node.name)
                continue
            arguments = init.args
            required = len(arguments.posonlyargs) + len(arguments.args) - 1 - len(arguments.defaults)
            optional_keywords = all(d is not None for d in arguments.kw_defaults)
            if required <= 0 and optional_keywords:
                found.append(node.name)
        return found
    for match in re.finditer(r"^class\s+(\w+)[^{]*\{(.*?)^\}", code, re.MULTILINE | re.DOTALL):
        constructor = re.search(r"^\s+constructor\s*\(([^)]*)\)", match.group(2), re.MULTILINE)
        if constructor is None or not constructor.group(1).strip():
            found.append(match.group(1))
    return found


def _with_instance(test: list[str], classes: Sequence[str], language: str) -> list[str]:
    """A test that uses an object named after one of the code's classes (`cart.total()`) without making it first:
    the object is made (`cart = Cart()`) before the test's first line."""
    made = {_folded(m) for line in test for m in re.findall(r"^(?:const |let |var )?(\w+)\s*=(?!=)", line)}
    for variable in dict.fromkeys(re.findall(r"(?<![\w.])([a-z_]\w*)\s*\.", "\n".join(test))):
        owner = next((c for c in classes if _folded(c) == _folded(variable)), None)
        if owner and _folded(variable) not in made:
            setup = f"{variable} = {owner}()" if language == PYTHON else f"const {variable} = new {owner}();"
            return [setup, *test]
    return test


def parse_tests(text: str, language: str, names: Sequence[str], code: str = "") -> list[list[str]]:
    """The tests in a model's output: each is an assert line and the setup lines just before it. A test that uses an
    object named after a class of `code` without making it gets it made first; tests that do not call the code (by
    one of `names`), do not parse, or repeat an earlier one are dropped; at most MAX_TESTS."""
    classes = constructible_classes(code, language) if code else []
    blocks = fenced_blocks(text)
    body = "\n".join(b for _, b in blocks) if blocks else text
    tests: list[list[str]] = []
    setup: list[str] = []
    for raw in body.splitlines():
        line = _LIST_MARK.sub("", raw).strip()
        if not line or line.startswith(("#", "//")):
            continue
        if language == JAVASCRIPT:
            if _JS_WRAPPER.match(line):
                continue
            line = _javascript_assert(line)
            line = re.sub(r"\bassert\.strictEqual\(", "assert.deepStrictEqual(", line)
            line = re.sub(r"\bassert\.equal\(", "assert.deepStrictEqual(", line)
            line = line if line.endswith((";", "{", "}")) else line + ";"
            is_assert = line.startswith("assert")
        else:
            if line.startswith(("import ", "from ", "def test")):
                continue
            is_assert = line.startswith("assert ") or line.startswith("assert(")
        if not is_assert:
            if len(setup) < 3 and _is_statement(line, language):
                setup.append(line)
            else:
                setup = []
            continue
        line = close_floats(line) if language == PYTHON else line
        test = _with_instance([*setup, line], classes, language)
        setup = []
        if not _uses("\n".join(test), names) or test in tests:
            continue
        if language == PYTHON and not _parses("\n".join(test)):
            continue
        tests.append(test)
    return tests[:MAX_TESTS]


def _float_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        node = node.operand
    return isinstance(node, ast.Constant) and isinstance(node.value, float)


def close_floats(line: str) -> str:
    """`assert f(x) == 98.6` as `assert math.isclose(f(x), 98.6)`: a float result is rarely the exact literal a person
    (or a model) writes for it, and the test is about the value, not its last bit."""
    try:
        tree = ast.parse(line)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return line
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return line
    statement = tree.body[0]
    test = statement.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)):
        return line
    left, right = test.left, test.comparators[0]
    if not (_float_literal(right) or _float_literal(left)):
        return line
    call = f"math.isclose({ast.unparse(left)}, {ast.unparse(right)})"
    return f"assert {call}" + (f", {ast.unparse(statement.msg)}" if statement.msg else "")


_JEST = re.compile(r"^expect\((.+)\)\.(?:toBe|toEqual|toStrictEqual)\((.*)\);?$")
_BARE_ASSERT = re.compile(r"^assert\s+(?![.(])(.+?)\s*={2,3}\s*(.+?);?$")


def _javascript_assert(line: str) -> str:
    """A check written the way other test tools or Python write it (`expect(f(x)).toBe(y)`, `assert f(x) == y`), as
    the node:assert call the test file runs."""
    for pattern in (_JEST, _BARE_ASSERT):
        match = pattern.match(line)
        if match:
            return f"assert.deepStrictEqual({match.group(1)}, {match.group(2)});"
    return line


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _is_statement(line: str, language: str) -> bool:
    if language == PYTHON:
        return _parses(line) and ("=" in line or "(" in line)
    return bool(re.match(r"^(?:const|let|var)\s+\w+\s*=|^\w+(?:\.\w+)*\(.*\);?$", line))


def _test_name(test: list[str], names: Sequence[str], index: int) -> str:
    used = _uses(test[-1], names) or _uses("\n".join(test), names)
    stem = re.sub(r"(?<!^)(?=[A-Z])", "_", used[0]).lower() if used else "code"
    return f"test_{stem}_{index}"


def build_test_file(tests: list[list[str]], language: str, names: Sequence[str]) -> str:
    """The test file shown in the answer and run in the sandbox: one test function (or node:test case) per test."""
    joined = "\n".join(line for test in tests for line in test)
    imported = ", ".join(_uses(joined, names))
    if language == PYTHON:
        parts = [f"from solution import {imported}"]
        if "math.isclose(" in joined:
            parts[0] = f"import math\n\n{parts[0]}"
        for index, test in enumerate(tests, 1):
            body = "\n".join(f"    {line}" for line in test)
            parts.append(f"def {_test_name(test, names, index)}():\n{body}")
        return "\n\n\n".join(parts) + "\n"
    header = (
        'const test = require("node:test");\nconst assert = require("node:assert");\n'
        f'const {{ {imported} }} = require("./solution");'
    )
    cases = []
    for index, test in enumerate(tests, 1):
        body = "\n".join(f"  {line}" for line in test)
        cases.append(f'test("{_test_name(test, names, index)}", () => {{\n{body}\n}});')
    return header + "\n\n" + "\n\n".join(cases) + "\n"


def lines_of_tests(file: str, language: str) -> str:
    """The test lines of a test file made by `build_test_file` (what the test predictors write), one per line."""
    lines = []
    for raw in file.splitlines():
        line = raw.strip()
        if not raw.startswith((" ", "\t")) or not line:
            continue
        lines.append(line)
    return "\n".join(lines)


_EXPORTS_LINE = re.compile(r"^module\.exports\s*=\s*\{[^}\n]*\};?\s*$", re.MULTILINE)


def with_exports(code: str, names: Sequence[str]) -> str:
    """JavaScript code that exports its top-level names to the tests (CommonJS), as the test file requires them:
    ES `export` keywords are dropped, and a one-line `module.exports = {...}` lists every top-level name."""
    code = re.sub(r"^export\s+(?:default\s+)?(?=(?:async\s+)?function|class|const|let|var)", "", code, flags=re.M)
    if "module.exports" in code and not _EXPORTS_LINE.search(code):
        return code  # exported some other way: leave it
    code = _EXPORTS_LINE.sub("", code).rstrip()
    return f"{code}\n\nmodule.exports = {{ {', '.join(names)} }};" if names else code


# ---------------------------------------------------------------------------------------------------------------------
# Running in the sandbox
# ---------------------------------------------------------------------------------------------------------------------

_PY_RUNNER = """import sys
import traceback

try:
    import test_solution
except BaseException:
    traceback.print_exc(limit=4)
    print("{marker} passed=0 failed=-1")
    sys.exit(2)
passed = failed = 0
for name, case in list(vars(test_solution).items()):
    if not name.startswith("test_") or not callable(case):
        continue
    try:
        case()
    except BaseException as exc:
        failed += 1
        print(f"FAILED {{name}}: {{type(exc).__name__}}: {{exc}}"[:400])
    else:
        passed += 1
        print(f"passed {{name}}")
print(f"{marker} passed={{passed}} failed={{failed}}")
sys.exit(0 if passed and not failed else 1)
"""
PYTHON_COMMAND = ["python3", "run_tests.py"]
JAVASCRIPT_COMMAND = ["node", "--max-old-space-size=256", "--test-reporter=tap", "test_solution.js"]
_TAP = re.compile(r"^# (pass|fail) (\d+)\s*$", re.MULTILINE)


@dataclass
class RunOutcome:
    """One sandboxed run of the tests: counts of test functions, and what the record keeps of it."""

    command: str
    exit_code: int | None
    passed: int
    failed: int
    output: str
    note: str = ""
    loaded: bool = True
    """False when the tests never ran: the code or the test file failed to load."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.passed > 0 and self.failed == 0


def run_tests(code: str, tests: str, language: str, count: int) -> RunOutcome:
    """Run `tests` against `code` in the sandbox with our fixed runner; `count` is how many tests the file holds
    (all count as failed when the file does not even load).

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    from agentinstruct.sandbox import SandboxLimits, run

    marker = f"RESULT-{secrets.token_hex(8)}"
    if language == PYTHON:
        files = {"solution.py": code, "test_solution.py": tests, "run_tests.py": _PY_RUNNER.format(marker=marker)}
        result = run(files, PYTHON_COMMAND, SandboxLimits(cpu_seconds=5, wall_seconds=20))
        found = re.findall(rf"^{marker} passed=(-?\d+) failed=(-?\d+)$", result.stdout, re.MULTILINE)
        passed, failed = (int(found[-1][0]), int(found[-1][1])) if found else (0, -1)
        command = " ".join(PYTHON_COMMAND)
    else:
        files = {"solution.js": code, "test_solution.js": tests}
        limits = SandboxLimits(cpu_seconds=5, wall_seconds=20, memory_bytes=1024**3)
        result = run(files, JAVASCRIPT_COMMAND, limits)
        counts = dict(_TAP.findall(result.stdout)[-2:])
        passed, failed = int(counts.get("pass", 0)), int(counts.get("fail", -1))
        command = " ".join(JAVASCRIPT_COMMAND)
    loaded = not (failed < 0 or passed + failed == 0)
    if not loaded:
        passed, failed = 0, count  # the tests never ran: the code or the file does not load
    output = (result.stdout + ("\n" if result.stdout and result.stderr else "") + result.stderr).strip()
    output = output.replace(marker, "RESULT")
    note = f" (stopped by the {result.killed_for} limit)" if result.killed_for else ""
    return RunOutcome(command, result.exit_code, passed, failed, output[-OUTPUT_CHARS:], note, loaded)


_PROBE = """import math
import sys

{imports}

{cases}

for index, case in enumerate([{names}]):
    try:
        value = case()
    except BaseException as exc:
        print(f"{marker} {{index}} raised {{type(exc).__name__}}")
    else:
        print(f"{marker} {{index}} returned {{value!r}}"[:400])
sys.stdout.flush()
"""
_ASKS_FOR_VALUE = re.compile(r"\b(?:returns?|outputs?|prints?|predict\w*|result)\b", re.IGNORECASE)
MAX_OBSERVED_CHARS = 120


def asks_for_a_value(instruction: str) -> bool:
    """Whether the task asks what the code returns or prints: its answer's prose is the point, so the tests' expected
    values are not taken from a run (they would make a wrong prediction look checked)."""
    return bool(_EXPLAIN.search(instruction) and _ASKS_FOR_VALUE.search(instruction))


def _checked_call(line: str, names: Sequence[str]) -> tuple[str, str] | None:
    """(the call under test, the expected value) of a Python assert line `assert CALL == VALUE` (either side) or
    `assert math.isclose(CALL, VALUE)`, where only CALL uses one of `names`; None for any other assert."""
    try:
        tree = ast.parse(line)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assert):
        return None
    test = tree.body[0].test
    if isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq):
        sides = test.left, test.comparators[0]
    elif isinstance(test, ast.Call) and ast.unparse(test.func) == "math.isclose" and len(test.args) == 2:
        sides = test.args[0], test.args[1]
    else:
        return None
    texts = [ast.unparse(side) for side in sides]
    calling = [bool(_uses(text, names)) for text in texts]
    if calling.count(True) != 1:
        return None
    return (texts[0], texts[1]) if calling[0] else (texts[1], texts[0])


def observe_expected_values(code: str, tests: list[list[str]], names: Sequence[str]) -> tuple[list[list[str]], int]:
    """The tests of the source's own (Python) code with each checked call's expected value replaced by what the code
    really returns, as a developer writing tests for code they did not write runs it first: the calls run in the
    sandbox, once. A test whose call raises, or whose value has no exact literal (an object, NaN), is dropped; a test
    that is not `assert CALL == VALUE` stays as it was. Returns the tests and how many expected values were taken from
    the run.

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    from agentinstruct.sandbox import SandboxLimits, run

    checked = [_checked_call(test[-1], names) for test in tests]
    probed = [index for index, found in enumerate(checked) if found]
    if not probed:
        return tests, 0
    marker = f"VALUE-{secrets.token_hex(8)}"
    imported = ", ".join(_uses("\n".join(line for test in tests for line in test), names))
    cases = []
    for number, index in enumerate(probed):
        body = [*tests[index][:-1], f"return {checked[index][0]}"]
        cases.append(f"def case_{number}():\n" + "\n".join(f"    {line}" for line in body))
    probe = _PROBE.format(
        imports=f"from solution import {imported}",
        cases="\n\n\n".join(cases),
        names=", ".join(f"case_{number}" for number in range(len(probed))),
        marker=marker,
    )
    result = run(
        {"solution.py": code, "probe.py": probe}, ["python3", "probe.py"], SandboxLimits(cpu_seconds=5, wall_seconds=20)
    )
    returned = dict(re.findall(rf"^{marker} (\d+) returned (.*)$", result.stdout, re.MULTILINE))
    kept: list[list[str]] = []
    observed = 0
    for index, test in enumerate(tests):
        if index not in probed:
            kept.append(test)
            continue
        value = returned.get(str(probed.index(index)))
        setup = list(test[:-1])
        if value is not None and _DATE_REPR.fullmatch(value):
            value = value.removeprefix("datetime.")
            setup = setup if DATE_IMPORT in setup else [DATE_IMPORT, *setup]
        elif value is None or len(value) > MAX_OBSERVED_CHARS or not _is_literal(value):
            continue
        call = checked[index][0]
        check = f"math.isclose({call}, {value})" if _is_float(value) else f"{call} == {value}"
        kept.append([*setup, f"assert {check}"])
        observed += 1
    return kept, observed


DATE_IMPORT = "from datetime import date"
_DATE_REPR = re.compile(r"datetime\.date\(\d{1,4}, \d{1,2}, \d{1,2}\)")
"""A `datetime.date` result: no literal, but its repr is the call that makes it again."""


def _is_float(value: str) -> bool:
    try:
        return isinstance(ast.literal_eval(value), float)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Inputs chosen from a function's parameters
# ---------------------------------------------------------------------------------------------------------------------

MAX_CHOSEN_CALLS = 8
"""Calls tried per function when the inputs are chosen from its parameters (each run once, in one sandbox run)."""
_VALUES_BY_KIND = {
    "int": ("3", "0", "10", "-2", "1"),
    "float": ("2.5", "0.0", "10.0", "1.5"),
    "bool": ("True", "False"),
    "list": ("[1, 2, 3]", "[]", "[4]", "[10, 20]"),
    "dict": ("{}", "{'a': 1}"),
    "date": ("date(2024, 3, 1)", "date(2024, 3, 15)", "date(2024, 4, 20)"),
    "str": ("'a'", "'abc'"),
}
_STR_NAMES = re.compile(r"(?:^|_)(?:name|text|title|word|kind|type|item|unit|label|key|string|code)s?$")
_FLOAT_NAMES = re.compile(r"(?:^|_)(?:rate|price|ratio|amount|quantity|weight|cost|fee|percent)$")


def _kind_of(parameter: ast.arg) -> str:
    """Which sample values fit a parameter: its annotation's type, else a guess from its name."""
    if parameter.annotation is not None:
        annotation = ast.unparse(parameter.annotation).lower()
        base = re.split(r"[\[|]", annotation)[0].strip().split(".")[-1]
        for kind, spellings in (
            ("int", ("int",)),
            ("float", ("float",)),
            ("bool", ("bool",)),
            ("str", ("str",)),
            ("date", ("date",)),
            ("list", ("list", "sequence", "iterable", "tuple")),
            ("dict", ("dict", "mapping")),
        ):
            if base in spellings:
                return kind
    name = parameter.arg.lower()
    if "date" in name:
        return "date"
    if _STR_NAMES.search(name):
        return "str"
    if _FLOAT_NAMES.search(name):
        return "float"
    if name.endswith("s") and not name.endswith(("ss", "is", "us")):
        return "list"
    return "int"


def _string_constants(tree: ast.Module, function: ast.FunctionDef) -> list[str]:
    """The strings a module's code works with (keys of its top-level dicts, members of its top-level collections,
    strings the function compares with), as literals; docstrings are left out."""
    found: list[str] = []
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            value = node.value
            members = value.keys if isinstance(value, ast.Dict) else getattr(value, "elts", [])
            found += [m.value for m in members if isinstance(m, ast.Constant) and isinstance(m.value, str)]
    for node in ast.walk(function):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            found += [s.value for s in sides if isinstance(s, ast.Constant) and isinstance(s.value, str)]
    return [repr(text) for text in dict.fromkeys(found) if len(text) <= 40]


def chosen_calls(code: str, name: str, seed: int = 0) -> list[list[str]]:
    """Tests of the top-level Python function `name` with inputs chosen from its parameters (their type hints, else
    their names; strings from those the module works with), as `assert CALL == None` lines whose expected value
    `observe_expected_values` fills in: a first call with one sample value per parameter, then calls that change one
    parameter each, in an order drawn with `seed`. Parameters with a default are left to it. Empty when the code has no
    such function."""
    import random

    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    function = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None)
    if function is None:
        return []
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    required = positional[: len(positional) - len(arguments.defaults)]
    strings = _string_constants(tree, function)
    choices = []
    for parameter in required:
        kind = _kind_of(parameter)
        choices.append(tuple(strings[:4]) if kind == "str" and strings else _VALUES_BY_KIND[kind])
    first = [values[0] for values in choices]
    variations = [
        [*first[:index], value, *first[index + 1 :]] for index, values in enumerate(choices) for value in values[1:]
    ]
    random.Random(seed).shuffle(variations)
    calls = [f"{name}({', '.join(values)})" for values in [first, *variations]]
    calls = list(dict.fromkeys(calls))[:MAX_CHOSEN_CALLS]
    needs_date = any("date(" in call for call in calls)
    return [[DATE_IMPORT, f"assert {call} == None"] if needs_date else [f"assert {call} == None"] for call in calls]


def top_level_functions(code: str) -> list[str]:
    """The names of a Python module's top-level functions that take at least one argument, in order."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return []
    return [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef) and not n.name.startswith("_") and (n.args.args or n.args.posonlyargs)
    ]


def top_up_with_chosen_inputs(
    code: str,
    instruction: str,
    tests: list[list[str]],
    wanted: int,
    seed: int = 0,
    among: Sequence[str] | None = None,
) -> tuple[list[list[str]], int]:
    """`tests` topped up to `wanted` with tests of `code`'s functions whose inputs are chosen from their parameters
    (`chosen_calls`) and whose expected values are what the code returned (run in the sandbox): the functions the
    task names first, then the others (only those of `among`, where it is given). Calls whose results are all alike say
    little: a call with a result not seen yet is taken before one that repeats a result. Returns the tests and how
    many were added.

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    functions = [name for name in top_level_functions(code) if among is None or name in among]
    named = [name for name in functions if re.search(rf"(?<![\w.]){re.escape(name)}\b", instruction)]
    checked = [_checked_call(test[-1], functions) for test in tests]
    done = {found[0] for found in checked if found}
    added = 0
    for name in [*named, *[n for n in functions if n not in named]]:
        if len(tests) >= wanted:
            break
        candidates = [test for test in chosen_calls(code, name, seed) if _checked_call(test[-1], [name])[0] not in done]
        observed, _ = observe_expected_values(code, candidates, [name])
        results: set[str] = set()
        fresh, repeats = [], []
        for test in observed:
            value = _checked_call(test[-1], [name])[1]
            (repeats if value in results else fresh).append(test)
            results.add(value)
        chosen = [*fresh, *repeats][: wanted - len(tests)]
        tests, added = [*tests, *chosen], added + len(chosen)
    return tests, added


def _is_literal(text: str) -> bool:
    try:
        value = ast.literal_eval(text)
    except (SyntaxError, ValueError, TypeError, MemoryError, RecursionError):
        return False
    return repr(value) == text


def execution_record(main: RunOutcome, buggy: RunOutcome | None, observed: int = 0, chosen: int = 0) -> dict:
    """The record's `execution` column for a run (and, for a task about a bug, the run against the buggy code);
    `observed`: how many of the tests' expected values were taken from running the source's code; `chosen`: how many
    of those tests have inputs chosen from the function's parameters rather than written by the model."""
    detail = f"ran the tests against the answer's code: {main.passed} passed, {main.failed} failed{main.note}"
    if observed:
        detail += f"; the expected values of {observed} tests are what the source's code returned when run first"
    if chosen:
        detail += f"; the inputs of {chosen} tests were chosen from the parameters of the function under test"
    if buggy is not None and buggy.loaded:
        detail += f"; against the buggy code from the task: {buggy.passed} passed, {buggy.failed} failed"
    elif buggy is not None:
        detail += "; against the buggy code from the task the tests did not load (it lacks what they call)"
    return {
        "verified": True,
        "command": main.command,
        "exit_code": main.exit_code,
        "tests_passed": main.passed,
        "tests_failed": main.failed,
        "output": main.output,
        "detail": detail,
    }


def unverified_record(command: str, why: str) -> dict:
    return {
        "verified": False,
        "command": command,
        "exit_code": None,
        "tests_passed": None,
        "tests_failed": None,
        "output": "",
        "detail": f"not run: {why}",
    }


# ---------------------------------------------------------------------------------------------------------------------
# Transformations made by code, for Python seeds: a planted bug, a specification
# ---------------------------------------------------------------------------------------------------------------------


class DerivedSource(str):
    """A source made by code from the seed's Python code (a version with a planted bug, a specification), which
    remembers that code: the responder answers from it, as a teacher who planted the bug knows its fix and one who
    wrote the specification knows the code it describes. The pipeline passes the text on unchanged (the coding
    skill's refinements edit only the task), so the responder gets this very object.

    Attributes:
        origin: The seed's code.
        function: The function the bug is in (a planted bug), else "".
        bug_line, fixed_line: The line the bug changed, as it is and as it was (a planted bug), else "".
    """

    origin: str
    function: str
    bug_line: str
    fixed_line: str

    def __new__(cls, text: str, origin: str, function: str = "", bug_line: str = "", fixed_line: str = ""):
        made = super().__new__(cls, text)
        made.origin, made.function, made.bug_line, made.fixed_line = origin, function, bug_line, fixed_line
        return made


_FLIPPED_COMPARISON = {ast.GtE: ">", ast.Gt: ">=", ast.LtE: "<", ast.Lt: "<=", ast.Eq: "!=", ast.NotEq: "=="}
_COMPARISON_TEXT = {ast.GtE: b">=", ast.Gt: b">", ast.LtE: b"<=", ast.Lt: b"<", ast.Eq: b"==", ast.NotEq: b"!="}
_SWAPPED_OPERATOR = {ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*"}
_OPERATOR_TEXT = {ast.Add: b"+", ast.Sub: b"-", ast.Mult: b"*", ast.Div: b"/"}
MAX_PLANTING_TRIES = 8
"""Bug sites tried per seed before the planted-bug transformation is left to the model: a site is kept only where tests
with chosen inputs tell the buggy version from the seed's."""


@dataclass(frozen=True)
class _Site:
    start: int
    end: int
    replacement: bytes
    function: str


def _bug_sites(code: str) -> list[_Site]:
    """Where one small bug can go in the code's top-level functions: a comparison flipped (`>=` to `>`), an operator
    swapped (`+` to `-`), an integer one larger; never in a docstring."""
    tree = ast.parse(code)
    data = code.encode()
    starts = [0]
    for line in data.splitlines(keepends=True):
        starts.append(starts[-1] + len(line))

    def offset(line: int, column: int) -> int:
        return starts[line - 1] + column

    sites = []
    testable = set(top_level_functions(code))
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or function.name not in testable:
            continue
        body = function.body[1:] if ast.get_docstring(function) is not None else function.body
        in_fstrings = {
            id(inner) for s in body for n in ast.walk(s) if isinstance(n, ast.JoinedStr) for inner in ast.walk(n)
        }
        for node in (inner for statement in body for inner in ast.walk(statement)):
            if id(node) in in_fstrings:  # positions inside f-strings are not reliable before Python 3.12
                continue
            if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _FLIPPED_COMPARISON:
                left, right = node.left, node.comparators[0]
                start, end = offset(left.end_lineno, left.end_col_offset), offset(right.lineno, right.col_offset)
                if data[start:end].strip() == _COMPARISON_TEXT[type(node.ops[0])]:  # not a parenthesised side
                    flipped = f" {_FLIPPED_COMPARISON[type(node.ops[0])]} ".encode()
                    sites.append(_Site(start, end, flipped, function.name))
            elif isinstance(node, ast.BinOp) and type(node.op) in _SWAPPED_OPERATOR:
                left, right = node.left, node.right
                start, end = offset(left.end_lineno, left.end_col_offset), offset(right.lineno, right.col_offset)
                if data[start:end].strip() == _OPERATOR_TEXT[type(node.op)]:
                    sites.append(_Site(start, end, f" {_SWAPPED_OPERATOR[type(node.op)]} ".encode(), function.name))
            elif isinstance(node, ast.Constant) and type(node.value) is int and node.lineno == node.end_lineno:
                start, end = offset(node.lineno, node.col_offset), offset(node.end_lineno, node.end_col_offset)
                if data[start:end] == str(node.value).encode():
                    sites.append(_Site(start, end, str(node.value + 1).encode(), function.name))
    return sites


def _changed_line(code: str, buggy: str) -> tuple[str, str]:
    """The first line that differs, as (buggy, original), stripped."""
    for before, after in zip(code.splitlines(), buggy.splitlines(), strict=False):
        if before != after:
            return after.strip(), before.strip()
    return "", ""


def bug_catching_tests(code: str, buggy: str, function: str, seed: int = 0, wanted: int = MIN_TESTS + 1):
    """Tests of `function` with chosen inputs and the values the seed's `code` returned, at least one of which fails
    on the `buggy` version (those come first); empty when no chosen input tells the two apart.

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    candidates = chosen_calls(code, function, seed)
    right, _ = observe_expected_values(code, candidates, [function])
    wrong, _ = observe_expected_values(buggy, candidates, [function])
    wrong_values = dict(_checked_call(test[-1], [function]) for test in wrong)
    catching, others, seen = [], [], set()
    for test in right:
        call, value = _checked_call(test[-1], [function])
        if wrong_values.get(call) != value:
            catching.append(test)
        elif value not in seen:
            others.append(test)
        seen.add(value)
    return [*catching[:2], *others][:wanted] if catching else []


def plant_bug(code: str, seed: int = 0) -> DerivedSource | None:
    """The seed's Python code with one small bug planted (a site drawn with `seed`) that tests with chosen inputs
    catch, or None when the code has no such site (or is not Python).

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    import random

    try:
        sites = _bug_sites(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    random.Random(seed).shuffle(sites)
    data = code.encode()
    for site in sites[:MAX_PLANTING_TRIES]:
        buggy = (data[: site.start] + site.replacement + data[site.end :]).decode()
        if not _parses(buggy) or buggy == code:
            continue
        if bug_catching_tests(code, buggy, site.function, seed):
            return DerivedSource(buggy, code, site.function, *_changed_line(code, buggy))
    return None


MAX_EXAMPLES, MAX_SPECIFIED_FUNCTIONS = 2, 8
"""Example calls per function, and functions, in a specification made by code (each function is one sandbox run)."""


def write_specification(code: str, seed: int = 0) -> DerivedSource | None:
    """A plain-language specification of the seed's Python code, in the shape of the skill's worked specification:
    what the module is for, its constants, and for each top-level function its signature, its docstring and example
    calls with the results the code really returned (run in the sandbox, inputs chosen from the parameters). None when
    no function of the code returns a value for a chosen input.

    Raises:
        SandboxUnavailable: The sandbox cannot run here; nothing was run.
    """
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    lines = []
    purpose = ast.get_docstring(tree)
    if purpose:
        lines.append(" ".join(purpose.split("\n\n")[0].split()))
    for node in tree.body:
        segment = ast.get_source_segment(code, node) if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if segment and "\n" not in segment and len(segment) <= 100:
            lines.append(f"Constant: {segment}")
    described = 0
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    for name in top_level_functions(code)[:MAX_SPECIFIED_FUNCTIONS]:
        function = functions[name]
        returns = f" -> {ast.unparse(function.returns)}" if function.returns is not None else ""
        doc = " ".join((ast.get_docstring(function) or "").split())
        line = f"Function {name}({ast.unparse(function.args)}){returns}: {doc or 'see its examples.'}"
        tests, _ = top_up_with_chosen_inputs(code, name, [], MAX_EXAMPLES, seed, [name])
        examples = [_checked_call(test[-1], [name]) for test in tests]
        if not examples:
            continue
        line += "".join(f" Example: {call} returns {value}." for call, value in examples)
        lines.append(line)
        described += 1
    return DerivedSource("\n".join(lines), code) if described else None


PLANTED_BUG, SPECIFICATION = "planted_bug", "specification"


def transform_seed(text: str, transformation: str, config: dict) -> str | None:
    """The coding skill's transformations made by code (`Behaviour.transform`). On a seed that is Python code, the
    planted bug and the specification are made by code rather than by the model, which cannot copy a file faithfully
    or say exactly what its functions return. A seed without code (prose) cannot make the tasks of the identity and
    the planted bug (tests, explanations, refactorings, fixes of its code): that fails at once, before any LM call.
    None (the model's transformation, or the identity) for anything else, or where the sandbox cannot run.

    Raises:
        InvalidOutput: The seed holds no code, and the transformation's tasks are all about its code.
    """
    from agentinstruct.programs.pipeline import InvalidOutput
    from agentinstruct.sandbox import SandboxUnavailable

    found = source_code(text)
    if found is None and transformation in (IDENTITY, PLANTED_BUG):
        raise InvalidOutput(
            f"the seed holds no Python or JavaScript code, and the {transformation} tasks are about code"
        )
    if transformation not in (PLANTED_BUG, SPECIFICATION) or found is None or found[1] != PYTHON:
        return None
    seed = int(config.get("seed", 0))
    try:
        if transformation == PLANTED_BUG:
            return plant_bug(found[0], seed)
        return write_specification(found[0], seed)
    except SandboxUnavailable:
        return None


# ---------------------------------------------------------------------------------------------------------------------
# The answer's text
# ---------------------------------------------------------------------------------------------------------------------

TESTS_HEADING = {PYTHON: "Tests (`test_solution.py`):", JAVASCRIPT: "Tests (`test_solution.js`, run with `node`):"}
CODE_HEADING = {PYTHON: "`solution.py`:", JAVASCRIPT: "`solution.js`:"}


def format_answer(explanation: str, code: str, tests: str, language: str) -> str:
    fence = FENCE_TAG[language]
    return (
        f"{explanation.strip()}\n\n{CODE_HEADING[language]}\n\n```{fence}\n{code.strip()}\n```\n\n"
        f"{TESTS_HEADING[language]}\n\n```{fence}\n{tests.strip()}\n```"
    )


@dataclass(frozen=True)
class Answer:
    explanation: str
    code: str
    tests: str
    language: str


def parse_answer(text: str) -> Answer | None:
    """An answer's parts (as `format_answer` writes them): the prose before the first fence, the first fenced block
    (the code) and the last (the tests); None without two fenced blocks."""
    blocks = fenced_blocks(text)
    if len(blocks) < 2:
        return None
    (tag, code), (_, tests) = blocks[0], blocks[-1]
    language = _TAG_LANGUAGE.get(tag) or language_of(code) or PYTHON
    explanation = text.split("```", 1)[0]
    explanation = "\n".join(line for line in explanation.splitlines() if line.strip() not in CODE_HEADING.values())
    return Answer(explanation.strip(), code.strip("\n"), tests.strip("\n"), language)


def count_tests(tests: str, language: str) -> int:
    """How many test functions (or node:test cases) a test file defines."""
    if language == PYTHON:
        return len(re.findall(r"^def test_\w*\s*\(", tests, re.MULTILINE))
    return len(re.findall(r"^\s*(?:test|it)\s*\(", tests, re.MULTILINE))


_TYPES_TASK = re.compile(r"\b(?:type hints?|type annotations?|annotate|typing|types)\b", re.IGNORECASE)


def asks_for_type_hints(instruction: str) -> bool:
    return bool(_TYPES_TASK.search(instruction))


def annotation_count(code: str) -> int | None:
    """How many parameters and returns of the Python code's functions carry a type hint; None when it is not Python."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    count = 0
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs, arguments.vararg, arguments.kwarg]
            count += sum(1 for arg in every if arg is not None and arg.annotation is not None)
            count += node.returns is not None
    return count


def normalised(code: str) -> str:
    """Code without comments, blank lines, indentation or exports: what the unchanged-code checks compare."""
    lines = []
    for raw in code.splitlines():
        line = re.sub(r"\s+(#|//).*$", "", raw).strip()
        if line and not line.startswith(("#", "//", "module.exports", "'use strict'", '"use strict"')):
            lines.append(" ".join(line.split()))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------------
# The responder
# ---------------------------------------------------------------------------------------------------------------------


@dataclass
class _Attempt:
    code: str
    tests: str
    count: int
    main: RunOutcome
    buggy: RunOutcome | None
    changed: bool
    observed: int = 0
    chosen: int = 0

    @property
    def verified(self) -> bool:
        caught = self.buggy is None or (self.buggy.loaded and self.buggy.failed > 0)
        return self.main.ok and caught and self.changed


SAME_RESULTS_TYPES = frozenset({"refactor", "optimise", "add_types_docs"})
"""Instruction types whose answer is a new version of the seed's code that must return what the seed's code returns:
their tests' expected values are what the seed's code returned (run first in the sandbox), and the new code must
pass them."""


class CodingResponder(dspy.Module):
    """Answers a coding task with code and tests that ran in the sandbox (see the module docstring).

    Args:
        demos: The skill's worked answers, as (source, task, answer text) in `format_answer`'s shape; each predictor
            takes the part it writes from them.
    """

    def __init__(
        self,
        demos: Sequence[tuple[str, str, str]],
        source_as_is_types: Sequence[str] = (),
        same_results_types: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self._source_as_is_types = frozenset(source_as_is_types)
        self._same_results_types = frozenset(same_results_types)
        code_demos, python_demos, javascript_demos, explain_demos = [], [], [], []
        for source, task, text in demos:
            answer = parse_answer(text)
            if answer is None:
                raise ValueError(f"a coding response demo has no code and tests blocks: {task}")
            found = source_code(source)
            if not keeps_source_code(task, found[0] if found else None):
                code_demos.append(dspy.Example(source=source, task=task, language=answer.language, code=answer.code))
            if not asks_about_bug(task):  # a bug's tests show nothing new about writing tests
                lines = lines_of_tests(answer.tests, answer.language)
                tests_demo = dspy.Example(task=task, code=answer.code, asserts=lines)
                (python_demos if answer.language == PYTHON else javascript_demos).append(tests_demo)
            explain_demos.append(dspy.Example(task=task, code=answer.code, explanation=answer.explanation))
        # A few demos each, in the data file's order: every demo token is read again on every call of a CPU model.
        self.write_code = StarterPredict(WriteCode, code_demos[:MAX_DEMOS])
        self.python_tests = StarterPredict(WritePythonTests, python_demos[:MAX_DEMOS])
        self.javascript_tests = StarterPredict(WriteJavaScriptTests, javascript_demos[:MAX_DEMOS])
        self.explain = StarterPredict(ExplainCode, explain_demos[:MAX_DEMOS])

    def forward(
        self, passage: str, instruction: str, config: dict | None = None, instruction_type: str | None = None
    ) -> dspy.Prediction:
        from agentinstruct.programs.pipeline import InvalidOutput, attempt_config
        from agentinstruct.sandbox import SandboxUnavailable

        config = dict(config or {})
        if is_code_line(instruction):
            raise InvalidOutput("the task is a line of code, not a task")
        found = source_code(passage)
        source, source_language = found if found else (None, None)
        language = target_language(instruction, source_language)
        about_bug = asks_about_bug(instruction)
        if about_bug and source is None:
            raise InvalidOutput("the task is about a bug, but its source holds no Python or JavaScript code")
        if isinstance(passage, DerivedSource) and language == PYTHON:
            answered = self._from_seed_code(passage, instruction, about_bug, source, config)
            if answered is not None:
                return answered
        keep = keeps_source_code(instruction, source) and source_language == language
        if (
            (_TESTS.search(instruction) or _EXPLAIN.search(instruction))
            and source is None
            and not _CHANGE.search(instruction)
        ):
            raise InvalidOutput("the task asks about code, but its source holds no Python or JavaScript code")

        # Expected values come from a run only where the source is the seed's code as it was written (never a planted
        # bug's version, whose behaviour the tests would then pin down) and the task is not to say what it returns:
        # tests of that code itself, or of a new version that must return the same results (a refactoring).
        seed_code = source is not None and language == PYTHON and source_language == PYTHON
        observe = (
            keep and seed_code and instruction_type in self._source_as_is_types and not asks_for_a_value(instruction)
        )
        same_results = not keep and seed_code and instruction_type in self._same_results_types
        attempts: list[_Attempt] = []
        why_not: list[str] = []
        tries = ATTEMPTS if keep else CODE_ATTEMPTS
        for attempt in range(tries):
            sampled = attempt_config(config, attempt)
            code = source if keep else self._code(passage, instruction, language, sampled)
            if code is None:
                why_not.append(f"no {language} code in the model's output")
                continue
            off_task = None if keep else off_task_names(code, language, passage, instruction)
            if off_task:
                why_not.append(f"the model's code defines {', '.join(off_task[:3])}, which the task never names")
                continue
            names = code_names(code, language)
            if language == JAVASCRIPT:
                code = with_exports(code, names)
            tests = self._tests(instruction, code, language, names, sampled)
            if len(tests) < 1 and not (observe or same_results):
                why_not.append("no test line that calls the code")
                continue
            observed = chosen = 0
            try:
                if observe or same_results:
                    shared = [name for name in names if name in code_names(source, PYTHON)]
                    if not shared:
                        why_not.append("the model's code defines none of the source's names")
                        continue
                    tests, observed = observe_expected_values(source, tests, shared)
                    if len(tests) < MIN_TESTS:  # the model's tests are too few: top them up, with a spare
                        tests, chosen = top_up_with_chosen_inputs(
                            source, instruction, tests, MIN_TESTS + 1, int(sampled.get("seed", 0)), shared
                        )
                    observed += chosen
                    if not tests:
                        why_not.append("no test of the code whose call returns a value")
                        continue
                file = build_test_file(tests, language, names)
                main = run_tests(code, file, language, len(tests))
                buggy = None
                if about_bug and source:
                    original = with_exports(source, code_names(source, language)) if language == JAVASCRIPT else source
                    buggy = run_tests(original, file, language, len(tests))
            except SandboxUnavailable as refused:
                command = " ".join(PYTHON_COMMAND if language == PYTHON else JAVASCRIPT_COMMAND)
                execution = unverified_record(command, str(refused))
                file = build_test_file(tests, language, names)
                return self._answer(instruction, code, file, language, execution, config, explain=False)
            changed = keep or source is None or normalised(code) != normalised(source)
            if changed and source and language == PYTHON and asks_for_type_hints(instruction):
                changed = (annotation_count(code) or 0) > (annotation_count(source) or 0)
            attempts.append(_Attempt(code, file, len(tests), main, buggy, changed, observed, chosen))
            if attempts[-1].verified:
                break
        if not attempts:
            raise InvalidOutput(f"no runnable answer after {tries} tries: {'; '.join(dict.fromkeys(why_not))}")
        best = max(attempts, key=lambda a: (a.verified, a.main.ok, a.main.passed - a.main.failed))
        execution = execution_record(best.main, best.buggy, best.observed, best.chosen)
        return self._answer(instruction, best.code, best.tests, language, execution, config, explain=best.verified)

    def _from_seed_code(
        self, passage: DerivedSource, instruction: str, about_bug: bool, source: str | None, config: dict
    ) -> dspy.Prediction | None:
        """The answer to a task on a source made by code from the seed's code (`DerivedSource`): that code is the
        answer's code (the fix of the planted bug, the implementation of the specification), with tests whose inputs
        are chosen from its parameters and whose expected values it returned; for a bug, the tests that catch it come
        first and the explanation names the line. None where this does not apply (a planted bug's source with a task
        about something else), the tests would be too few, or the sandbox cannot run: the model answers instead."""
        from agentinstruct.sandbox import SandboxUnavailable

        code, seed = passage.origin, int(config.get("seed", 0))
        bug = bool(passage.function)
        if bug != about_bug or (bug and source is None):
            return None
        if not bug and not any(_uses(instruction, [name]) for name in top_level_functions(code)):
            return None  # a task on the specification that names none of its functions is not about this code
        if foreign_names(instruction, code):
            return None  # the task is about functions this code lacks (a model copying its worked example)
        try:
            if bug:
                tests = bug_catching_tests(code, source, passage.function, seed)
                added = len(tests)
            else:
                tests, added = top_up_with_chosen_inputs(code, instruction, [], MIN_TESTS + 1, seed)
            if len(tests) < MIN_TESTS:
                return None
            names = code_names(code, PYTHON)
            file = build_test_file(tests, PYTHON, names)
            main = run_tests(code, file, PYTHON, len(tests))
            buggy = run_tests(source, file, PYTHON, len(tests)) if bug else None
        except SandboxUnavailable:
            return None
        execution = execution_record(main, buggy, len(tests), added)
        explanation = ""
        if bug and buggy is not None:
            failing = "The first test fails" if buggy.failed == 1 else f"The first {buggy.failed} tests fail"
            explanation = (
                f"The bug is in {passage.function}: `{passage.bug_line}` must be `{passage.fixed_line}`. {failing} "
                "on the buggy code, and every test passes on the fixed one."
            )
        # Said in the record (`written_by_code`, and here) so a user can tell answers no model wrote from the model's.
        written = ["code", "tests", *(["explanation"] if explanation else [])]
        parts = f"{', '.join(written[:-1])} and {written[-1]}"
        execution["detail"] += f"; the answer's {parts} were made from the seed's code, not written by the model"
        verified = main.ok and (buggy is None or (buggy.loaded and buggy.failed > 0))
        return self._answer(instruction, code, file, PYTHON, execution, config, verified, explanation, written)

    def _code(self, passage: str, instruction: str, language: str, config: dict) -> str | None:
        raw = self.write_code(source=passage, task=instruction, language=language, config=config).code
        return extract_code(raw or "", language)

    def _tests(self, instruction: str, code: str, language: str, names: list[str], config: dict) -> list[list[str]]:
        predictor = self.python_tests if language == PYTHON else self.javascript_tests
        raw = predictor(task=instruction, code=code, config={**config, "max_tokens": TESTS_MAX_TOKENS}).asserts
        return parse_tests(raw or "", language, names, code)

    def _answer(
        self,
        instruction: str,
        code: str,
        tests: str,
        language: str,
        execution: dict,
        config: dict,
        explain: bool,
        explanation: str = "",
        written_by_code: list[str] | None = None,
    ) -> dspy.Prediction:
        # A pair that failed its run is rejected whatever its prose says: it is not worth an explanation call.
        if explain and not explanation:
            limited = {**config, "max_tokens": EXPLANATION_MAX_TOKENS}
            explanation = short_explanation(self.explain(task=instruction, code=code, config=limited).explanation or "")
        if not explanation:
            explanation = "The code and its tests:"
        answer = format_answer(explanation, code, tests, language)
        return dspy.Prediction(answer=answer, execution=execution, written_by_code=written_by_code or [])


MAX_EXPLANATION_SENTENCES = 3


def short_explanation(text: str) -> str:
    """The explanation as the answer shows it: its first paragraph, before any code, at most three sentences (a small
    model rambles on, or starts on code, after it has said what it had to say)."""
    text = text.split("```", 1)[0].strip()
    paragraph = re.split(r"\n\s*\n", text, maxsplit=1)[0] if text else ""
    sentences = re.split(r"(?<=[.!?])\s+(?=[A-Z`])", " ".join(paragraph.split()))
    return " ".join(sentences[:MAX_EXPLANATION_SENTENCES]).strip()


def coding_responder(skill) -> CodingResponder:
    """The responder factory the skill registry names: demos from the skill's worked answers. A demo task about a bug
    is answered on the planted-bug transformation's demo output, one asking to implement on the specification's, any
    other on the demo source."""
    outputs = {agent.name: agent.demo_output for agent in skill.transformations}
    demos = []
    for task, answer in skill.response_demos:
        source = skill.demo_passage
        if asks_about_bug(task) and "planted_bug" in outputs:
            source = outputs["planted_bug"]
        elif re.match(r"^\W*(?:write a|implement)\b", task, re.IGNORECASE) and "specification" in outputs:
            source = outputs["specification"]
        demos.append((source, task, answer))
    source_as_is = [kind.name for kind in skill.instruction_types if kind.transformations == (IDENTITY,)]
    same_results = [name for name in source_as_is if name in SAME_RESULTS_TYPES]
    return CodingResponder(demos, source_as_is, same_results)
