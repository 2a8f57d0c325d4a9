"""The open-domain QA skill: its data file loads, its good pairs pass every validator and each validator catches the
bad pair written for it."""

import pytest

from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "open_domain_qa"
SEED = (
    "The Panama Canal connects the Atlantic and Pacific oceans across the Isthmus of Panama. The United States "
    "finished building it in 1914, after a French attempt led by Ferdinand de Lesseps had failed in the 1880s. Ships "
    "are raised 26 metres above sea level by a series of locks to Gatun Lake, and lowered again on the other side. A "
    "full transit takes about 8 to 10 hours. Each lock chamber is filled by gravity from the lake, so no pumps are "
    "needed. In 2016 a wider set of locks opened, allowing larger ships called Neopanamax vessels to pass."
)


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "instruction_only"


def test_the_skill_runs_its_own_validators():
    names = {validator.name for validator in get_skill(SKILL).validators}
    assert {"refers_to_source", "unnamed_subject", "answer_refers_to_source", "invented_details"} <= names


GOOD = [
    (
        "In what year did the United States finish building the Panama Canal?",
        "In 1914. The United States completed it after a French attempt led by Ferdinand de Lesseps failed in the "
        "1880s.",
    ),
    (
        "How are the lock chambers of the Panama Canal filled with water?",
        "By gravity: each lock chamber is filled from Gatun Lake, so no pumps are needed.",
    ),
    (
        "What is a Neopanamax vessel?",
        "A Neopanamax vessel is one of the larger ships that can pass through the wider set of locks opened on the "
        "Panama Canal in 2016.",
    ),
    (
        "Do ships need pumps to fill the lock chambers of the Panama Canal? Answer yes or no, then give the reason.",
        "No. Each lock chamber is filled by gravity from Gatun Lake.",
    ),
    ("What does a canal lock do?", "A canal lock raises or lowers ships between two water levels."),
    (
        "Which engineer led the failed French attempt to build his canal across the Isthmus of Panama?",
        "Ferdinand de Lesseps. His attempt failed in the 1880s.",
    ),
    ("How long does it take a ship to cross the Panama Canal?", "About 8 to 10 hours for a full transit."),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    view = PairView(SEED, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


BAD = [
    ("According to the passage, when was the canal finished?", "In 1914.", "refers_to_source"),
    ("What does the text say about Gatun Lake?", "Ships are raised 26 metres to Gatun Lake.", "refers_to_source"),
    ("What did the study find about lock chambers?", "Each lock chamber is filled by gravity.", "refers_to_source"),
    ("How long did this project take to finish?", "It was finished in 1914.", "refers_to_source"),
    ("When did he try to build a canal?", "In the 1880s.", "unnamed_subject"),
    ("Why is it so important?", "It connects two oceans.", "unnamed_subject"),
    ("What happened next?", "A wider set of locks opened in 2016.", "unnamed_subject"),
    (
        "In what year did the United States finish building the Panama Canal?",
        "The passage says it was finished in 1914.",
        "answer_refers_to_source",
    ),
    (
        "In what year did the United States finish building the Panama Canal?",
        "In 1921, under President Theodore Roosevelt.",
        "invented_details",
    ),
    (
        "Who led the French attempt to build the Panama Canal?",
        "Ferdinand de Lesseps. He later became a celebrated opera singer who toured widely and wrote several novels.",
        "unsupported_statement",
    ),
    (
        "What changed on the Panama Canal in 2016?",
        "In 2016 a wider set of locks closed to the larger ships called Neopanamax vessels.",
        "contradicts_passage",
    ),
    (
        "In one word, which lake do ships cross on the Panama Canal?",
        "Gatun Lake, which lies 26 metres above sea level.",
        "constraint_violated",
    ),
    ("The Panama Canal and its locks", "It has locks.", "no_question"),
    ("Write a question about the Panama Canal locks.", "How high are ships raised?", "malformed_instruction"),
    (
        "Which came first, Isaac Newton's explanation of tides or the opening of France's La Rance tidal power station,"
        " and how many years apart were they?",
        "Newton came first, 279 years earlier.",
        "copies_demo",
    ),
]


@pytest.mark.parametrize("instruction,response,validator", BAD)
def test_each_validator_catches_its_bad_pair(instruction, response, validator):
    assert validator in validate(PairView(SEED, instruction, response), SKILL)


def test_names_that_merely_share_a_word_with_the_document_are_not_references():
    for question in (
        "Who was the author of the novel Moby-Dick?",
        "Which novel made the author Jane Austen famous?",
        "Is it true that research shows canal locks need pumps? Answer yes or no, then give the reason.",
        "What did the passage of the Panama Canal Act in 1912 decide?",
        "What does the text of the Hay-Bunau-Varilla Treaty grant the United States?",
        "What is it called when a ship is raised from one water level to another by a lock?",
    ):
        view = PairView(SEED, question, "x")
        assert validate(view, SKILL).keys() <= {"invented_details", "unsupported_statement", "degenerate", "length"}
        assert "refers_to_source" not in validate(view, SKILL)
        assert "unnamed_subject" not in validate(view, SKILL)
