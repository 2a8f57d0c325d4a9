"""The Fermi skill: its data file loads, the arithmetic checker reads written-out steps right (and skips what it cannot
read for certain), good pairs pass every validator, and each validator catches the bad pair written for it."""

import pytest

from agentinstruct.metrics.arithmetic import arithmetic_error, arithmetic_steps
from agentinstruct.metrics.skills.fermi import assumed_figures, assumption_lines
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "fermi"
SEED = (
    "Mara's bakery in Tolvik has baked bread since 1952. Every morning its two ovens turn out 360 loaves of rye and "
    "sourdough, and on Saturdays the bakery adds 200 cinnamon buns. The ovens run at 230 degrees, and each batch of "
    "24 loaves takes 40 minutes. The town has about 20,000 people, and Mara says most of them buy bread at least "
    "twice a week."
)


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "instruction_only"


def test_the_skill_demos_pass_its_validators():
    data = load_skill_data(data_path(SKILL))
    for instruction, response in data.response_demos:
        failures = validate(PairView(SEED, instruction, response), SKILL)
        failures.pop("copies_demo", None)  # the demos are the worked example
        assert failures == {}, (instruction, failures)


RIGHT = [
    "3 + 4 + 5 = 12",
    "2 × 3 × 4 = 24",
    "2 × (3 + 4) = 14",
    "(4 + 6) x 3 = 30",
    "10 - 2 x 3 = 4",
    "9600-2900=6700",
    "so 9,600 − 2,900 = 6,700",
    "5 - 8 = -3",
    "300 million / 2.5 = 120 million",
    "10k × 3 = 30,000",
    "3e8 / 2 = 1.5e8",
    "3 × 10^8 / 2 = 1.5 × 10^8",
    "10⁸ / 4 = 2.5 × 10⁷",
    "50 / 200 = 25%",
    "50 / 200 × 100 = 25%",
    "30% × 200 = 60",
    "1/3 = 0.33",
    "22 / 7 = 3.14",
    "50 people / 8 per car = 7 cars",
    "$5 per person × 100 people = $500",
    "1. 1,200 bikes × 3 trips = 3,600 trips per day.",
    "10,800 km × 365 days ≈ 3,900,000 km per year.",
    "~300 × 4 ≈ 1,000",
    "1,200 / 90 ≈ 13 bikes per station",
    "3 times 4 equals 12",
    "**3 × 4 = 12**",
    "2-3 hours × 365 ≈ 900 hours",
    "300 × 4 = 1,200 × 12 = 14,400",
    "2 × 12 = 24 and 2 × 3 = 6, so 24 + 6 = 30",
]
"""Steps that are right, in the forms a response writes them."""

UNREADABLE = [
    "2 × 6 = 3 × 4",  # an equality of two expressions that holds
    "1 + 2 + 3 + ... + 12 = 78",  # an ellipsis
    "9:30 + 45 minutes = 10:15",  # clock times
    "2pm + 3 hours = 5pm",
    "12/25/2023 + 7 days = 1/1/2024",  # dates
    "March 3 + 10 days = March 13",
    "January 25 + 10 days = February 4",
    "2 hours 30 minutes + 45 minutes = 3 hours 15 minutes",  # compound quantities
    "1 hour + 30 minutes = 1.5 hours",  # a sum of mixed units
    "2 km + 500 m = 2.5 km",
    "100 cm × 3 = 3 m",  # a conversion in the result
    "60 km/h × 2 h × 3 = 360 km",  # a unit with a slash
    "2 to 3 hours × 365 = 900 hours",  # a range in words
    "3n + 4 = 19, so n = 5",  # algebra
    "x - 5 = 10 so x = 15",
    "A = 3, B = A + 1 = 4",
    "the 3rd + 2 = 5th",
    "CO2 + 3 = 5",
    "1 / 3 of 300 = 100",
    "The year 2019-2020 was long = 12 months",
]
"""Text the checker cannot read for certain: it must not call any of it wrong."""

WRONG = [
    ("3 × 4 = 13", "12"),
    ("2 + 2 = 5", "4"),
    ("10 / 4 = 3.5", "2.5"),
    ("12 × 12 = 140", "144"),
    ("1,200 × 365 = 43,800", "438,000"),
    ("9600-2900=6800", "6,700"),
    ("(4 + 6) × 3 = 18", "30"),
    ("300 million / 2.5 = 12 million", "1.2e+08"),
    ("3 × 10^8 / 2 = 1.5 × 10^9", "1.5e+08"),
    ("50 / 200 = 40%", "25"),
    ("10k × 3 = 3,000", "30,000"),
    ("1,200 bikes × 3 trips = 36,000 trips", "3,600"),
    ("6 - 2 = 3 and 4 + 1 = 5", "4"),
    ("2 × 12 = 24 and 2 × 3 = 7", "6"),
    ("1,200 bikes × 3 trips ≈ 36,000 trips", "3,600"),
]


@pytest.mark.parametrize("text", RIGHT)
def test_right_steps_are_read_and_pass(text):
    assert arithmetic_steps(text), text
    assert arithmetic_error(text) is None


@pytest.mark.parametrize("text", UNREADABLE)
def test_unreadable_text_is_never_called_wrong(text):
    assert arithmetic_error(text) is None


@pytest.mark.parametrize("text,right", WRONG)
def test_wrong_steps_are_caught_with_the_right_result(text, right):
    error = arithmetic_error(text)
    assert error is not None and f"the result is {right}" in error


def test_approximate_steps_may_round_to_the_leading_digit_but_not_by_a_factor():
    assert arithmetic_error("1,240 × 1 ≈ 1,000") is None
    assert arithmetic_error("9,500 × 1 ≈ 10,000") is None
    assert arithmetic_error("1,200 × 3 ≈ 1,000") is not None


def test_the_checker_never_evaluates_model_text():
    # Python syntax is just unreadable text here.
    assert arithmetic_steps("__import__('os').system('echo hi') = 0") == []
    assert arithmetic_error("2 ** 1000000 = 1") is None  # an exponent this large is not evaluated


def test_assumption_lines_come_from_the_heading_or_from_markers():
    response = "Assumptions:\n- 20,000 people\n- 2 slices each a day\nCalculation:\n20,000 × 2 = 40,000 slices."
    assert assumption_lines(response) == ["- 20,000 people", "- 2 slices each a day"]
    prose = "Assume 20,000 people. Each eats about 2 slices a day. So 20,000 × 2 = 40,000 slices."
    assert len(assumption_lines(prose)) == 2
    one_line = "Assumptions:\n1. 20,000 people eat 2 slices each a day.\nCalculation:\n1. 20,000 × 2 = 40,000."
    assert assumed_figures(one_line) == 2  # the item number "1." is no figure


QUESTION = "How many loaves of bread does a town of 20,000 people eat in a week?"
GOOD_RESPONSE = (
    "Assumptions:\n"
    "- The town has 20,000 people.\n"
    "- An average person eats about 2 slices of bread a day.\n"
    "- A loaf has about 20 slices.\n"
    "Calculation:\n"
    "1. 20,000 people × 2 slices = 40,000 slices per day.\n"
    "2. 40,000 slices / 20 slices = 2,000 loaves per day.\n"
    "3. 2,000 loaves × 7 days = 14,000 loaves per week.\n"
    "Estimate: about 14,000 loaves a week (order of magnitude 10^4)."
)
GOOD = [
    (QUESTION, GOOD_RESPONSE),
    (
        QUESTION,
        "Assume the town has 20,000 people and each eats about 2 slices a day. A loaf has roughly 20 slices. Then "
        "20,000 × 2 = 40,000 slices a day, and 40,000 / 20 = 2,000 loaves a day. Over a week, 2,000 × 7 = 14,000. So "
        "the estimate is roughly 10^4 loaves a week.",
    ),
    (
        "Estimate how many hours a bakery's ovens run in a year if it bakes 360 loaves a day in batches of 24.",
        "Assumptions:\n"
        "- The bakery bakes 360 loaves a day in batches of 24 (given).\n"
        "- A batch takes about 40 minutes.\n"
        "- The bakery opens about 310 days a year.\n"
        "Calculation:\n"
        "360 / 24 = 15 batches a day.\n"
        "15 batches × 40 minutes = 600 minutes, which is 10 hours a day.\n"
        "10 hours × 310 days = 3,100 hours a year.\n"
        "Estimate: about 3,000 oven hours a year (order of magnitude 10^3).",
    ),
    (
        "Roughly how much flour, in tonnes, does a bakery use in a year?",
        "Assumptions:\n"
        "- The bakery bakes about 360 loaves a day.\n"
        "- A loaf uses about 0.5 kg of flour.\n"
        "- It bakes on about 300 days a year.\n"
        "Calculation:\n"
        "- 360 loaves × 0.5 kg = 180 kg of flour a day.\n"
        "- 180 kg × 300 days = 54,000 kg ≈ 54 tonnes.\n"
        "Estimate: roughly 50 tonnes of flour a year, on the order of 10^1 to 10^2 tonnes.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    assert validate(PairView(SEED, instruction, response), SKILL) == {}


BAD = {
    "no_question": ("Bread is eaten every day in the town of Tolvik.", GOOD_RESPONSE),
    "malformed_instruction": ("Write a question about how much bread a town of 20,000 eats.", GOOD_RESPONSE),
    "copies_demo": ("How many kilometers do the 1,200 share bikes of a city travel in one year?", GOOD_RESPONSE),
    "no_assumptions": (
        QUESTION,
        "20,000 × 2 = 40,000 slices a day.\n40,000 / 20 = 2,000 loaves a day.\n2,000 × 7 = 14,000 loaves.\n"
        "Estimate: about 14,000 loaves a week.",
    ),
    "no_calculation": (
        QUESTION,
        "Assumptions:\n- The town has 20,000 people.\n- Each person eats about 2 slices a day.\n"
        "Estimate: about 14,000 loaves a week.",
    ),
    "wrong_arithmetic": (QUESTION, GOOD_RESPONSE.replace("= 40,000 slices per day", "= 4,000 slices per day")),
    "no_final_estimate": (QUESTION, GOOD_RESPONSE.rsplit("\n", 1)[0]),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_pair(name):
    instruction, response = BAD[name]
    failures = validate(PairView(SEED, instruction, response), SKILL)
    assert name in failures, failures


def test_every_validator_has_a_bad_pair():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)
