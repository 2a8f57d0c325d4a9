"""Validators of the coding skill: the answer holds its code and its tests, and the record's `execution` column shows
that they really ran in the sandbox and passed; where the task is about a bug, the same tests failed against the
task's buggy code. What ran is judged from the record alone (its `execution`), never by running anything here.
"""

from __future__ import annotations

import re
from functools import partial

from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import Validator, asks_something, copies_demo
from agentinstruct.programs.coding import (
    BUGGY_RUN,
    JAVASCRIPT,
    MIN_TESTS,
    PYTHON,
    annotation_count,
    asks_about_bug,
    asks_for_type_hints,
    count_tests,
    is_code_line,
    keeps_source_code,
    normalised,
    off_task_names,
    parse_answer,
    source_code,
    target_language,
)


def _no_task(view: PairView) -> str | None:
    if is_code_line(view.instruction):
        return "the task is a line of code, not a task"
    return None if asks_something(view.instruction) else "the task asks nothing (no question mark, no task verb)"


def _no_code_or_tests(view: PairView) -> str | None:
    answer = parse_answer(view.response)
    if answer is None:
        return "the answer does not hold a code block and a tests block"
    if not answer.code.strip() or count_tests(answer.tests, answer.language) == 0:
        return "the answer's code block or tests block is empty"
    return None


def _unverified(view: PairView) -> str | None:
    execution = view.execution
    if not execution:
        return "the record has no execution: its code was never run"
    if not execution.get("verified"):
        return f"the code was not run in the sandbox: {execution.get('detail') or 'no reason given'}"
    return None


def _ran(view: PairView) -> dict | None:
    execution = view.execution
    return execution if execution and execution.get("verified") else None


_FAILED_LINE = re.compile(r"^(?:FAILED .*|not ok .*|\w*Error\b.*)$", re.MULTILINE)


def _fails_own_tests(view: PairView) -> str | None:
    execution = _ran(view)
    if execution is None:
        return None
    passed, failed = execution.get("tests_passed") or 0, execution.get("tests_failed") or 0
    if execution.get("exit_code") == 0 and failed == 0 and passed > 0:
        return None
    first = _FAILED_LINE.search(execution.get("output") or "")
    shown = f": {first.group(0)[:160]}" if first else ""
    exit_code = execution.get("exit_code")
    how = f"exit status {exit_code}" if exit_code is not None else "killed"
    return f"the code fails its own tests ({failed} of {passed + failed} failed, {how}){shown}"


def _too_few_tests(view: PairView) -> str | None:
    execution = _ran(view)
    if execution is None or (execution.get("tests_failed") or 0):
        return None
    passed = execution.get("tests_passed") or 0
    if passed < MIN_TESTS:
        return f"only {passed} test passed; a kept answer needs at least {MIN_TESTS}"
    return None


def _execution_mismatch(view: PairView) -> str | None:
    """The run's counts belong to the tests the answer shows: as many tests ran as the tests block defines."""
    execution, answer = _ran(view), parse_answer(view.response)
    if execution is None or answer is None:
        return None
    shown = count_tests(answer.tests, answer.language)
    ran = (execution.get("tests_passed") or 0) + (execution.get("tests_failed") or 0)
    if shown and ran != shown:
        return f"the execution ran {ran} tests, but the answer shows {shown}"
    return None


_PY_TEST = re.compile(r"^def (test_\w*)\s*\(\)\s*:\s*\n((?:[ \t]+.*\n?|\s*\n)*)", re.MULTILINE)
_JS_TEST = re.compile(
    r"^\s*(?:test|it)\s*\(\s*[\"'`]([^\"'`]*)[\"'`]\s*,\s*(?:async\s*)?\(\)\s*=>\s*\{(.*?)^\}\);", re.M | re.S
)
_PY_IMPORT = re.compile(r"^from solution import ([\w, ()]+)$", re.MULTILINE)
_JS_IMPORT = re.compile(r"const\s*\{([^}]*)\}\s*=\s*require\(\s*[\"']\./solution(?:\.js)?[\"']\s*\)")


def _tests_call_nothing(view: PairView) -> str | None:
    """Every test calls the code under test (by a name the tests file takes from it): `assert 1 == 1` checks
    nothing."""
    answer = parse_answer(view.response)
    if answer is None:
        return None
    if answer.language == PYTHON:
        imported, cases = _PY_IMPORT.findall(answer.tests), _PY_TEST.findall(answer.tests)
    else:
        imported, cases = _JS_IMPORT.findall(answer.tests), _JS_TEST.findall(answer.tests)
    names = [name.strip() for group in imported for name in group.strip("()").split(",") if name.strip()]
    if not names:
        return "the tests take nothing from the code under test"
    for name, body in cases:
        if not any(re.search(rf"(?<![\w.]){re.escape(called)}\b", body) for called in names):
            return f"the test {name} does not call the code under test"
    return None


def _bug_not_caught(view: PairView) -> str | None:
    """A task about a bug in its source: the answer's tests must fail against that buggy code (else they would not
    notice the bug the answer claims to fix)."""
    if not asks_about_bug(view.instruction) or source_code(view.passage) is None:
        return None
    execution = _ran(view)
    if execution is None:
        return None
    found = BUGGY_RUN.search(execution.get("detail") or "")
    if found is None:
        return "the tests were not run against the buggy code of the task"
    if int(found.group(2)) == 0:
        return f"the tests pass against the planted buggy version ({found.group(1)} passed): they do not catch the bug"
    return None


def _unchanged_code(view: PairView) -> str | None:
    """A task that asks for changed code (fix, refactor, translate, add...) answered with the source's code as is."""
    found, answer = source_code(view.passage), parse_answer(view.response)
    if found is None or answer is None or keeps_source_code(view.instruction, found[0]):
        return None
    if normalised(answer.code) == normalised(found[0]):
        return "the task asks for changed code, and the answer's code is the task's code unchanged"
    return None


def _code_off_task(view: PairView) -> str | None:
    """The answer's code is about the task: one of the names it defines occurs in the task or its source."""
    answer = parse_answer(view.response)
    if answer is None:
        return None
    names = off_task_names(answer.code, answer.language, view.passage, view.instruction)
    if names:
        return f"the answer's code defines {', '.join(names[:3])}, which neither the task nor its source names"
    return None


def _no_type_hints_added(view: PairView) -> str | None:
    """A task asking for Python type hints: the answer's code has more of them than the source's."""
    found, answer = source_code(view.passage), parse_answer(view.response)
    if not asks_for_type_hints(view.instruction) or found is None or answer is None or answer.language != PYTHON:
        return None
    before, after = annotation_count(found[0]), annotation_count(answer.code)
    if before is not None and after is not None and after <= before:
        return f"the task asks for type hints, and the answer's code has {after} where the source has {before}"
    return None


def _wrong_language(view: PairView) -> str | None:
    answer = parse_answer(view.response)
    if answer is None:
        return None
    found = source_code(view.passage)
    wanted = target_language(view.instruction, found[1] if found else None)
    if answer.language != wanted:
        names = {PYTHON: "Python", JAVASCRIPT: "JavaScript"}
        return f"the task asks for {names[wanted]}, and the answer's code is {names[answer.language]}"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_task", _no_task),
    Validator("copies_demo", partial(copies_demo, skill="coding")),
    Validator("no_code_or_tests", _no_code_or_tests),
    Validator("unverified", _unverified),
    Validator("fails_own_tests", _fails_own_tests),
    Validator("too_few_tests", _too_few_tests),
    Validator("execution_mismatch", _execution_mismatch),
    Validator("tests_call_nothing", _tests_call_nothing),
    Validator("bug_not_caught", _bug_not_caught),
    Validator("unchanged_code", _unchanged_code),
    Validator("wrong_language", _wrong_language),
    Validator("code_off_task", _code_off_task),
    Validator("no_type_hints_added", _no_type_hints_added),
)
