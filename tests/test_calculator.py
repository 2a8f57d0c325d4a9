"""The calculator tool: an arithmetic evaluator that never runs model text as code, the check that corrects the
arithmetic of an answer with it, and the Fermi / analytical-reasoning responder that uses it (DummyLM, no model)."""

import json

import datasets
import dspy
import pytest
from dspy.utils import DummyLM
from fixtures.stored import store_samples

from agentinstruct.calculator import CALCULATOR, calculator, calculator_schema, check_arithmetic
from agentinstruct.metrics.arithmetic import CalculationError, arithmetic_error, calculate
from agentinstruct.metrics.text import view_of
from agentinstruct.metrics.validators import validate
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.calculator import CalculatorResponse, calculator_responder

# --------------------------------------------------------------------------------------------------------------------
# The evaluator
# --------------------------------------------------------------------------------------------------------------------

VALUES = [
    ("2 + 3 * 4", 14),
    ("(1 + 2) ** 2", 9),
    ("2 ^ 10", 1024),
    ("-2 ^ 2", -4),
    ("- 5 + 3", -2),
    ("2 - -3", 5),
    ("+4", 4),
    ("20,000 × 2 / 20", 2000),
    ("1.5 million / 3", 500_000),
    ("10k x 3", 30_000),
    ("3e8 / 2", 1.5e8),
    ("30% * 200", 60),
    ("$5 × 100", 500),
    ("2 times (3 plus 4)", 14),
    ("10 divided by 4", 2.5),
    ("sqrt(16) + abs(-2)", 6),
    ("round(1200 / 90, 1)", 13.3),
    ("round(1234, -2)", 1200),
    ("floor(2.7) + ceil(2.1)", 5),
    ("max(3, 4, -5) - min(1, 2)", 3),
    ("log10(1000)", 3),
    ("12 × 3 =", 36),
]


@pytest.mark.parametrize("expression,value", VALUES)
def test_the_calculator_evaluates_arithmetic(expression, value):
    assert calculate(expression) == pytest.approx(value)


HOSTILE = [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "os.system('ls')",
    "(1).__class__",
    "x + 1",
    "lambda: 1",
    "(lambda x: x)(2)",
    "[1, 2]",
    "{'a': 1}",
    "'a' * 3",
    "open('/etc/passwd')",
    "eval('1+1')",
    "exit()",
    "sqrt",
    "sqrt(16",
    "pow(2, 3)",
    "2 if 1 else 3",
    "1; 2",
    "1 + ",
    "3 % 2",
    "2 apples",
    "",
    "   ",
    "1" * 600,
    "9**9**9",
    "2 ** 401",
    "10 ^ 400 * 10 ^ 400",
    "1e308*1e308",
    "1e308 * 10 - 1e308 * 10",
    "1 / (1e308 * 10)",
    "1e999",
    "1 / 0",
    "sqrt(-1)",
    "log10(0)",
    "round(2.5, 0.5)",
    "max()",
    "floor(1e300)",
    "((((((((((1))))))))))",
    "-" * 300 + "1",
]


@pytest.mark.parametrize("expression", HOSTILE)
def test_the_calculator_refuses_anything_but_bounded_arithmetic(expression):
    with pytest.raises(CalculationError):
        calculate(expression)
    assert calculator(expression).startswith("error: ")


def test_the_calculator_refuses_non_text():
    with pytest.raises(CalculationError):
        calculate(None)  # type: ignore[arg-type]


def test_the_calculator_is_a_dspy_tool_with_an_openai_schema():
    assert isinstance(CALCULATOR, dspy.Tool) and CALCULATOR.name == "calculator"
    assert CALCULATOR(expression="20000 * 2") == "40000"
    assert CALCULATOR(expression="1 / 3") == "0.333333333333"
    schema = calculator_schema()
    assert schema["type"] == "function" and schema["function"]["name"] == "calculator"
    assert schema["function"]["parameters"]["required"] == ["expression"]
    assert "\n" not in schema["function"]["description"]


# --------------------------------------------------------------------------------------------------------------------
# Checking an answer's arithmetic
# --------------------------------------------------------------------------------------------------------------------

QUESTION = "How many loaves of bread does a town of 20,000 people eat in a week?"
WRONG_FERMI = (
    "Assumptions:\n"
    "- The town has 20,000 people.\n"
    "- An average person eats about 2 slices of bread a day.\n"
    "- A loaf has about 20 slices.\n"
    "Calculation:\n"
    "1. 20,000 people × 2 slices = 4,000 slices per day.\n"
    "2. 4,000 slices / 20 slices = 200 loaves per day.\n"
    "3. 200 loaves × 7 days = 1,400 loaves per week.\n"
    "Estimate: about 1,400 loaves a week."
)
RIGHT_FERMI = (
    WRONG_FERMI.replace("= 4,000", "= 40,000")
    .replace("2. 4,000", "2. 40,000")
    .replace("= 200 loaves", "= 2,000 loaves")
    .replace("3. 200", "3. 2,000")
    .replace("1,400", "14,000")
)


def test_a_wrong_product_and_its_later_uses_are_corrected():
    assert arithmetic_error(WRONG_FERMI) is not None
    check = check_arithmetic(WRONG_FERMI, QUESTION)
    assert check.text == RIGHT_FERMI
    assert [call.expression for call in check.calls] == ["20000 * 2", "40000 / 20", "2000 * 7"]
    assert [call.result for call in check.calls] == ["40000", "2000", "14000"]
    assert [call.outcome for call in check.calls] == ["corrected"] * 3
    assert check.later_uses == 3 and check.verified


def test_right_arithmetic_is_left_alone_and_the_calls_are_kept():
    check = check_arithmetic(RIGHT_FERMI, QUESTION)
    assert check.text == RIGHT_FERMI
    assert [call.outcome for call in check.calls] == ["right"] * 3
    execution = check.execution()
    assert execution["verified"] is True and execution["tests_passed"] == 3 and execution["tests_failed"] == 0
    assert execution["command"] == "calculator: 20000 * 2; 40000 / 20; 2000 * 7"


def test_an_answer_without_steps_makes_no_call():
    check = check_arithmetic("Lena is in room 4.\nAnswer: Lena")
    assert check.calls == [] and check.execution() is None and check.tool_turns() == []


@pytest.mark.parametrize(
    "wrong,right",
    [
        ("300 million / 2.5 = 12 million people", "300 million / 2.5 = 120 million people"),
        ("3 × 10^8 / 2 = 1.5 × 10^9", "3 × 10^8 / 2 = 1.5 × 10^8"),
        ("10⁸ / 4 = 2.5 × 10⁸", "10⁸ / 4 = 2.5 × 10⁷"),
        ("3e8 / 2 = 1.5e9", "3e8 / 2 = 1.5e8"),
        ("50 / 200 = 40%", "50 / 200 = 25%"),
        ("1,200 × 365 = 43,800", "1,200 × 365 = 438,000"),
        ("1/3 = 0.5", "1/3 = 0.3333"),
        ("5 - 8 = 3", "5 - 8 = -3"),
        ("10,800 km × 365 days ≈ 3,000,000 km", "10,800 km × 365 days ≈ 3,900,000 km"),
        ("$5 per person × 100 people = $50", "$5 per person × 100 people = $500"),
    ],
)
def test_a_corrected_result_is_written_like_the_wrong_one(wrong, right):
    check = check_arithmetic(wrong)
    assert check.text == right and check.verified


def test_the_closing_line_follows_the_last_step_even_when_its_number_was_given():
    # 10 is a given figure, so "10" is not replaced everywhere; the answer line restates the last step's result.
    wrong = (
        "Step 1: 30 + 25 - 10 = 40 members borrow at least one kind.\n"
        "Step 2: 50 - 40 = 10 members borrow neither.\n"
        "Answer: 10"
    )
    check = check_arithmetic(wrong)
    assert check.text == (
        "Step 1: 30 + 25 - 10 = 45 members borrow at least one kind.\n"
        "Step 2: 50 - 45 = 5 members borrow neither.\n"
        "Answer: 5"
    )


def test_a_wrong_number_that_the_question_gives_is_corrected_in_its_step_only():
    wrong = "1. 10 × 3 = 20 boxes.\n2. 20 boxes + 5 = 25 boxes.\nAnswer: 25"
    check = check_arithmetic(wrong, question="A shop gets 20 boxes and 10 crates of 3 boxes. How many boxes?")
    assert check.text.startswith("1. 10 × 3 = 30 boxes.\n2. 20 boxes + 5 = 25 boxes.")


def test_ambiguous_steps_are_left_as_written():
    check = check_arithmetic("2-3 hours × 365 ≈ 9 hours")  # a range: no one value
    assert check.text == "2-3 hours × 365 ≈ 9 hours" and not check.verified
    check = check_arithmetic("2 ** 3 = 9")  # read in a normalised line: no place to correct it in
    assert check.text == "2 ** 3 = 9"
    assert [call.outcome for call in check.calls] == ["left"]
    assert check.execution()["verified"] is False


def test_the_check_goes_through_the_tool_it_is_given():
    asked = []

    def spy(expression: str) -> str:
        asked.append(expression)
        return calculator(expression)

    check_arithmetic("3 × 4 = 13 and 2 + 2 = 4", tool=dspy.Tool(spy, name="calculator"))
    assert asked == ["3 * 4", "2 + 2"]


# --------------------------------------------------------------------------------------------------------------------
# The responder (DummyLM stands in for the teacher)
# --------------------------------------------------------------------------------------------------------------------


def _answering(skill_name: str, text: str) -> DummyLM:
    return DummyLM([{get_skill(skill_name).wording.response: text}] * 20)


@pytest.mark.parametrize("name", ["fermi", "analytical_reasoning"])
def test_the_skills_answer_with_the_calculator_responder(name):
    response = AgentInstructPipeline(get_skill(name)).response
    assert isinstance(response, CalculatorResponse) and not response.tool_turns
    assert [n for n, _ in response.named_predictors()] == ["respond"]  # the plain responder's predictor, unchanged


def test_the_fermi_responder_corrects_a_wrong_product():
    responder = calculator_responder(get_skill("fermi"))
    with dspy.context(lm=_answering("fermi", WRONG_FERMI)):
        prediction = responder(passage="A bakery text.", instruction=QUESTION, config={"seed": 1})
    assert prediction.answer == RIGHT_FERMI
    assert prediction.execution["tests_failed"] == 3 and prediction.execution["verified"] is True
    assert "calculator(20000 * 2) = 40000: corrected" in prediction.execution["output"]
    assert getattr(prediction, "messages", None) is None and getattr(prediction, "tools", None) is None
    assert (
        validate(
            view_of([{"role": "user", "content": QUESTION}, {"role": "assistant", "content": RIGHT_FERMI}]), "fermi"
        )
        == {}
    )


def test_the_pipeline_keeps_the_corrected_answer_and_the_calls():
    skill = get_skill("analytical_reasoning")
    wrong = (
        "Step 1: 30 + 25 - 10 = 40 members borrow at least one kind.\n"
        "Step 2: 50 - 40 = 10 members borrow neither.\n"
        "Answer: 10"
    )
    fields = {
        "transformed": "Of 50 library members, 30 borrow novels, 25 borrow comics and 10 borrow both.",
        "problems": "Of 50 library members, 30 borrow novels, 25 borrow comics and 10 borrow both. How many borrow "
        "neither?",
        "suggestions": "- Add a condition.",
        "revised_problem": "Of 50 library members, 30 borrow novels, 25 borrow comics and 10 borrow both. How many "
        "members borrow neither novels nor comics?",
        "revised_text": "Of 50 library members, 30 borrow novels, 25 borrow comics and 10 borrow both.",
        "solution": wrong,
    }
    with dspy.context(lm=DummyLM([fields] * 100)):
        prediction = AgentInstructPipeline(skill)(seed="The library has 50 members.", seed_id="library", draw=0)
    assert prediction.samples, prediction.failures
    sample = prediction.samples[0]
    assert [m["role"] for m in sample.messages] == ["user", "assistant"]
    assert sample.messages[1]["content"].endswith("50 - 45 = 5 members borrow neither.\nAnswer: 5")
    assert sample.execution["tests_failed"] == 2 and sample.tools is None


def test_tool_turns_make_a_tool_use_conversation_that_the_store_keeps(tmp_path):
    skill = get_skill("fermi")
    responder = calculator_responder(skill, tool_turns=True)
    with dspy.context(lm=_answering("fermi", WRONG_FERMI)):
        prediction = responder(passage="A bakery text.", instruction=QUESTION, config={})
    turns = prediction.messages
    assert [t["role"] for t in turns] == ["assistant", "tool", "tool", "tool", "assistant"]
    calls = turns[0]["tool_calls"]
    assert [json.loads(c["function"]["arguments"]) for c in calls] == [
        {"expression": "20000 * 2"},
        {"expression": "40000 / 20"},
        {"expression": "2000 * 7"},
    ]
    assert [t["tool_call_id"] for t in turns[1:4]] == [c["id"] for c in calls]
    assert [t["content"] for t in turns[1:4]] == ["40000", "2000", "14000"]
    assert turns[-1]["content"] == RIGHT_FERMI and prediction.tools == [calculator_schema()]

    # Through the pipeline's record path and the generate store, read back as training code reads it.
    from agentinstruct.programs import Sample

    user = {"role": "user", "content": QUESTION}
    sample = Sample(
        [user, *turns], "count_of_things", "identity", tools=prediction.tools, execution=prediction.execution
    )
    row = datasets.load_from_disk(str(store_samples(tmp_path / "out", [sample], skill)))["train"][0]
    assert [t["role"] for t in row["messages"]] == ["user", "assistant", "tool", "tool", "tool", "assistant"]
    assert row["messages"][1]["tool_calls"][0]["function"]["arguments"] == '{"expression": "20000 * 2"}'
    assert json.loads(row["tools"]) == [calculator_schema()]
    assert row["execution"]["tests_failed"] == 3
    view = view_of(row["messages"], row["context"], row["tools"], row["execution"])
    assert view.response == RIGHT_FERMI and validate(view, "fermi") == {}
