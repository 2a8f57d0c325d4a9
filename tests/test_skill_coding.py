"""The coding skill: its data file loads, the code and test lines are read leniently out of model output, the
validators judge hand-written records (each rejection reason), and the responder runs a model's code and tests in the
real sandbox (bubblewrap), against the task's buggy code too, into records that the store keeps and reads back."""

import os

import datasets
import dspy
import pytest
from conftest import FieldsEngine
from dspy.utils import DummyLM

from agentinstruct import sandbox
from agentinstruct.metrics import PairView, validate, view_of
from agentinstruct.programs import get_skill
from agentinstruct.programs.coding import (
    JAVASCRIPT,
    PYTHON,
    DerivedSource,
    bug_catching_tests,
    build_test_file,
    chosen_calls,
    code_names,
    coding_responder,
    extract_code,
    foreign_names,
    format_answer,
    keeps_source_code,
    observe_expected_values,
    parse_answer,
    parse_tests,
    plant_bug,
    run_tests,
    source_code,
    target_language,
    top_up_with_chosen_inputs,
    transform_seed,
    with_exports,
    write_specification,
)
from agentinstruct.programs.pipeline import InvalidOutput
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "coding"
UNAVAILABLE = sandbox.sandbox_available()
# CI (.ci/run) sets this: there a missing sandbox is a failure, not a skip (as in tests/test_sandbox.py).
if UNAVAILABLE and os.environ.get("AGENTINSTRUCT_REQUIRE_SANDBOX"):
    raise RuntimeError(f"AGENTINSTRUCT_REQUIRE_SANDBOX is set but the sandbox is unavailable: {UNAVAILABLE}")
needs_sandbox = pytest.mark.skipif(UNAVAILABLE is not None, reason=f"sandbox unavailable: {UNAVAILABLE}")

CART = '''"""A tiny shopping cart."""


def total(prices, discount=0):
    """The sum of the prices, less a percentage discount, rounded to cents."""
    return round(sum(prices) * (100 - discount) / 100, 2)


def count_items(prices):
    """How many items the cart holds."""
    return len(prices)
'''
BUGGY_CART = CART.replace("(100 - discount)", "(100 + discount)")
SLUG_JS = """function slugify(title) {
  return title.toLowerCase().trim().split(/\\s+/).join("-");
}

module.exports = { slugify };
"""


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert set(data.seed_kinds) == {"code", "text"}
    assert {"identity", "specification", "planted_bug"} <= {t.name for t in data.transformations}
    assert get_skill(SKILL).user_turn.carries_source


# ---------------------------------------------------------------------------------------------------------------------
# Reading model output
# ---------------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "def add(a, b):\n    return a + b",
        "```python\ndef add(a, b):\n    return a + b\n```",
        "Here is the function you asked for:\n\ndef add(a, b):\n    return a + b\n\nIt adds the two numbers.",
        "```\ndef add(a, b):\n    return a + b\n",  # an unclosed fence
    ],
)
def test_python_code_is_read_out_of_fences_and_prose(text):
    assert extract_code(text, PYTHON) == "def add(a, b):\n    return a + b"


def test_javascript_code_is_read_out_of_fences_and_prose():
    text = "Here is the JavaScript version:\n```js\nfunction add(a, b) {\n  return a + b;\n}\n```\nDone."
    assert extract_code(text, JAVASCRIPT) == "function add(a, b) {\n  return a + b;\n}"
    assert extract_code("The function adds two numbers and returns them.", PYTHON) is None


def test_the_source_code_and_its_language():
    assert source_code(CART) == (CART.strip(), PYTHON)
    assert source_code(SLUG_JS) == (SLUG_JS.strip(), JAVASCRIPT)
    assert source_code("Function total(prices): returns the sum of the prices. Example: total([1, 2]) is 3.") is None
    assert source_code("SELECT name FROM items WHERE price > 3;") is None  # no test runner for SQL
    written = f"Here is the code with one change.\n\n{SLUG_JS}\nThe change is subtle."
    assert source_code(written) == (SLUG_JS.strip(), JAVASCRIPT)


@pytest.mark.parametrize(
    "instruction, source_language, expected",
    [
        ("Translate total into JavaScript.", PYTHON, JAVASCRIPT),
        ("Translate slugify into Python.", JAVASCRIPT, PYTHON),
        ("Write unit tests for slugify.", JAVASCRIPT, JAVASCRIPT),
        ("Write a JavaScript function total(prices) as described.", None, JAVASCRIPT),
        ("Write a function total(prices) as described.", None, PYTHON),
    ],
)
def test_the_answer_language(instruction, source_language, expected):
    assert target_language(instruction, source_language) == expected


def test_the_source_code_is_kept_only_for_tests_and_explanations_of_complete_code():
    assert keeps_source_code("Write unit tests for total, including a discount.", CART)
    assert keeps_source_code("Explain what count_items returns for an empty list.", CART)
    assert not keeps_source_code("Refactor total and write tests for it.", CART)
    assert not keeps_source_code("Write tests for total, then fix the bug in it.", CART)
    assert not keeps_source_code("Write tests for total.", CART.replace("return len(prices)", "pass"))  # a stub
    # A method named like a change verb is a name, not a change.
    adder = "class Cart:\n    def add(self, price):\n        self.total = price\n"
    assert keeps_source_code("Write tests for add.", adder)


def test_test_lines_become_test_functions_and_trivial_ones_are_dropped():
    names = code_names(CART, PYTHON)
    assert names == ["total", "count_items"]
    raw = (
        "1. assert total([1, 2]) == 3\n- prices = [10, 20]\nassert total(prices, 10) == 27\nassert 1 == 1\n"
        "assert total([1, 2]) == 3\nassert count_items([]) ==\nThat is all."
    )
    tests = parse_tests(raw, PYTHON, names)
    assert tests == [["assert total([1, 2]) == 3"], ["prices = [10, 20]", "assert total(prices, 10) == 27"]]
    file = build_test_file(tests, PYTHON, names)
    assert file.startswith("from solution import total\n")
    assert "def test_total_2():\n    prices = [10, 20]\n    assert total(prices, 10) == 27" in file


@needs_sandbox
def test_float_results_are_compared_as_close_not_bit_for_bit():
    code = "def fahrenheit(celsius):\n    return celsius * 9 / 5 + 32\n"
    tests = parse_tests("assert fahrenheit(37) == 98.6\nassert fahrenheit(100) == 212", PYTHON, ["fahrenheit"], code)
    assert tests == [["assert math.isclose(fahrenheit(37), 98.6)"], ["assert fahrenheit(100) == 212"]]
    file = build_test_file(tests, PYTHON, ["fahrenheit"])
    assert file.startswith("import math\n\nfrom solution import fahrenheit\n")
    assert run_tests(code, file, PYTHON, 2).ok  # 37 * 9 / 5 + 32 is 98.60000000000001


def test_an_object_named_after_a_class_is_made_before_its_test():
    code = "class Cart:\n    def __init__(self, owner='me'):\n        self.items = []\n\n    def total(self):\n"
    code += "        return 0\n"
    raw = "assert cart.total() == 0\ncart = Cart('ann')\nassert cart.total() == 0\nassert basket.total() == 0"
    tests = parse_tests(raw, PYTHON, code_names(code, PYTHON), code)
    assert tests == [["cart = Cart()", "assert cart.total() == 0"], ["cart = Cart('ann')", "assert cart.total() == 0"]]
    needs_owner = code.replace("owner='me'", "owner")
    assert parse_tests("assert cart.total() == 0", PYTHON, ["Cart"], needs_owner) == []


def test_javascript_test_lines_are_normalised_and_wrappers_dropped():
    names = code_names(SLUG_JS, JAVASCRIPT)
    raw = (
        'const assert = require("node:assert");\ntest("slug", () => {\n'
        '  assert.strictEqual(slugify("A B"), "a-b")\n});\nassert.ok(true);'
    )
    assert parse_tests(raw, JAVASCRIPT, names) == [['assert.deepStrictEqual(slugify("A B"), "a-b");']]
    other_styles = 'expect(slugify("A B")).toBe("a-b");\nassert slugify(" C ") === "c"'
    assert parse_tests(other_styles, JAVASCRIPT, names) == [
        ['assert.deepStrictEqual(slugify("A B"), "a-b");'],
        ['assert.deepStrictEqual(slugify(" C "), "c");'],
    ]
    assert with_exports("export function f(x) {\n  return x;\n}", ["f"]).endswith("module.exports = { f };")
    assert with_exports(SLUG_JS, ["slugify"]).count("module.exports") == 1


# ---------------------------------------------------------------------------------------------------------------------
# Validators on hand-written records
# ---------------------------------------------------------------------------------------------------------------------

TESTS_PY = build_test_file(
    [["assert total([1, 2]) == 3"], ["assert total([10, 10], 50) == 10.0"]], PYTHON, ["total", "count_items"]
)
GOOD_ANSWER = format_answer("total adds the prices and takes the discount off.", CART, TESTS_PY, PYTHON)
RAN = {
    "verified": True,
    "command": "python3 run_tests.py",
    "exit_code": 0,
    "tests_passed": 2,
    "tests_failed": 0,
    "output": "passed test_total_1\npassed test_total_2\nRESULT passed=2 failed=0",
    "detail": "ran the tests against the answer's code: 2 passed, 0 failed",
}
FAILED = {
    **RAN,
    "exit_code": 1,
    "tests_passed": 1,
    "tests_failed": 1,
    "output": "passed test_total_1\nFAILED test_total_2: AssertionError: \nRESULT passed=1 failed=1",
}
CAUGHT = {**RAN, "detail": RAN["detail"] + "; against the buggy code from the task: 1 passed, 1 failed"}
MISSED = {**RAN, "detail": RAN["detail"] + "; against the buggy code from the task: 2 passed, 0 failed"}
TESTS_TASK = "Write unit tests for total, including one with a discount."
FIX_TASK = "Fix the bug in total, which adds the discount instead of taking it off."
JS_CODE = (
    "function total(prices) {\n  return prices.reduce((sum, price) => sum + price, 0);\n}\n\n"
    "module.exports = { total };"
)
JS_TESTS = build_test_file(
    [["assert.deepStrictEqual(total([1, 2]), 3);"], ["assert.deepStrictEqual(total([]), 0);"]], JAVASCRIPT, ["total"]
)


def view(passage, instruction, response, execution):
    messages = [
        {"role": "user", "content": f"{passage.strip()}\n\n{instruction}"},
        {"role": "assistant", "content": response},
    ]
    return view_of(messages, execution=execution)


GOOD = {
    "tests": (CART, TESTS_TASK, GOOD_ANSWER, RAN),
    "fix": (BUGGY_CART, FIX_TASK, GOOD_ANSWER, CAUGHT),
    "translate": (
        CART,
        "Translate total into JavaScript, without the discount.",
        format_answer("The JavaScript total adds the prices with reduce.", JS_CODE, JS_TESTS, JAVASCRIPT),
        {**RAN, "command": "node --test-reporter=tap test_solution.js"},
    ),
    "types": (
        CART,
        "Add type hints to total and count_items.",
        format_answer(
            "Both functions now say what they take and return.",
            CART.replace("total(prices, discount=0)", "total(prices: list[float], discount: float = 0) -> float"),
            TESTS_PY,
            PYTHON,
        ),
        RAN,
    ),
    "implement": (
        "Function total(prices, discount): the sum of the prices less a percentage discount. total([1, 2]) is 3.",
        "Write a Python function total(prices, discount=0) as described.",
        format_answer("total sums the prices and applies the discount.", CART, TESTS_PY, PYTHON),
        RAN,
    ),
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_records_pass_every_validator(name):
    assert validate(view(*GOOD[name]), SKILL) == {}


BAD = {
    "no_task": (CART, "The cart module of the shop.", GOOD_ANSWER, RAN),
    "copies_demo": (get_skill(SKILL).demo_passage, TESTS_TASK, GOOD_ANSWER, RAN),
    "no_code_or_tests": (CART, TESTS_TASK, "total adds the prices; test it with total([1, 2]) == 3.", RAN),
    "unverified": (
        CART,
        TESTS_TASK,
        GOOD_ANSWER,
        {"verified": False, "detail": "not run: code sandbox unavailable, nothing was run: bwrap is not installed"},
    ),
    "fails_own_tests": (CART, TESTS_TASK, GOOD_ANSWER, FAILED),
    "too_few_tests": (
        CART,
        TESTS_TASK,
        format_answer("One test.", CART, build_test_file([["assert total([1]) == 1"]], PYTHON, ["total"]), PYTHON),
        {**RAN, "tests_passed": 1},
    ),
    "execution_mismatch": (CART, TESTS_TASK, GOOD_ANSWER, {**RAN, "tests_passed": 3}),
    "tests_call_nothing": (
        CART,
        TESTS_TASK,
        GOOD_ANSWER.replace("assert total([1, 2]) == 3", "assert 3 == 3"),
        RAN,
    ),
    "bug_not_caught": (BUGGY_CART, FIX_TASK, GOOD_ANSWER, MISSED),
    "unchanged_code": (
        CART,
        "Refactor total so that it computes the discounted sum in two named steps.",
        GOOD_ANSWER,
        RAN,
    ),
    "wrong_language": (CART, "Translate total into JavaScript.", GOOD_ANSWER, RAN),
    "no_type_hints_added": (
        CART,
        "Add type hints to total and count_items.",
        format_answer("Types.", CART.replace("return len(prices)", "return len(list(prices))"), TESTS_PY, PYTHON),
        RAN,
    ),
    "code_off_task": (
        "Function slugify(title): the title in lower case, words joined by hyphens.",
        "Write a Python function slugify(title) as described.",
        GOOD_ANSWER,
        RAN,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_record(name):
    failures = validate(view(*BAD[name]), SKILL)
    assert name in failures, failures


def test_every_validator_has_a_bad_record():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)


def test_a_line_of_code_is_no_task():
    code_line = "def weekly_summary(readings: list[float]) -> dict:"
    assert (
        validate(view(CART, code_line, GOOD_ANSWER, RAN), SKILL)["no_task"] == "the task is a line of code, not a task"
    )
    with pytest.raises(InvalidOutput, match="a line of code"):
        respond([], CART, code_line)


def test_the_rejection_reasons_say_why():
    assert "fails its own tests (1 of 2 failed" in validate(view(*BAD["fails_own_tests"]), SKILL)["fails_own_tests"]
    reason = validate(view(*BAD["bug_not_caught"]), SKILL)["bug_not_caught"]
    assert "tests pass against the planted buggy version" in reason
    uncaught = validate(view(BUGGY_CART, FIX_TASK, GOOD_ANSWER, RAN), SKILL)["bug_not_caught"]
    assert "not run against the buggy code" in uncaught
    assert "bwrap is not installed" in validate(view(*BAD["unverified"]), SKILL)["unverified"]
    missing = validate(PairView(CART, TESTS_TASK, GOOD_ANSWER), SKILL)  # a record without its execution column
    assert "never run" in missing["unverified"]


# ---------------------------------------------------------------------------------------------------------------------
# Real runs in the sandbox
# ---------------------------------------------------------------------------------------------------------------------


@needs_sandbox
def test_the_skill_demos_run_and_pass_their_tests():
    skill = get_skill(SKILL)
    responder = coding_responder(skill)
    assert responder.write_code.starter_demos and responder.javascript_tests.starter_demos
    for task, text in skill.response_demos:
        answer = parse_answer(text)
        count = text.count("def test_") + text.count('test("')
        outcome = run_tests(answer.code, answer.tests, answer.language, count)
        assert outcome.ok and outcome.passed == count, (task, outcome.output)


@needs_sandbox
def test_code_failing_its_tests_and_tests_missing_the_bug_are_rejected_from_real_runs():
    from agentinstruct.programs.coding import execution_record

    failing = TESTS_PY.replace("== 10.0", "== 11.0")
    outcome = run_tests(CART, failing, PYTHON, 2)
    assert (outcome.passed, outcome.failed, outcome.exit_code) == (1, 1, 1)
    answer = format_answer("total sums the prices.", CART, failing, PYTHON)
    failures = validate(view(CART, TESTS_TASK, answer, execution_record(outcome, None)), SKILL)
    assert "fails_own_tests" in failures and "AssertionError" in failures["fails_own_tests"]

    weak = build_test_file(
        [["assert total([1, 2]) == 3"], ["assert count_items([1, 2]) == 2"]], PYTHON, ["total", "count_items"]
    )
    fixed, buggy = run_tests(CART, weak, PYTHON, 2), run_tests(BUGGY_CART, weak, PYTHON, 2)
    assert fixed.ok and buggy.ok  # no discount in these tests: the planted bug goes unnoticed
    answer = format_answer("The discount is now taken off.", CART, weak, PYTHON)
    failures = validate(view(BUGGY_CART, FIX_TASK, answer, execution_record(fixed, buggy)), SKILL)
    assert set(failures) == {"bug_not_caught"}


def respond(answers, passage, instruction, instruction_type=None):
    responder = coding_responder(get_skill(SKILL))
    lm = DummyLM(answers)
    with dspy.context(lm=lm):
        prediction = responder(
            passage=passage, instruction=instruction, config={"seed": 3}, instruction_type=instruction_type
        )
    return prediction, lm


def sample_view(passage, instruction, prediction):
    return view(passage, instruction, prediction.answer, prediction.execution)


@needs_sandbox
def test_the_responder_tests_the_source_code_as_it_is():
    answers = [
        {"asserts": "assert total([1, 2]) == 3\nassert total([10, 10], 50) == 10.0\nassert True"},
        {"explanation": "The tests check a plain sum and a 50% discount."},
    ]
    prediction, lm = respond(answers, CART, TESTS_TASK)
    assert len(lm.history) == 2  # no code was written: the source's code is the code under test
    answer = parse_answer(prediction.answer)
    assert answer.code == CART.strip() and answer.explanation == "The tests check a plain sum and a 50% discount."
    execution = prediction.execution
    assert execution["verified"] and execution["exit_code"] == 0
    assert (execution["tests_passed"], execution["tests_failed"]) == (2, 0)
    assert execution["command"] == "python3 run_tests.py" and "passed test_total_2" in execution["output"]
    assert validate(sample_view(CART, TESTS_TASK, prediction), SKILL) == {}


@needs_sandbox
def test_tests_of_the_source_s_own_code_take_their_expected_values_from_running_it():
    # The model's expected values are wrong (a 50% discount on 20 is not 15), one call raises, one assert checks
    # nothing of the code: the run gives the right values, the raising test goes, the other stays.
    answers = [
        {"asserts": "assert total([1, 2]) == 4\nassert total([10, 10], 50) == 15\nassert total(None) == 0"},
        {"explanation": "The tests check a plain sum and a 50% discount."},
    ]
    prediction, _ = respond(answers, CART, TESTS_TASK, "write_tests")
    answer, execution = parse_answer(prediction.answer), prediction.execution
    assert (
        "math.isclose(total([1, 2]), 3.0)" in answer.tests and "math.isclose(total([10, 10], 50), 10.0)" in answer.tests
    )
    assert "total(None)" not in answer.tests
    assert (execution["tests_passed"], execution["tests_failed"]) == (2, 0)
    assert "expected values of 2 tests are what the source's code returned" in execution["detail"]
    assert validate(sample_view(CART, TESTS_TASK, prediction), SKILL) == {}


@needs_sandbox
@pytest.mark.parametrize(
    ("task", "instruction_type", "source"),
    [
        ("What does total return for [10, 10] with a 50% discount?", "predict_output", CART),
        # Tests of a planted bug's version would pin the bug down: its values are never taken from a run.
        (TESTS_TASK, "review_for_bug", BUGGY_CART),
        (TESTS_TASK, None, CART),
    ],
)
def test_tests_keep_the_model_s_expected_values_unless_the_source_is_the_seed_s_own_code(
    task, instruction_type, source
):
    answers = [{"asserts": "assert total([10, 10], 50) == 15\nassert total([1, 2]) == 3"}] * 3
    prediction, _ = respond(answers, source, task, instruction_type)
    assert prediction.execution["tests_failed"] == 1
    assert "source's code returned" not in prediction.execution["detail"]
    assert "fails_own_tests" in validate(sample_view(source, task, prediction), SKILL)


@needs_sandbox
def test_observed_values_are_exact_literals_or_the_test_goes():
    code = "import math\n\n\ndef half(x):\n    return x / 2\n\n\ndef nothing(x):\n    return math.nan\n"
    tests = [["assert half(3) == 1"], ["assert nothing(1) == 0"], ["y = 4", "assert 2 == half(y)"], ["assert True"]]
    kept, observed = observe_expected_values(code, tests, ["half", "nothing"])
    assert kept == [
        ["assert math.isclose(half(3), 1.5)"],
        ["y = 4", "assert math.isclose(half(y), 2.0)"],
        ["assert True"],
    ]
    assert observed == 2


LOANS = '''"""Loans."""

from datetime import date, timedelta

LOAN_DAYS = {"book": 21, "dvd": 7}


def due_date(borrowed: date, kind: str) -> date:
    return borrowed + timedelta(days=LOAN_DAYS[kind])


def late(due: date, returned: date, renewals: int, rate: float = 0.5) -> bool:
    return returned > due and renewals < 2
'''


def test_inputs_are_chosen_from_the_parameters_type_hints_names_and_the_module_s_strings():
    calls = chosen_calls(LOANS, "due_date")
    assert calls[0] == ["from datetime import date", "assert due_date(date(2024, 3, 1), 'book') == None"]
    assert ["from datetime import date", "assert due_date(date(2024, 3, 1), 'dvd') == None"] in calls
    late = [test[-1] for test in chosen_calls(LOANS, "late", seed=1)]
    assert late[0] == "assert late(date(2024, 3, 1), date(2024, 3, 1), 3) == None"  # `rate` keeps its default
    assert len(set(late)) == len(late) <= 8 and any(", 0) ==" in call for call in late)
    assert late != [test[-1] for test in chosen_calls(LOANS, "late", seed=2)]  # the order is drawn with the seed
    totals = [test[-1] for test in chosen_calls(CART, "total")]
    assert totals[0] == "assert total([1, 2, 3]) == None" and "assert total([]) == None" in totals  # a plural: a list
    assert chosen_calls(CART, "missing") == [] and chosen_calls("not python (", "total") == []


@needs_sandbox
def test_tests_are_topped_up_with_chosen_inputs_and_values_that_the_code_returned():
    tests, added = top_up_with_chosen_inputs(LOANS, "Write tests for due_date.", [], 3, seed=5)
    assert added == 3 and all("due_date(date(" in test[-1] for test in tests)
    assert any("== date(2024, 3, 22)" in test[-1] for test in tests)  # a date result is written as the call making it
    assert len({test[-1].split("==")[1] for test in tests}) == 3  # different results before repeated ones
    outcome = run_tests(LOANS, build_test_file(tests, PYTHON, code_names(LOANS, PYTHON)), PYTHON, 3)
    assert outcome.ok and outcome.passed == 3
    kept = [["assert due_date(date(2024, 3, 1), 'dvd') == date(2024, 3, 8)"]]
    topped, added = top_up_with_chosen_inputs(LOANS, "Write tests for late.", kept, 2, seed=5)
    assert added == 1 and topped[0] == kept[0] and "late(" in topped[1][-1]


@needs_sandbox
def test_a_model_without_usable_test_lines_gets_top_up_with_chosen_inputs_for_the_seed_s_own_code():
    answers = [
        {"asserts": "assert letter_grade(90) == 'A'\nassert average([]) == 0.0"},  # its worked example's names
        {"explanation": "total adds up the prices and takes off the discount."},
    ]
    prediction, lm = respond(answers, CART, TESTS_TASK, "write_tests")
    assert len(lm.history) == 2
    answer, execution = parse_answer(prediction.answer), prediction.execution
    assert answer.code == CART.strip() and "letter_grade" not in answer.tests
    assert "total([1, 2, 3])" in answer.tests and execution["tests_failed"] == 0 and execution["tests_passed"] == 3
    assert "the inputs of 3 tests were chosen from the parameters" in execution["detail"]
    assert validate(sample_view(CART, TESTS_TASK, prediction), SKILL) == {}
    # A task about a planted bug's version never gets values from a run, chosen inputs or not.
    answers = [{"asserts": "assert letter_grade(90) == 'A'"}] * 3
    with pytest.raises(InvalidOutput, match="no test line that calls the code"):
        respond(answers, BUGGY_CART, TESTS_TASK, "review_for_bug")


REFACTOR_TASK = "Refactor total so that it computes the factor first."
REFACTORED = """def total(prices, discount=0):
    factor = (100 - discount) / 100
    return round(sum(prices) * factor, 2)


def count_items(prices):
    return len(prices)
"""


@needs_sandbox
@pytest.mark.parametrize(("code", "kept"), [(REFACTORED, True), (REFACTORED.replace("100 - discount", "100"), False)])
def test_a_refactoring_must_return_what_the_seed_s_code_returned(code, kept):
    # The model's expected values are wrong for both versions; the seed's code gives the right ones.
    tries = [{"code": f"```python\n{code}```"}, {"asserts": "assert total([10, 10], 50) == 15\nassert total([4]) == 5"}]
    answers = [*tries, {"explanation": "The factor is computed once, before the sum is scaled."}] if kept else tries * 2
    prediction, _ = respond(answers, CART, REFACTOR_TASK, "refactor")
    answer, execution = parse_answer(prediction.answer), prediction.execution
    assert "math.isclose(total([10, 10], 50), 10.0)" in answer.tests and "math.isclose(total([4]), 4.0)" in answer.tests
    assert "what the source's code returned" in execution["detail"]
    failures = validate(sample_view(CART, REFACTOR_TASK, prediction), SKILL)
    assert (failures == {}) is kept
    assert kept or "fails_own_tests" in failures


@needs_sandbox
def test_a_refactoring_that_drops_every_name_of_the_seed_s_code_is_not_tested_against_it():
    task = "Refactor total into a function compute_total."
    answers = [{"code": "def compute_total(prices):\n    return sum(prices)\n"}, {"asserts": "assert True"}] * 2
    with pytest.raises(InvalidOutput, match="the model's code defines none of the source's names"):
        respond(answers, CART, task, "refactor")


# ---------------------------------------------------------------------------------------------------------------------
# Transformations made by code on Python seeds, and the answers made from the seed's code
# ---------------------------------------------------------------------------------------------------------------------


@needs_sandbox
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_planted_bug_is_one_small_change_that_tests_with_chosen_inputs_catch(seed):
    buggy = plant_bug(CART, seed)
    assert isinstance(buggy, DerivedSource) and buggy.origin == CART and buggy.function == "total"
    changed = [(a, b) for a, b in zip(CART.splitlines(), buggy.splitlines(), strict=True) if a != b]
    assert len(changed) == 1 and (buggy.bug_line, buggy.fixed_line) == (changed[0][1].strip(), changed[0][0].strip())
    assert '"""The sum of the prices' in buggy  # docstrings are never touched
    assert buggy == plant_bug(CART, seed)  # the same seed plants the same bug
    tests = bug_catching_tests(CART, buggy, "total", seed)
    file = build_test_file(tests, PYTHON, code_names(CART, PYTHON))
    right, wrong = run_tests(CART, file, PYTHON, len(tests)), run_tests(buggy, file, PYTHON, len(tests))
    assert right.ok and right.passed == len(tests) >= 2 and wrong.failed >= 1
    # `100 - discount` is no site worth taking: the chosen inputs leave the discount at its default, 0.
    assert "100 + discount" not in buggy


def test_bug_sites_change_one_operator_or_number_and_leave_what_they_cannot_place_exactly():
    from agentinstruct.programs.coding import _bug_sites

    code = (
        'def f(a, b):\n    """Docs: a >= 1."""\n    x = (a) >= b\n    y = f"{a + 1}"\n'
        "    return (a + 1) * 2 if a > 3 else b\n"
    )
    data = code.encode()
    changed = sorted((data[: s.start] + s.replacement + data[s.end :]).decode() for s in _bug_sites(code))
    lines = [next(b for a, b in zip(code.splitlines(), m.splitlines(), strict=True) if a != b) for m in changed]
    assert sorted(line.strip() for line in lines) == [
        "return (a + 1) * 2 if a > 4 else b",
        "return (a + 1) * 2 if a >= 3 else b",
        "return (a + 1) * 3 if a > 3 else b",
        "return (a + 2) * 2 if a > 3 else b",
        "return (a - 1) * 2 if a > 3 else b",
    ]


@needs_sandbox
def test_a_specification_says_what_each_function_takes_and_returns_with_real_examples():
    spec = write_specification(LOANS, seed=1)
    assert isinstance(spec, DerivedSource) and spec.origin == LOANS and not spec.function
    assert spec.splitlines()[0] == "Loans."
    assert 'Constant: LOAN_DAYS = {"book": 21, "dvd": 7}' in spec
    assert "Function due_date(borrowed: date, kind: str) -> date: " in spec
    assert "Example: due_date(date(2024, 3, 1), 'book') returns date(2024, 3, 22)." in spec
    assert "Function late(due: date, returned: date, renewals: int, rate: float=0.5) -> bool" in spec
    assert "def " not in spec


@needs_sandbox
def test_only_python_seeds_are_transformed_by_code_and_prose_makes_no_tasks_about_its_code():
    assert isinstance(transform_seed(CART, "planted_bug", {"seed": 4}), DerivedSource)
    assert isinstance(transform_seed(CART, "specification", {"seed": 4}), DerivedSource)
    assert transform_seed(CART, "identity", {"seed": 4}) is None
    assert transform_seed(SLUG_JS, "planted_bug", {"seed": 4}) is None
    assert transform_seed(SLUG_JS, "identity", {"seed": 4}) is None
    prose = "To make pasta, boil the water, then add the pasta."
    assert transform_seed(prose, "specification", {"seed": 4}) is None  # a procedure: the model specifies it
    for transformation in ("identity", "planted_bug"):
        with pytest.raises(InvalidOutput, match=f"holds no Python or JavaScript code, and the {transformation} tasks"):
            transform_seed(prose, transformation, {"seed": 4})


def test_a_prose_seed_s_identity_fails_before_any_lm_call():
    from agentinstruct.programs.pipeline import AgentInstructPipeline

    lm = DummyLM([{"tasks": "Write tests for f."}] * 20)
    with dspy.context(lm=lm):
        pipeline = AgentInstructPipeline(get_skill(SKILL))
        seed_id = next(f"s{i}" for i in range(100) if pipeline.plan(f"s{i}").transformation == "identity")
        result = pipeline(seed="To make pasta, boil the water, then add the pasta.", seed_id=seed_id)
    assert len(lm.history) == 0 and not result.samples
    assert [(f.stage, f.reason) for f in result.failures] == [("transformation", "invalid_output")]
    assert "holds no Python or JavaScript code" in result.failures[0].detail


def test_the_model_transforms_what_code_does_not(monkeypatch):
    from agentinstruct.programs.transformation import ContentTransformation

    skill = get_skill(SKILL)
    made = ContentTransformation(skill.transformations, skill.demo_passage, lambda text, name, config: "by code")
    lm = DummyLM([{"transformed": "by the model"}])
    with dspy.context(lm=lm):
        assert made(text=CART, transformation="planted_bug").transformed == "by code"
        assert len(lm.history) == 0
    made = ContentTransformation(skill.transformations, skill.demo_passage, lambda text, name, config: None)
    assert made(text=CART, transformation="identity").transformed == CART
    declining = ContentTransformation(skill.transformations, skill.demo_passage, lambda text, name, config: None)
    with dspy.context(lm=lm):
        assert declining(text=CART, transformation="planted_bug").transformed == "by the model"


def test_names_a_task_uses_that_the_code_lacks():
    assert foreign_names("Fix the bug in letter_grade and letterGrade.", CART) == ["letter_grade", "letterGrade"]
    assert foreign_names("Fix the bug in count_items, which counts one too many.", CART) == []
    assert foreign_names("Fix the bug in the total.", CART) == []


@needs_sandbox
def test_a_planted_bug_s_fix_is_the_seed_s_code_with_tests_that_catch_the_bug():
    buggy = plant_bug(CART, 2)
    prediction, lm = respond([], buggy, FIX_TASK, "fix_bug")
    assert len(lm.history) == 0  # the fix, its tests and its explanation all come from what was planted
    answer, execution = parse_answer(prediction.answer), prediction.execution
    assert answer.code == CART.strip()
    assert answer.explanation.startswith(f"The bug is in total: `{buggy.bug_line}` must be `{buggy.fixed_line}`.")
    assert execution["verified"] and execution["tests_failed"] == 0 and execution["tests_passed"] >= 2
    assert "against the buggy code from the task: " in execution["detail"]
    assert "code, tests and explanation were made from the seed's code, not written by the model" in execution["detail"]
    assert prediction.written_by_code == ["code", "tests", "explanation"]
    assert validate(sample_view(buggy, FIX_TASK, prediction), SKILL) == {}
    # A task about a function the code lacks (the worked example's) is not answered with this code.
    with pytest.raises(InvalidOutput, match="no runnable answer"):
        respond([{"code": "I cannot."}] * 4, buggy, "Fix the bug in letter_grade, which gives a B for 90.", "fix_bug")
    # A task on the buggy code about something else is the model's to answer.
    answers = [{"asserts": "assert count_items([1, 2]) == 2"}, {"explanation": "It counts."}] * 3
    prediction, lm = respond(answers, buggy, TESTS_TASK, "write_tests")
    assert len(lm.history) >= 1 and parse_answer(prediction.answer).code == buggy.strip()
    assert prediction.written_by_code == []


@needs_sandbox
def test_a_specification_s_implementation_is_the_seed_s_code_with_tests_of_its_examples():
    spec = write_specification(CART, seed=3)
    task = "Write a Python function total(prices, discount=0) as described."
    prediction, lm = respond([{"explanation": "total sums the prices and takes off the discount."}], spec, task)
    assert len(lm.history) == 1  # only the explanation is the model's
    answer, execution = parse_answer(prediction.answer), prediction.execution
    assert answer.code == CART.strip() and answer.explanation == "total sums the prices and takes off the discount."
    assert "total([1, 2, 3])" in answer.tests and execution["tests_passed"] == 3
    assert "the inputs of 3 tests were chosen" in execution["detail"]
    assert "the answer's code and tests were made from the seed's code" in execution["detail"]
    assert prediction.written_by_code == ["code", "tests"]
    assert validate(sample_view(spec, task, prediction), SKILL) == {}
    # A task that names none of the specification's functions (a model copying its worked example) is the model's.
    with pytest.raises(InvalidOutput, match="no python code"):
        respond([{"code": "I cannot."}] * 4, spec, "Write a Python function letter_grade(mark) as described.")
    # A JavaScript implementation of the same specification is the model's.
    with pytest.raises(InvalidOutput, match="no javascript code"):
        respond([{"code": "I cannot."}] * 4, spec, "Write a JavaScript function total(prices) as described.")


@needs_sandbox
def test_the_responder_fixes_a_planted_bug_with_tests_that_catch_it():
    answers = [
        {"code": f"Here is the fixed code:\n```python\n{CART}```"},
        {"asserts": "assert total([100], 10) == 90.0\nassert total([5, 5]) == 10"},
        {"explanation": "The discount was added instead of taken off; 100 - discount fixes it."},
    ]
    prediction, _ = respond(answers, BUGGY_CART, FIX_TASK)
    assert "against the buggy code from the task: 1 passed, 1 failed" in prediction.execution["detail"]
    assert validate(sample_view(BUGGY_CART, FIX_TASK, prediction), SKILL) == {}


@needs_sandbox
def test_a_fix_whose_tests_miss_the_bug_is_retried_then_rejected():
    # Every try returns the buggy code unchanged and tests that pass on it.
    answers = [{"code": BUGGY_CART, "asserts": "assert total([1, 2]) == 3\nassert count_items([1]) == 1"}] * 2 * 2
    prediction, lm = respond(answers, BUGGY_CART, FIX_TASK)
    assert len(lm.history) == 4  # two tries of code and tests, no explanation for a failed pair
    failures = validate(sample_view(BUGGY_CART, FIX_TASK, prediction), SKILL)
    assert "bug_not_caught" in failures and "unchanged_code" in failures


@needs_sandbox
def test_the_responder_writes_and_runs_javascript():
    task = "Translate total into JavaScript, without the discount."
    answers = [
        {"code": JS_CODE.replace("\n\nmodule.exports = { total };", "")},  # no exports: added for the tests
        {"asserts": "assert.strictEqual(total([1, 2]), 3)\nassert.strictEqual(total([]), 0)"},
        {"explanation": "The JavaScript total adds the prices with reduce."},
    ]
    prediction, _ = respond(answers, CART, task)
    execution = prediction.execution
    assert execution["verified"] and (execution["tests_passed"], execution["tests_failed"]) == (2, 0), execution
    assert execution["command"].startswith("node ")
    answer = parse_answer(prediction.answer)
    assert answer.language == JAVASCRIPT and "module.exports = { total };" in answer.code
    assert validate(sample_view(CART, task, prediction), SKILL) == {}


@needs_sandbox
def test_code_that_fails_its_tests_is_kept_as_a_rejected_record():
    answers = [{"code": "def total(prices, discount=0):\n    return 0\n", "asserts": "assert total([1, 2]) == 3"}] * 6
    task = "Write a Python function total(prices, discount=0) that sums the prices less the discount."
    prediction, _ = respond(answers, "Function total(prices, discount): sums the prices.", task)
    assert prediction.execution["verified"] and prediction.execution["tests_failed"] == 1
    failures = validate(sample_view("Function total(prices, discount): sums the prices.", task, prediction), SKILL)
    assert "fails_own_tests" in failures


def test_without_the_sandbox_nothing_runs_and_the_pair_is_unverified(monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_available", lambda: "bwrap (bubblewrap) is not installed: install it")

    def refuse(*args, **kwargs):
        raise AssertionError("the sandbox is unavailable: nothing may be started")

    monkeypatch.setattr(sandbox.subprocess, "Popen", refuse)
    answers = [{"asserts": "assert total([1, 2]) == 3\nassert total([10], 50) == 5.0"}]
    prediction, _ = respond(answers, CART, TESTS_TASK)
    execution = prediction.execution
    assert execution["verified"] is False and execution["exit_code"] is None and execution["tests_passed"] is None
    assert "not run" in execution["detail"] and "bubblewrap" in execution["detail"]
    failures = validate(sample_view(CART, TESTS_TASK, prediction), SKILL)
    assert "unverified" in failures and "bubblewrap" in failures["unverified"]


def test_a_task_about_code_without_code_fails_as_invalid_output():
    with pytest.raises(InvalidOutput, match="holds no Python or JavaScript code"):
        respond([], "A recipe: boil the water, then add the pasta.", "Fix the bug in the code.")
    with pytest.raises(InvalidOutput, match="no runnable answer after 2 tries: no python code"):
        respond([{"code": "I cannot write that."}] * 3, "Function f(x) doubles x.", "Write a function f(x).")
    # The model answers with its worked example's code instead of the task's.
    demo = get_skill(SKILL).demo_passage
    with pytest.raises(InvalidOutput, match="defines average, letter_grade, which the task never names"):
        respond([{"code": demo}] * 3, "Function double(x) returns twice x.", "Write a Python function double(x).")


# ---------------------------------------------------------------------------------------------------------------------
# generate: stored records keep their execution
# ---------------------------------------------------------------------------------------------------------------------

SEED = '''"""Small arithmetic helpers."""


def add(a, b):
    """Return the sum of a and b."""
    return a + b


def double(x):
    """Return twice x."""
    return add(x, x)
'''


class CodingEngine(FieldsEngine):
    """A stand-in teacher for the coding skill's fields: the same right code and tests whatever it is asked."""

    ANSWERS = {
        "transformed": SEED,
        "tasks": "Write unit tests for add, including negative numbers.\nWrite tests for double with a zero.",
        "suggestions": "- Name an edge case.",
        "revised_task": "Write unit tests for add and double, including a zero.",
        "code": f"```python\n{SEED}```",
        "asserts": "assert add(2, 3) == 5\nassert add(-1, 1) == 0\nassert double(0) == 0",
        "explanation": "add returns the sum of its arguments, and double adds a number to itself.",
    }

    def answers(self, fields: list[str], inputs: dict[str, str]) -> dict[str, str]:
        return {field: self.ANSWERS[field] for field in fields}


@needs_sandbox
def test_generate_stores_verified_records_with_their_execution(tmp_path, mlflow_uri, monkeypatch):
    from agentinstruct.cli import main

    lm = dspy.LM("coding/stand-in", engine=CodingEngine(), cache=False)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.runner.check_lms", lambda *args, **kwargs: None)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "arith.py").write_text(SEED)
    out = tmp_path / "out"
    command = ["generate", "--skill", SKILL, "--seeds", str(seeds), "--out", str(out), "--n", "2", "--quiet"]
    code = main([*command, "--lm", "openai/stand-in", "--api-base", "http://127.0.0.1:9/v1", "--no-model-checks"])
    assert code in (0, 1)
    rows = datasets.load_from_disk(str(out))["train"]
    assert len(rows) >= 1
    for row in rows:
        assert row["skill"] == SKILL and [m["role"] for m in row["messages"]] == ["user", "assistant"]
        execution = row["execution"]
        assert execution["verified"] is True and execution["exit_code"] == 0 and execution["tests_failed"] == 0
        assert execution["tests_passed"] >= 2 and execution["command"] == "python3 run_tests.py"
        answer = parse_answer(row["messages"][1]["content"])
        assert answer is not None and answer.language == PYTHON and "from solution import" in answer.tests
        assert validate(view_of(row["messages"], execution=execution), SKILL) == {}
        # What the seed's code made, and only that, is marked as written by code.
        from_seed = "were made from the seed's code" in execution["detail"]
        assert row["written_by_code"] == (["code", "tests"] if from_seed else []), execution["detail"]


class TaskEngine(FieldsEngine):
    """A stand-in model that writes tasks about the cart's `total` (and refinements that change nothing)."""

    TASKS = {
        "planted_bug": "Fix the bug in total, which gives a wrong total.\nFind and fix the bug in total.",
        "specification": "Write a Python function total(prices, discount=0) as described.\nImplement total.",
    }

    def __init__(self, transformation: str) -> None:
        self.transformation = transformation

    def answers(self, fields: list[str], inputs: dict[str, str]) -> dict[str, str]:
        values = {"tasks": self.TASKS[self.transformation], "suggestions": "- Keep it.", "explanation": "It sums."}
        values["revised_task"] = inputs.get("task", "")
        return {field: values[field] for field in fields}


@needs_sandbox
@pytest.mark.parametrize("transformation", ["planted_bug", "specification"])
def test_the_pipeline_answers_a_python_seed_s_planted_bug_and_specification_from_its_code(transformation):
    from agentinstruct.programs.pipeline import AgentInstructPipeline

    pipeline = AgentInstructPipeline(get_skill(SKILL))
    seed_id = next(f"s{i}" for i in range(200) if pipeline.plan(f"s{i}").transformation == transformation)
    lm = dspy.LM("coding/tasks", engine=TaskEngine(transformation), cache=False)
    with dspy.context(lm=lm):
        result = pipeline(seed=CART, seed_id=seed_id)
    code_requests = [entry for entry in lm.history if "[[ ## language ## ]]" in str(entry.get("messages"))]
    assert result.samples and not code_requests  # no code was written by the model
    for sample in result.samples:
        user, answer = sample.messages[0]["content"], parse_answer(sample.messages[1]["content"])
        assert answer.code == CART.strip() and sample.execution["tests_failed"] == 0
        if transformation == "planted_bug":
            assert user.startswith('"""A tiny shopping cart."""') and CART.strip() not in user  # the buggy version
        else:
            assert "Function total(prices, discount=0): The sum of the prices" in user and "def " not in user
        passage, task = user.rsplit("\n\n", 1)
        assert validate(view(passage, task, sample.messages[1]["content"], sample.execution), SKILL) == {}


def test_a_coding_run_without_the_sandbox_is_refused_before_any_lm_call(tmp_path, monkeypatch, capsys):
    from agentinstruct.cli import main

    monkeypatch.setattr(sandbox, "sandbox_available", lambda: "bwrap (bubblewrap) is not installed: install it")
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: pytest.fail("an LM was built"))
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "arith.py").write_text(SEED)
    out = tmp_path / "out"
    assert main(["generate", "--skill", SKILL, "--seeds", str(seeds), "--out", str(out), "--n", "2", "--quiet"]) == 2
    error = capsys.readouterr().err
    assert "coding skill runs the code it writes in a sandbox" in error and "bubblewrap) is not installed" in error
    assert "Traceback" not in error and not out.exists()
