"""The data-to-text skill: its data file loads, its transformations' demos are data, its demos pass its validators,
its good pairs pass every validator and each validator catches the bad pair written for it (hand-written pairs on
data other than the skill's demo)."""

import pytest

from agentinstruct.metrics.skills.data_to_text import (
    NotData,
    asked_coverage,
    figures,
    parse_data,
    unaccounted_figures,
)
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import asks_something, validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "data_to_text"
LIBRARIES = """Millbrook Libraries: loans and visits, 2023

| Branch | Loans | Visits | Opening hours per week | Staff |
|---|---|---|---|---|
| Central | 84,500 | 121,000 | 60 | 14 |
| Eastgate | 31,200 | 48,300 | 40 | 6 |
| Riverside | 22,800 | 30,900 | 32 | 4 |
| Hillcrest | 15,400 | 19,700 | 24 | 3 |

The Hillcrest branch closed for six weeks in March and April for a new roof. The library service's budget for 2023 was \
$2.4 million."""
RACE = """{
  "event": "Lakeside 10K",
  "date": "2024-04-14",
  "results": [
    {"runner": "Maya Chen", "club": "Harbour Striders", "time": "34:12"},
    {"runner": "Tom Okonkwo", "club": "Lakeside AC", "time": "34:40"},
    {"runner": "Ines Duarte", "club": "Hill Harriers", "time": "35:05"}
  ]
}"""
TENT = """Product: Trailhead 2 tent
Weight: 1.9 kg
Sleeps: 2
Packed size: 45 x 15 cm
Price: $249
Colours: green, sand"""
PROSE = (
    "The Millbrook library service runs four branches. Central is the busiest, with 84,500 loans in 2023, and "
    "Hillcrest the quietest, with 15,400, partly because it closed for six weeks for a new roof."
)


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "passage_then_instruction"


def test_every_transformation_demo_is_data_and_every_demo_task_survives_the_filter():
    skill = get_skill(SKILL)
    for agent in skill.transformations:
        data = parse_data(agent.demo_output)
        assert data is not None and len(data.records) >= 2, agent.name
    assert parse_data(skill.demo_passage).kind == "table"
    for kind in skill.instruction_types:
        for line in kind.demo_instructions.splitlines():
            assert asks_something(line) and len(line.split()) >= 4, (kind.name, line)


def test_the_skill_demos_pass_its_validators():
    skill = get_skill(SKILL)
    for instruction, response in skill.response_demos:
        for source in [skill.demo_passage] + [agent.demo_output for agent in skill.transformations]:
            failures = validate(PairView(source, instruction, response), SKILL)
            failures.pop("copies_demo", None)  # the demos are the worked example
            assert failures == {}, (instruction, source[:40], failures)


def test_data_is_read_as_records():
    table = parse_data(LIBRARIES)
    assert table.kind == "table" and table.label == "Branch" and len(table.records) == 4
    assert table.records[1] == {
        "Branch": "Eastgate",
        "Loans": "31,200",
        "Visits": "48,300",
        "Opening hours per week": "40",
        "Staff": "6",
    }
    race = parse_data(RACE)
    assert race.kind == "json" and race.label == "runner" and [r["club"] for r in race.records][0] == "Harbour Striders"
    tent = parse_data(TENT)
    assert tent.kind == "key_value" and len(tent.records) == 1 and tent.records[0]["Price"] == "$249"
    assert parse_data(PROSE) is None
    with pytest.raises(NotData):
        parse_data(LIBRARIES.replace("| Riverside | 22,800 |", "| Riverside | 22,800 | 7 |"))


def test_the_task_says_what_to_cover():
    table = parse_data(LIBRARIES)
    every = asked_coverage("Write a short paragraph that summarizes loans at every branch in 2023.", table)
    assert every.targeted and every.rows == (0, 1, 2, 3) and every.fields == ("Loans",)
    named = asked_coverage("Compare loans and staff at Central and Eastgate in two sentences.", table)
    assert named.rows == (0, 1) and named.fields == ("Loans", "Staff")
    assert not asked_coverage("Write three bullet points about the libraries.", table).targeted


def test_figures_and_derived_figures():
    assert [f.value for f in figures("about 52,000 riders, $1.2 million, 27% and 3.5 per cent")] == [
        52000,
        1_200_000,
        27,
        3.5,
    ]
    table = parse_data(LIBRARIES)
    # A difference, a total, a share of the total (rounded), and a figure that follows from a derived one.
    said = "Central made 53,300 more loans than Eastgate. Visits totalled 219,900, 55% of them at Central; 219,900 - "
    assert unaccounted_figures(said + "121,000 = 98,900.", LIBRARIES, table) == []
    # A derived figure must be anchored: the text states its operands or mentions their records.
    assert [f.text for f in unaccounted_figures("Central made 53,300 more loans.", LIBRARIES, table)] == ["53,300"]
    assert [f.text for f in unaccounted_figures("Central made 85,000 loans and 61% of visits.", LIBRARIES, table)] == [
        "85,000",
        "61%",
    ]


GOOD = [
    (
        LIBRARIES,
        "Write a short paragraph that summarizes loans at every branch in 2023.",
        "In 2023 Central was by far the busiest of Millbrook's four library branches, with 84,500 loans. Eastgate "
        "followed with 31,200 and Riverside with 22,800, while Hillcrest, which closed for six weeks in March and "
        "April for a new roof, recorded 15,400 loans.",
    ),
    (
        LIBRARIES,
        "Compare loans at Central and Eastgate, saying how many more loans Central made.",
        "Central made 84,500 loans in 2023 and Eastgate 31,200, so Central made 53,300 more, well over twice as many.",
    ),
    (
        LIBRARIES,
        "Write two sentences on what share of all visits in 2023 went to the Central branch.",
        "The four branches recorded 219,900 visits in 2023, and 121,000 of them were at Central. That is about 55% of "
        "all visits.",
    ),
    (
        LIBRARIES,
        "Write a caption, in one sentence, for a bar chart of visits to each branch in 2023.",
        "Visits to Millbrook's four library branches in 2023, from 121,000 at Central to 19,700 at Hillcrest.",
    ),
    (
        LIBRARIES,
        "In one sentence, name the branch with the fewest opening hours per week and give its hours.",
        "Hillcrest has the fewest opening hours, just 24 a week.",
    ),
    (
        LIBRARIES,
        "Write a short email from the head of libraries to the council reporting the loans and staff of the Riverside "
        "branch.",
        "Subject: Riverside branch in 2023\n\nDear councillors,\n\nThe Riverside branch made 22,800 loans in 2023 with "
        "a staff of 4, open 32 hours a week.\n\nBest regards,\nHead of libraries",
    ),
    (  # "company" is a word of the worked example's names, but no copy of it
        LIBRARIES,
        "Write a short email to the company that runs the libraries, reporting the loans of every branch.",
        "Dear team,\n\nIn 2023 Central made 84,500 loans, Eastgate 31,200, Riverside 22,800 and Hillcrest 15,400.\n\n"
        "Best regards,\nHead of libraries",
    ),
    (
        LIBRARIES,
        "Give three bullet points of highlights from the library data, each a full sentence with its figures.",
        "- Central was the busiest branch, with 84,500 loans and 121,000 visits.\n"
        "- Central made more loans than the other three branches together, which made 69,400.\n"
        "- Hillcrest made 15,400 loans in 2023 despite closing for six weeks for a new roof.",
    ),
    (
        LIBRARIES,
        "Write a short news item with a headline about the Hillcrest branch, giving its loans and visits.",
        "Hillcrest Stays Busy Despite Roof Closure\n\nThe Hillcrest library made 15,400 loans and welcomed 19,700 "
        "visits in 2023, even though it closed for six weeks in March and April for a new roof.",
    ),
    (
        RACE,
        "Write a short news paragraph reporting the top three finishers of the Lakeside 10K with their clubs and "
        "times.",
        "Maya Chen of Harbour Striders won the Lakeside 10K on 14 April 2024 in 34:12. Tom Okonkwo of Lakeside AC was "
        "second in 34:40, and Ines Duarte of Hill Harriers took third in 35:05.",
    ),
    (
        TENT,
        "Write a product description of about 50 words for the tent's online shop page, giving its weight and price.",
        "The Trailhead 2 tent sleeps 2 and weighs just 1.9 kg, so it will not slow you down on the trail. It packs "
        "down to 45 x 15 cm and comes in green or sand. At $249, it is a light, simple shelter for weekend trips.",
    ),
]


@pytest.mark.parametrize("passage,instruction,response", GOOD)
def test_good_pairs_pass_every_validator(passage, instruction, response):
    view = PairView(passage, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


SUMMARY = "Write a short paragraph that summarizes loans at every branch in 2023."
SUMMARY_TEXT = GOOD[0][2]
BAD = [
    ("source_not_structured", PROSE, "Write a short paragraph that summarizes the library loans.", SUMMARY_TEXT),
    (
        "source_not_structured",
        LIBRARIES.replace("| Riverside | 22,800 |", "| Riverside | 22,800 | 7 |"),
        SUMMARY,
        SUMMARY_TEXT,
    ),
    ("no_writing_task", LIBRARIES, "How many loans did Central make in 2023?", "84,500."),
    (
        "no_writing_task",
        LIBRARIES,
        "Rewrite the loans of each branch as a table with columns Branch and Loans.",
        "|Branch|Loans|\n|---|---|\n|Central|84,500|\n|Eastgate|31,200|\n|Riverside|22,800|\n|Hillcrest|15,400|",
    ),
    (
        "not_prose",
        LIBRARIES,
        SUMMARY,
        "| Branch | Loans |\n|---|---|\n| Central | 84,500 |\n| Eastgate | 31,200 |\n| Riverside | 22,800 |\n"
        "| Hillcrest | 15,400 |",
    ),
    (
        "not_prose",
        LIBRARIES,
        SUMMARY,
        '{"Central": 84500, "Eastgate": 31200, "Riverside": 22800, "Hillcrest": 15400}',
    ),
    (
        "not_prose",
        LIBRARIES,
        SUMMARY,
        "Central loans: 84,500\nEastgate loans: 31,200\nRiverside loans: 22,800\nHillcrest loans: 15,400",
    ),
    (
        "not_prose",
        LIBRARIES,
        SUMMARY,
        "- Central, 84,500\n- Eastgate, 31,200\n- Riverside, 22,800\n- Hillcrest, 15,400",
    ),
    (
        "form_wrong",
        LIBRARIES,
        "Give three bullet points of highlights from the library data, each a full sentence with its figures.",
        "- Central was the busiest branch, with 84,500 loans and 121,000 visits.\n"
        "- Hillcrest made 15,400 loans despite closing for six weeks.",
    ),
    (
        "form_wrong",
        LIBRARIES,
        "Summarize the loans of every branch in one paragraph.",
        "Central made 84,500 loans and Eastgate 31,200.\n\nRiverside made 22,800 loans and Hillcrest 15,400.",
    ),
    (
        "form_wrong",
        LIBRARIES,
        "Write a short news item with a headline about the Hillcrest branch, giving its loans and visits.",
        "The Hillcrest library made 15,400 loans and welcomed 19,700 visits in 2023, even though it closed for six "
        "weeks in March and April for a new roof.",
    ),
    (
        "constraint_violated",
        LIBRARIES,
        "In one sentence, name the branch with the fewest opening hours per week and give its hours.",
        "Hillcrest has the fewest opening hours. It opens just 24 hours a week.",
    ),
    (
        "missing_data",
        LIBRARIES,
        "Write a short paragraph that summarizes the library data for the council.",
        "Central was the busiest branch in 2023, with 84,500 loans and 121,000 visits.",
    ),
    (
        "missing_data",
        LIBRARIES,
        SUMMARY,
        "In 2023 Central made 84,500 loans, Eastgate 31,200 and Riverside 22,800, while Hillcrest closed for six weeks "
        "for a new roof.",
    ),
    (
        "missing_data",
        LIBRARIES,
        "Write a short email from the head of libraries to the council reporting the loans and staff of the Riverside "
        "branch.",
        "Subject: Riverside\n\nDear councillors,\n\nThe Riverside branch made 22,800 loans in 2023.\n\nBest regards,\n"
        "Head of libraries",
    ),
    (
        "wrong_extreme",
        LIBRARIES,
        "In one sentence, name the branch with the fewest opening hours per week and give its hours.",
        "Riverside has the fewest opening hours, just 32 a week.",
    ),
    (
        "invented_value",
        LIBRARIES,
        SUMMARY,
        "In 2023 Central made 85,000 loans, Eastgate 31,200, Riverside 22,800 and Hillcrest 15,400.",
    ),
    (
        "invented_value",
        LIBRARIES,
        SUMMARY,
        "Under head librarian Sarah Okafor, Central made 84,500 loans in 2023, Eastgate 31,200, Riverside 22,800 and "
        "Hillcrest 15,400.",
    ),
    (
        "invented_value",
        LIBRARIES,
        "Compare loans at Central and Eastgate, saying how many more loans Central made.",
        "Central made 84,500 loans in 2023 and Eastgate 31,200, so Central made 52,300 more.",
    ),
    (
        "bad_arithmetic",
        LIBRARIES,
        "Compare loans at Central and Eastgate, saying how many more loans Central made.",
        "Central made 84,500 loans and Eastgate 31,200, so Central made 52,300 more (84,500 - 31,200 = 52,300).",
    ),
    (
        "malformed_instruction",
        LIBRARIES,
        "Write a short summary of the [TOPIC] data for the council.",
        SUMMARY_TEXT,
    ),
]


@pytest.mark.parametrize("validator,passage,instruction,response", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_each_validator_catches_its_bad_pair(validator, passage, instruction, response):
    assert validator in validate(PairView(passage, instruction, response), SKILL)


def test_every_validator_has_a_failing_case():
    tested = {b[0] for b in BAD} | {"copies_demo"}
    assert {v.name for v in get_skill(SKILL).validators} <= tested


def test_a_copy_of_the_worked_example_is_caught():
    demo = get_skill(SKILL).instruction_types[3].demo_instructions.splitlines()[0]
    assert "Gull Island" in demo
    assert "copies_demo" in validate(PairView(LIBRARIES, demo, SUMMARY_TEXT), SKILL)
