"""The few-shot reasoning skill: its data file loads (demo tasks within 120 words), the worked-example structure is read
from the common formats, good pairs pass every validator and each validator catches the bad pair written for it."""

import pytest

from agentinstruct.metrics.skills.few_shot_reasoning import FewShot, few_shot_structure
from agentinstruct.metrics.text import PairView, words
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "few_shot_reasoning"
SEED = (
    "Mara's bakery in Tolvik sells cinnamon buns for $2, rye loaves for $4 and apple pies for $7. Its ovens run at 230 "
    "degrees, and a batch of loaves bakes in 40 minutes. Buns are sweet; cheese rolls are savory."
)


def test_the_data_file_loads_with_enough_agents_and_short_demos():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "instruction_only"
    tasks = [line for kind in data.instruction_types for line in kind.demo_instructions.splitlines()]
    tasks += [goal.demo_revision for goal in data.refinement_goals] + [q for q, _ in data.response_demos]
    assert all(len(words(task)) <= 120 for task in tasks)
    assert all(isinstance(few_shot_structure(task), FewShot) for task in tasks)


def test_the_skill_demos_pass_its_validators():
    data = load_skill_data(data_path(SKILL))
    for instruction, response in data.response_demos:
        failures = validate(PairView(SEED, instruction, response), SKILL)
        failures.pop("copies_demo", None)  # the demos are the worked example
        assert failures == {}, (instruction, failures)


PRICES = (
    "Q: A bun costs $2. What do 3 buns cost? A: 3 × 2 = 6. Answer: $6 Q: A loaf costs $4. What do 2 loaves cost? "
    "A: 2 × 4 = 8. Answer: $8 Q: A pie costs $7. What do 3 pies cost? A:"
)
TASTE = (
    "Answer with sweet or savory. Input: cinnamon bun. Reasoning: It is made with sugar and cinnamon. Answer: sweet "
    "Input: cheese roll. Reasoning: It is filled with cheese. Answer: savory Input: apple pie. Reasoning:"
)
BARE = "Q: 2, 4, 6, ? A: 8 Q: 5, 10, 15, ? A: 20 Q: 3, 6, 9, ? A:"
NUMBERED = (
    "Example 1: The oven is at 200 degrees and needs 230. How many degrees more? Answer: 230 - 200 = 30, so 30 "
    "degrees.\nExample 2: The oven is at 150 degrees and needs 230. How many degrees more? Answer: 230 - 150 = 80, so "
    "80 degrees.\nExample 3: The oven is at 180 degrees and needs 220. How many degrees more? Answer:"
)
NOW_SOLVE = (
    "Example 1: Input: 3 buns at $2. Output: 3 × 2 = 6, so $6.\nExample 2: Input: 2 loaves at $4. Output: 2 × 4 = 8, "
    "so $8.\nNow solve this one: Input: 4 pies at $7. Output:"
)
GOOD = [
    (PRICES, "3 × 7 = 21.\nAnswer: $21"),
    (PRICES, "Three pies at $7 each: 3 × 7 = 21. Answer: $21"),
    (TASTE, "It is made with sugared apples.\nAnswer: sweet"),
    (BARE, "12"),
    (NUMBERED, "220 - 180 = 40, so 40 degrees."),
    (NOW_SOLVE, "4 × 7 = 28, so $28."),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    assert validate(PairView(SEED, instruction, response), SKILL) == {}


def test_the_structure_names_the_markers_and_the_final_case():
    shot = few_shot_structure(TASTE)
    assert isinstance(shot, FewShot)
    assert (shot.case_marker, shot.answer_marker, len(shot.worked)) == ("Input", "Answer", 2)
    assert shot.final.startswith("Input: apple pie") and shot.shows_reasoning()
    bare = few_shot_structure(BARE)
    assert isinstance(bare, FewShot) and bare.answer_marker == "A" and not bare.shows_reasoning()


BAD = {
    "no_worked_examples": ("Q: A pie costs $7. What do 3 pies cost? A:", "3 × 7 = 21.\nAnswer: $21"),
    "malformed_instruction": (
        "Write three questions like these. " + PRICES,
        "3 × 7 = 21.\nAnswer: $21",
    ),
    "copies_demo": (
        "Q: One adult and one child take the ferry. Adults pay $12 and children $5. What do they pay? A: 12 + 5 = 17. "
        "Answer: $17 Q: Two adults bring bicycles. Adults pay $12 and a bicycle costs $3. What do they pay? A: 2 × 12 "
        "= 24 and 2 × 3 = 6, so 24 + 6 = 30. Answer: $30 Q: Three adults take the ferry. Adults pay $12. What do they "
        "pay? A:",
        "3 × 12 = 36.\nAnswer: $36",
    ),
    "wrong_example_arithmetic": (
        PRICES.replace("3 × 2 = 6. Answer: $6", "3 × 2 = 5. Answer: $5"),
        "3 × 7 = 21.\nAnswer: $21",
    ),
    "format_not_followed": (PRICES, "3 × 7 = 21, so three pies cost 21 dollars."),
    "continues_examples": (
        PRICES,
        "3 × 7 = 21.\nAnswer: $21\nQ: A cake costs $9. What do 2 cakes cost? A: 2 × 9 = 18. Answer: $18",
    ),
    "no_reasoning": (PRICES, "Answer: $21"),
    "answer_kind_mismatch": (TASTE, "It is made with apples.\nAnswer: fruity"),
    "wrong_arithmetic": (PRICES, "3 × 7 = 24.\nAnswer: $24"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_pair(name):
    instruction, response = BAD[name]
    failures = validate(PairView(SEED, instruction, response), SKILL)
    assert name in failures, failures


@pytest.mark.parametrize(
    "instruction",
    [
        PRICES.replace("A: 3 × 2 = 6. Answer: $6 ", "").replace("A: 2 × 4 = 8. Answer: $8 ", ""),  # none worked
        PRICES + " 3 × 7 = 21. Answer: $21",  # the last case already solved
    ],
)
def test_an_instruction_without_two_worked_examples_and_a_new_case_fails(instruction):
    assert "no_worked_examples" in validate(PairView(SEED, instruction, "3 × 7 = 21.\nAnswer: $21"), SKILL)


def test_an_answer_of_the_wrong_kind_fails():
    assert "answer_kind_mismatch" in validate(PairView(SEED, PRICES, "3 × 7 is a lot.\nAnswer: a lot"), SKILL)
    assert "answer_kind_mismatch" not in validate(PairView(SEED, PRICES, "3 × 7 = 21.\nAnswer: twenty-one"), SKILL)


def test_every_validator_has_a_bad_pair():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)
