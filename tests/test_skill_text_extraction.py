"""The text-extraction skill: its data file loads, its good pairs pass every validator and each validator catches the
bad pair written for it."""

import pytest

from agentinstruct.metrics.skills.text_extraction import normalised, requested_format, requested_keys
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "text_extraction"
NOTICE = (
    "The Oakridge Community Garden will hold its spring plant sale on Saturday, May 4, from 9 a.m. to 1 p.m. at 220 "
    "Elm Street. Tomato seedlings cost $3 each, herb pots cost $5, and a bag of compost costs $8.50. Volunteers Ana "
    "Ruiz and Ben Cho will run a free workshop on composting at 11 a.m. All money raised will go toward a new tool "
    "shed, which the garden hopes to build by July. Questions can be sent to Mark Ellis at 555-0199 or "
    "oakridgegarden@example.org."
)
SALE = "Return a JSON object with keys date, time and address for the plant sale."
PRICES = "Make a markdown table with columns Item and Price for the items for sale."


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "passage_then_instruction"


def test_formats_and_keys_are_read_from_the_task():
    assert requested_format(SALE) == "json" and requested_keys(SALE) == ["date", "time", "address"]
    assert requested_format(PRICES) == "table" and requested_keys(PRICES) == ["Item", "Price"]
    assert requested_keys("Extract them as CSV with the header name,role.") == ["name", "role"]
    assert requested_keys('Return JSON with the keys "full name" and phone; use null if absent.') == [
        "full name",
        "phone",
    ]
    assert requested_format("List the volunteers, one per line.") == "list"
    assert requested_format("Copy the sentence that names the volunteers.") is None
    assert normalised("$1,200.00 on MAY 4") == normalised("1200 on May 4.") == "1200 on may 4"


GOOD = [
    (SALE, '{\n  "date": "Saturday, May 4",\n  "time": "9 a.m. to 1 p.m.",\n  "address": "220 Elm Street"\n}'),
    (SALE, '```json\n{\n  "date": "May 4",\n  "time": "9 a.m. to 1 p.m.",\n  "address": "220 Elm Street"\n}\n```'),
    (
        "Extract every item for sale as a JSON list of objects with keys item and price.",
        '[\n  {"item": "tomato seedlings", "price": "$3"},\n  {"item": "herb pots", "price": 5},\n'
        '  {"item": "a bag of compost", "price": 8.5}\n]',
    ),
    (
        "Return a JSON object with keys contact_name, phone, email and website; use null for any value the notice "
        "does not give.",
        '{\n  "contact_name": "Mark Ellis",\n  "phone": "555-0199",\n  "email": "oakridgegarden@example.org",\n'
        '  "website": null\n}',
    ),
    (PRICES, "|Item|Price|\n|---|---|\n|Tomato seedlings|$3 each|\n|herb pots|$5|\n|bag of compost|$8.50|"),
    (
        "Extract the people named in the notice as CSV with the header name,role, where role is volunteer or contact.",
        "name,role\nAna Ruiz,volunteer\nBen Cho,volunteer\nMark Ellis,contact",
    ),
    ("List the names of the two volunteers, one per line.", "- Ana Ruiz\n- Ben Cho"),
    (
        "List every time in the notice with what happens then, one per line in the form 'time: event'.",
        "9 a.m.: the plant sale opens\n11 a.m.: free workshop on composting\n1 p.m.: the plant sale ends",
    ),
    (
        "Copy the sentence that says what the money raised will pay for.",
        "All money raised will go toward a new tool shed, which the garden hopes to build by July.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    view = PairView(NOTICE, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


BAD = [
    (SALE, 'Here is the JSON: {date: "May 4"}', "format_unparsable"),
    (PRICES, "|Item|Price|\n|---|---|\n|herb pots|$5|extra|\n|bag of compost|$8.50|", "format_unparsable"),
    (PRICES, "Tomato seedlings cost $3 and herb pots cost $5.", "format_unparsable"),
    ("List the three items for sale, one per line.", "- tomato seedlings\n- herb pots", "format_unparsable"),
    (
        "List the items for sale, one per line.",
        "tomato seedlings, herb pots, a bag of compost",
        "format_unparsable",
    ),
    (SALE, '{\n  "date": "May 4",\n  "address": "220 Elm Street"\n}', "missing_keys"),
    (PRICES, "|Item|Cost|\n|---|---|\n|herb pots|$5|", "missing_keys"),
    (
        SALE,
        '{\n  "date": "2024-05-04",\n  "time": "9 a.m. to 1 p.m.",\n  "address": "220 Elm Street"\n}',
        "item_not_in_source",
    ),
    ("List the names of the two volunteers, one per line.", "- Ana Ruiz\n- Ben Carter", "item_not_in_source"),
    ("List the items for sale, one per line.", "- tomato seedlings\n- fresh roses", "item_not_in_source"),
    (PRICES, "|Item|Price|\n|---|---|\n|herb pots|$6|\n|bag of compost|$8.50|", "item_not_in_source"),
    ("Write a question about the garden sale.", "What is sold?", "malformed_instruction"),
]


@pytest.mark.parametrize("instruction,response,validator", BAD)
def test_each_validator_catches_its_bad_pair(instruction, response, validator):
    assert validator in validate(PairView(NOTICE, instruction, response), SKILL)


def test_a_copy_of_the_worked_example_is_caught():
    demo = get_skill(SKILL).instruction_types[1].demo_instructions.splitlines()[0]
    assert "58217" in demo
    assert "copies_demo" in validate(PairView(NOTICE, demo, '[\n  {"item": null, "price": null}\n]'), SKILL)
    # A task phrased like the demos but about its own passage is fine.
    own = "Extract every item for sale as a JSON list of objects with keys item and price."
    assert "copies_demo" not in validate(PairView(NOTICE, own, '[\n  {"item": "herb pots", "price": "$5"}\n]'), SKILL)
