"""The analytical-reasoning skill: its data file loads, its good pairs pass every validator and each validator catches
the bad pair written for it."""

import pytest

from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "analytical_reasoning"
SEED = (
    "The Westbrook public library has four study rooms, numbered 1 to 4 along its quiet corridor. Students book them "
    "a day ahead. Kai, Lena, Omar and Pia meet there every Thursday to revise for their exams. The library has 50 "
    "members under eighteen; many borrow novels, and many borrow comics."
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


ROOMS = (
    "Kai, Lena, Omar and Pia each book one study room, numbered 1 to 4. Kai is in room 1. Lena's room is right after "
    "Omar's. Pia is not in room 4. Who is in room 4? (A) Kai (B) Lena (C) Omar (D) Pia"
)
ROOMS_STEPS = (
    "Step 1: Kai is in room 1, so rooms 2, 3 and 4 remain.\n"
    "Step 2: Omar and Lena need two rooms in a row, and Pia is not in room 4, so Pia takes room 2 or 3.\n"
    "Step 3: If Pia took room 3, rooms 2 and 4 would not be in a row. So Pia is in room 2, Omar in room 3 and Lena "
    "in room 4.\n"
)
BORROWERS = "Of 50 library members, 30 borrow novels, 25 borrow comics and 10 borrow both. How many borrow neither?"
BORROWERS_RESPONSE = (
    "Step 1: 30 + 25 - 10 = 45 members borrow at least one kind, since the 10 who borrow both are counted twice.\n"
    "Step 2: 50 - 45 = 5 members borrow neither.\n"
    "Answer: 5"
)
GOOD = [
    (ROOMS, ROOMS_STEPS + "Answer: (B) Lena"),
    (ROOMS, ROOMS_STEPS + "**Answer:** B"),
    (ROOMS, ROOMS_STEPS + "Answer: Lena"),
    (BORROWERS, BORROWERS_RESPONSE),
    (
        "Lena is older than Omar, and Omar is older than Pia. Who is the youngest of the three?",
        "Lena is older than Omar, and Omar is older than Pia. So Pia is younger than both of them.\nAnswer: Pia",
    ),
    (
        "All students who revise on Thursdays book a room. Some library members revise on Thursdays. Which must be "
        "true? (A) All library members book a room. (B) Some library members book a room. (C) No library member "
        "books a room.",
        "1. Some library members revise on Thursdays.\n"
        "2. Everyone who revises on Thursdays books a room, so those members book a room.\n"
        "3. Nothing is said about the other members, so (A) and (C) do not follow.\n"
        "Answer: (B) Some library members book a room.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    assert validate(PairView(SEED, instruction, response), SKILL) == {}


BAD = {
    "no_question": ("Kai, Lena, Omar and Pia each book one study room.", ROOMS_STEPS + "Answer: Lena"),
    "malformed_instruction": ("Write a logic question about the study rooms.", ROOMS_STEPS + "Answer: Lena"),
    "copies_demo": (
        "Of 40 garden members, 25 grow tomatoes, 18 grow beans and 7 grow both. How many members grow neither "
        "tomatoes nor beans?",
        "Step 1: 25 + 18 - 7 = 36 grow at least one.\nStep 2: 40 - 36 = 4 grow neither.\nAnswer: 4",
    ),
    "no_final_answer": (ROOMS, ROOMS_STEPS + "So Lena is in room 4."),
    "mcq_answer_not_one_option": (ROOMS, ROOMS_STEPS + "Answer: (B) or (C)"),
    "no_reasoning_steps": (ROOMS, "Lena is in room 4.\nAnswer: (B) Lena"),
    "wrong_arithmetic": (BORROWERS, BORROWERS_RESPONSE.replace("= 45 members", "= 40 members")),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_pair(name):
    instruction, response = BAD[name]
    failures = validate(PairView(SEED, instruction, response), SKILL)
    assert name in failures, failures


@pytest.mark.parametrize(
    "answer",
    ["Answer: (E) Eli", "Answer: Lena or Omar", "Answer: none of them", "Answer: (B) Omar"],
)
def test_a_multiple_choice_answer_names_exactly_one_listed_option(answer):
    failures = validate(PairView(SEED, ROOMS, ROOMS_STEPS + answer), SKILL)
    assert "mcq_answer_not_one_option" in failures


def test_every_validator_has_a_bad_pair():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)
