"""The multiple-choice skill: its data file loads, its good pairs pass every validator and each validator catches the
bad pair written for it."""

import pytest

from agentinstruct.metrics.skills.multiple_choice import parse_options
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "multiple_choice"
PASSAGE = (
    "The Lindell Science Fair took place on April 12 at Carver Middle School. Ninety-four students entered 61 "
    "projects, up from 48 projects last year. First prize went to Priya Nand, 13, for a filter that removed 85 percent "
    "of the dye from a water sample using crushed walnut shells. Second prize went to Omar Reyes for a study of how "
    "fast bread molds at different temperatures. Judges said the winning project stood out because it used cheap, "
    "local materials. The top three projects will go on to the regional fair in Dayton on May 20."
)
COUNT = "How many projects were entered in the Lindell Science Fair? (A) 48 (B) 61 (C) 85 (D) 94"


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "passage_then_instruction"


def test_every_demo_question_offers_three_to_five_distinct_options():
    for kind in load_skill_data(data_path(SKILL)).instruction_types:
        for question in kind.demo_instructions.splitlines():
            listed = parse_options(question)
            assert 3 <= len(listed) <= 5, question
            assert len({text.lower() for text in listed.values()}) == len(listed), question


def test_options_inline_and_one_per_line_parse_alike():
    inline = parse_options("Which one? (A) in order to win (B) to match the rules (C) none")
    lines = parse_options("Which one?\nA) in order to win\nB) to match the rules\nC) none")
    assert inline == lines == {"A": "in order to win", "B": "to match the rules", "C": "none"}


GOOD = [
    (COUNT, "(B) 61. Ninety-four students entered 61 projects."),
    (COUNT, "The answer is (B) 61, up from 48 projects last year."),
    (COUNT, "B. 61 projects were entered, up from 48 last year."),
    (
        "How many more projects were entered in the Lindell Science Fair than last year? (A) 13 (B) 33 (C) 46 (D) 61",
        "(A) 13. 61 - 48 = 13.",
    ),
    (
        "Which statement about the Lindell Science Fair is true? (A) Priya Nand won second prize. (B) The top three "
        "projects will go to the regional fair in Dayton. (C) Omar Reyes built a water filter. (D) The fair took place "
        "on May 12.",
        "(B) The top three projects will go to the regional fair in Dayton. The fair's top three projects go on to "
        "Dayton on May 20.",
    ),
    (
        "Why did the judges say Priya Nand's project stood out?\nA) It used cheap, local materials\nB) It was the "
        "largest project\nC) It was built by a team\nD) It won last year too",
        "A) It used cheap, local materials. The judges said the winning project stood out for this reason.",
    ),
    (
        "Which of the following is NOT stated about Priya Nand? (A) She is 13. (B) She won first prize. (C) She used "
        "walnut shells. (D) She lives in Dayton.",
        "(D) She lives in Dayton. The news item never says where Priya Nand lives.",
    ),
    (
        "What did Priya Nand's filter do? (A) removed 85 percent of the dye from a water sample (B) removed all of the "
        "dye in order to win (C) heated the water (D) grew bread mold",
        "(A) removed 85 percent of the dye from a water sample, using crushed walnut shells.",
    ),
    (
        'As used in the news item, what does "stood out" most nearly mean? (A) was noticeably better (B) stood '
        "outside (C) was late (D) was cheap",
        "(A) was noticeably better. The judges singled out the winning project for its cheap, local materials.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    view = PairView(PASSAGE, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


BAD = [
    ("How many projects were entered in the Lindell Science Fair? (A) 48 (B) 61", "(B) 61.", "option_count"),
    (
        "How many projects were entered in the Lindell Science Fair? (A) 48 (B) 61 (C) 85 (D) 94 (E) 12 (F) 20",
        "(B) 61.",
        "option_count",
    ),
    (
        "How many projects were entered in the Lindell Science Fair? (A) 48 (B) 61 (D) 94",
        "(B) 61.",
        "option_count",
    ),
    ("Who won first prize at the Lindell Science Fair?", "Priya Nand.", "option_count"),
    (
        "How many projects were entered in the Lindell Science Fair? (A) 48 (B) 61 (C) 61. (D) 94",
        "(B) 61.",
        "duplicate_options",
    ),
    (COUNT, "61 projects were entered in the fair.", "answer_not_an_option"),
    (COUNT, "(E) 61.", "answer_not_an_option"),
    (COUNT, "(A) 61. Ninety-four students entered 61 projects.", "answer_not_an_option"),
    (COUNT, "(B) or (A), depending on the year.", "answer_not_an_option"),
    (COUNT, "(B).", "answer_not_an_option"),
    (
        "What did Omar Reyes study? (A) how fast bread molds at different temperatures (B) how plants grow in space "
        "(C) how walnut shells filter dye (D) how students choose projects",
        "(B) how plants grow in space. Omar Reyes won second prize.",
        "option_unsupported",
    ),
    (
        "How much of the dye did Priya Nand's filter remove? (A) 48 percent (B) 61 percent (C) 85 percent "
        "(D) 91 percent",
        "(D) 91 percent. The filter removed most of the dye.",
        "option_unsupported",
    ),
    (
        "Which statement about the Lindell Science Fair is true? (A) Ninety-four students entered 61 projects. (B) The "
        "top three projects will go on to the regional fair in Dayton. (C) Omar Reyes won first prize. (D) The fair "
        "was held in May.",
        "(A) Ninety-four students entered 61 projects.",
        "two_options_stated",
    ),
    (
        "Write a question about the fair. (A) 48 (B) 61 (C) 85",
        "(B) 61.",
        "malformed_instruction",
    ),
]


@pytest.mark.parametrize("instruction,response,validator", BAD)
def test_each_validator_catches_its_bad_pair(instruction, response, validator):
    assert validator in validate(PairView(PASSAGE, instruction, response), SKILL)


def test_a_copy_of_the_worked_example_is_caught():
    demo = get_skill(SKILL).instruction_types[0].demo_instructions.splitlines()[1]
    assert "copies_demo" in validate(PairView(PASSAGE, demo, "(B) With a phone app or a transit card."), SKILL)
