"""The brain-teaser skill: its data file loads, its good pairs pass every validator and each validator catches the bad
pair written for it."""

import pytest

from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "brain_teaser"
SEED = (
    "Mara's bakery in Tolvik has baked bread since 1952. Every morning its two ovens turn out 360 loaves of rye and "
    "sourdough, twelve to a tray, and on Saturdays the bakery adds 200 cinnamon buns. The dough rises overnight in a "
    "cool cellar, and the first customers queue at six, when the smell reaches the harbor."
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


TRAYS = "A baker puts 12 loaves on each tray and bakes 360 loaves every morning. How many trays does she fill?"
GOOD = [
    (TRAYS, "She fills 30 trays. Each tray holds 12 loaves, so 360 / 12 = 30."),
    (
        "I rise without legs, I am kneaded but never needed, and I leave the oven warm. What am I?",
        "Bread dough. It rises as the yeast works, and the baker kneads it, which sounds like 'needed'.",
    ),
    (
        "A bakery opened in 1952 and sells 360 loaves a day. How many loaves did it sell on the day before it opened?",
        "None, because the bakery was not open yet, so it sold no loaves that day.",
    ),
    (
        "Every winter a baker's bread rises slowly, though she uses the same recipe all year. Why?",
        "Her cellar is colder in winter. Yeast works more slowly in the cold, so the dough takes longer to rise.",
    ),
    ("What comes next: 2, 4, 8, 16, ...?", "32 comes next. Each number doubles the one before, so 16 × 2 = 32."),
    (
        "Unscramble DAREB to find what a bakery sells.",
        "BREAD. The letters D, A, R, E and B spell it, and bakeries sell it.",
    ),
    (
        "Which does not belong: rye, sourdough, cinnamon bun, hammer?",
        "The hammer. The others are baked goods sold at a bakery, since a hammer is a tool.",
    ),
    (TRAYS, "Answer: 30 trays.\nBecause each tray holds 12 loaves, 360 / 12 = 30."),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    assert validate(PairView(SEED, instruction, response), SKILL) == {}


BAD = {
    "not_a_puzzle": ("The bakery bakes 360 loaves every morning.", "It fills 30 trays because 360 / 12 = 30."),
    "malformed_instruction": (
        "Write a riddle question about the bakery's ovens.",
        "An oven. It is hot inside, so bread bakes in it.",
    ),
    "copies_demo": (
        "A bell strikes once at one o'clock, twice at two, and so on up to twelve times at noon and midnight. How "
        "many times does it strike in one full day?",
        "It strikes 156 times, because 78 × 2 = 156.",
    ),
    "answer_not_first": (TRAYS, "Let's think about this step by step. Each tray holds 12 loaves, so 360 / 12 = 30."),
    "no_explanation": (TRAYS, "30 trays."),
    "wrong_arithmetic": (TRAYS, "She fills 25 trays. Each tray holds 12 loaves, so 360 / 12 = 25."),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_pair(name):
    instruction, response = BAD[name]
    failures = validate(PairView(SEED, instruction, response), SKILL)
    assert name in failures, failures


@pytest.mark.parametrize(
    "response",
    [
        "To solve this, divide the loaves by the trays: 360 / 12 = 30.",
        "Good question! She fills 30 trays because 360 / 12 = 30.",
        "What do we know? Each tray holds 12 loaves, so 360 / 12 = 30 trays.",
        "Trays hold loaves. Since 360 / 12 = 30, she fills 30 trays.",
    ],
)
def test_the_answer_must_come_first(response):
    assert "answer_not_first" in validate(PairView(SEED, TRAYS, response), SKILL)


def test_every_validator_has_a_bad_pair():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)
