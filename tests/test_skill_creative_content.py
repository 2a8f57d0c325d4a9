"""The creative-content skill: its data file loads, its demos pass its validators, the constraints of a request are
read right, its good pairs pass every validator and each validator catches the bad pair written for it (hand-written
pairs on a text other than the skill's demo)."""

import pytest

from agentinstruct.metrics.skills.creative_content import brief_of, line_syllables, rhymes, syllables
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import asks_something, validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "creative_content"
LIGHTHOUSE = (
    "The Skerry Point lighthouse stands on a granite ledge two miles off the coast of Wrenmouth. It was first lit in "
    "1858, and for 129 years three keepers at a time lived in the tower, trimming the lamp and winding the clockwork "
    "that turned its lens. The light was automated in 1987, and the last keeper, Tomas Reilly, rowed ashore that "
    "October. Today the lamp flashes white every 10 seconds and can be seen from 18 nautical miles away. Seals haul "
    "out on the ledge at low tide, and puffins nest on the cliffs facing it from April to July. A small museum in "
    "Wrenmouth keeps the keepers' logbooks, full of storms, passing ships and the price of coal."
)


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "passage_then_instruction"


def test_every_demo_request_states_a_checkable_constraint_and_survives_the_filter():
    skill = get_skill(SKILL)
    requests = [line for kind in skill.instruction_types for line in kind.demo_instructions.splitlines()]
    requests += [goal.demo_revision for goal in skill.refinement_goals] + [q for q, _ in skill.response_demos]
    for request in requests:
        assert asks_something(request) and len(request.split()) >= 4, request
        assert brief_of(request).checkable(), request


def test_the_skill_demos_pass_its_validators():
    skill = get_skill(SKILL)
    for agent in skill.transformations:
        for instruction, response in skill.response_demos:
            failures = validate(PairView(agent.demo_output, instruction, response), SKILL)
            failures.pop("copies_demo", None)  # the demos are the worked example
            assert failures == {}, (agent.name, instruction, failures)


def test_the_constraints_of_a_request_are_read():
    brief = brief_of("Write three slogans for the museum, each no more than eight words, one per line.")
    assert (brief.items, brief.item_max_words, brief.max_words) == (3, 8, None)
    brief = brief_of("Write a free-verse poem in two stanzas of four lines each about the seals, in the first person.")
    assert (brief.stanzas, brief.lines_per_stanza, brief.lines, brief.person) == (2, 4, 8, "first")
    brief = brief_of("Write an advert of 40 to 60 words that includes the words 'seals' and 'puffins'.")
    assert (brief.min_words, brief.max_words, brief.include) == (40, 60, (("seals",), ("puffins",)))
    assert brief_of("Write a letter of no more than 100 words to the museum.").max_words == 100
    assert brief_of("Write a letter of no more than 100 words to the museum.").min_words is None
    assert brief_of("Write a story in under 50 words.").max_words == 49
    assert brief_of("Write an acrostic poem on the word SEALS about the ledge.").acrostic == "SEALS"
    assert brief_of("Write a riddle of three lines ending with 'What am I?'").ending == "What am I?"
    lipogram = brief_of("Write a two-line poem about the seals without using the letter e.")
    assert lipogram.lines == 2 and lipogram.vocabulary and lipogram.include == ()
    assert not brief_of("Write a poem about the lighthouse.").checkable()


def test_syllables_and_rhymes_by_spelling():
    counts = {"apple": 2, "planted": 2, "metres": 2, "kilometres": 4, "hives": 1, "cranked": 1, "agrees": 2}
    assert {word: syllables(word) for word in counts} == counts
    assert [line_syllables(line) for line in ("White light flashes out", "across eighteen miles of sea")] == [5, 7]
    assert rhymes("fall", "wall") and rhymes("shore", "more") and rhymes("Moy", "joy") and rhymes("gate", "late")
    assert not rhymes("light", "sea")


HAIKU = "Write a haiku about the lighthouse lamp, with the word 'flashes' in it."
HAIKU_TEXT = "White light flashes out\nacross eighteen miles of sea\nno keeper's hand now"
STORY = "Write a story of at most 80 words, in the third person, about the last keeper rowing ashore in 1987."
STORY_TEXT = (
    "In October 1987 Tomas Reilly climbed the tower one last time. The lens turned by itself now, with no clockwork "
    "for him to wind. He wrote a final line in the logbook, closed it, and carried it down to the boat. As he rowed "
    "the two miles back to Wrenmouth, he kept looking over his shoulder, where the white light flashed every 10 "
    "seconds, doing his job without him."
)
SLOGANS = "Write three slogans for the Wrenmouth lighthouse museum, each no more than eight words, one per line."
GOOD = [
    (HAIKU, HAIKU_TEXT),
    (
        "Write a limerick about Tomas Reilly, the last keeper, rowing ashore.",
        "When the light was automated one fall,\nTomas Reilly had no lamp left at all,\nso he rowed to the shore,\n"
        "and he kept it no more,\nleaving seals on the ledge by the wall.",
    ),
    (
        "Write an acrostic poem on the word SEALS about the ledge at low tide, one line per letter.",
        "Slick grey bodies haul out on the granite,\nEyes half shut while the tide runs low,\nAbove them the tower "
        "keeps its watch,\nLight sweeping the water every 10 seconds,\nSleeping until the sea comes back for them.",
    ),
    (STORY, STORY_TEXT),
    (
        SLOGANS,
        "Read the storms the keepers lived through.\n129 years of light, in their own words.\nLogbooks, lamps and "
        "the price of coal.",
    ),  # fmt: skip
    (
        "Write a short letter of no more than 100 words from Tomas Reilly to the Wrenmouth museum, offering his "
        "logbook.",
        "Dear museum staff,\n\nFor years I kept the Skerry Point light, and in October 1987 I was the last keeper to "
        "row ashore. I still have my logbook from those final months: gales, ships going past, and what we paid for "
        "coal. I would like it to sit with the others in your collection, where visitors can read it.\n\n"
        "Yours sincerely,\nTomas Reilly",
    ),
    (
        "Write a dialogue of four lines between a puffin and a seal about the lighthouse, in the form 'Name: line'.",
        "Puffin: That tower flashes every 10 seconds, even when nobody lives there.\nSeal: Since 1987 it has needed "
        "no keeper at all.\nPuffin: I only visit from April to July, so I never met one.\nSeal: I did, and he always "
        "waved when I hauled out on the ledge.",
    ),
    (
        "Write a social media post of no more than 200 characters about the puffins on the cliffs, with exactly two "
        "hashtags.",
        "Puffins are back on the cliffs facing Skerry Point until July! Bring binoculars and watch the lighthouse "
        "flash while you wait.\n#SkerryPoint #Puffins",
    ),
    (
        "Write a riddle of three lines whose answer is the lighthouse, ending with 'What am I?'",
        "I stand on a granite ledge with no one inside.\nI wink white across the water every 10 seconds.\n"
        "Ships trust me, though I never sail. What am I?",
    ),
    (
        "Write an advertisement of 40 to 60 words for boat trips to Skerry Point, aimed at families, that includes "
        "the words 'seals' and 'puffins'.",
        "Sail out to Skerry Point, where a lighthouse first lit in 1858 still flashes over the waves! Watch seals "
        "haul out on the granite ledge at low tide, and spot puffins on the cliffs from April to July. Back in "
        "Wrenmouth, the keepers' logbooks tell stories of storms and ships.",
    ),
    (
        "Write a two-line poem about the seals without using the letter e.",
        "On cold rock, fat animals haul out to loll,\nwaiting for a low tidal pull.",
    ),
    # Common words of the worked example's names ("Apple Day") are no copy; "Great ..." opens a piece, not a chat.
    (
        "Write a diary entry of no more than 90 words, in the first person, by the last keeper on his final day.",
        "October 1987. On my last morning I trimmed the lamp out of habit, though the clockwork no longer needs me. I "
        "wrote one more line in the logbook, between the storms and the price of coal. Then I rowed the two miles "
        "to Wrenmouth and did not look back until the light flashed behind me.",
    ),
    (
        "Write a story of exactly three sentences about the seals at low tide.",
        "Great grey seals haul themselves onto the granite ledge as the tide falls. They doze there while the lamp "
        "above them flashes every 10 seconds. When the sea returns, they slip away without a sound.",
    ),
    (
        "Write a poem of exactly six lines, with a title, about the keepers' logbooks.",
        "The Logbooks\n\nThey wrote the weather first, then the ships,\nthe oil, the wick, the price of coal,\n"
        "three men in a granite tower\nkeeping the light and the record both,\nuntil 1987 closed the final page\n"
        "and the lamp went on alone.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    view = PairView(LIGHTHOUSE, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


LONG_STORY = (
    STORY_TEXT + " Back on shore, he sat on the harbour wall until dark and watched the beam sweep the water. Nobody "
    "needed him to trim the wick any more, and he did not know whether to feel relieved or lost."
)
BAD = [
    ("no_creative_form", "Explain in under 50 words why the lighthouse was automated.", STORY_TEXT),
    ("unconstrained", "Write a poem about the lighthouse.", HAIKU_TEXT),
    ("refusal_or_meta", HAIKU, "Sure! Here is a haiku about the lamp:\n" + HAIKU_TEXT),
    ("refusal_or_meta", HAIKU, "I'm sorry, but I can't write a poem about a real lighthouse."),
    ("refusal_or_meta", HAIKU, HAIKU_TEXT + "\nThis haiku captures the loneliness of an empty tower."),
    ("length_wrong", STORY, LONG_STORY),
    (
        "length_wrong",
        "In exactly three sentences, tell the story of the last keeper leaving the tower in 1987.",
        "In October 1987 Tomas Reilly rowed away from the tower. Behind him the light kept flashing.",
    ),
    (
        "length_wrong",
        "Write a social media post of no more than 100 characters about the puffins, with exactly one hashtag.",
        "Puffins are back on the cliffs facing Skerry Point until July! Bring binoculars and watch them. #Puffins",
    ),
    (
        "lines_wrong",
        "Write a poem of exactly six lines about the keepers' logbooks.",
        "They wrote the weather first, then the ships,\nthe oil, the wick, the price of coal,\nuntil 1987 closed the "
        "final page.",
    ),
    (
        "lines_wrong",
        SLOGANS,
        "Read the storms the keepers lived through.\nLogbooks, lamps and the price of coal.\n"
        "See Skerry Point through the eyes of the three keepers who trimmed its lamp.",
    ),
    ("form_broken", HAIKU, "The lamp of Skerry Point flashes white every 10 seconds\nover the sea\nno keeper"),
    (
        "form_broken",
        "Write a limerick about Tomas Reilly, the last keeper, rowing ashore.",
        "When the light was automated in 1987,\nTomas Reilly packed his logbook,\nand rowed to Wrenmouth,\n"
        "two miles over the water,\nleaving the seals on the granite ledge.",
    ),
    (
        "form_broken",
        "Write an acrostic poem on the word SEALS about the ledge at low tide, one line per letter.",
        "Slick grey bodies haul out on the granite,\nEyes half shut while the tide runs low,\nAbove them the tower "
        "keeps its watch,\nWhile the light sweeps the water,\nSleeping until the sea comes back for them.",
    ),
    (
        "form_broken",
        "Write a dialogue of four lines between a puffin and a seal about the lighthouse, in the form 'Name: line'.",
        "The puffin said the tower flashes every 10 seconds.\nThe seal said it had needed no keeper since 1987.\n"
        "The puffin only visits from April to July.\nThe seal remembered the keeper waving.",
    ),
    (
        "form_broken",
        "Write a short letter of no more than 100 words from Tomas Reilly to the Wrenmouth museum, offering his "
        "logbook.",
        "I kept the Skerry Point light until 1987 and would like my logbook to sit with the others in your collection.",
    ),
    (
        "form_broken",
        "Write a riddle of three lines whose answer is the lighthouse, ending with 'What am I?'",
        "I stand on a granite ledge with no one inside.\nI wink white across the water every 10 seconds.\n"
        "Ships trust me, though I never sail.",
    ),
    (
        "form_broken",
        "Write a social media post of no more than 200 characters about the puffins on the cliffs, with exactly two "
        "hashtags.",
        "Puffins are back on the cliffs facing Skerry Point until July! #SkerryPoint",
    ),
    ("missing_words", HAIKU, "White light turning round\nacross eighteen miles of sea\nno keeper's hand now"),
    (
        "vocabulary_limit_broken",
        "Write a two-line poem about the seals without using the letter e.",
        "On the cold granite ledge the grey seals haul out,\nwaiting for the tide.",
    ),
    (
        "point_of_view_wrong",
        STORY,
        "In October 1987 I climbed the tower one last time. The lens turned by itself now. I wrote a final line in the "
        "logbook and rowed the two miles back to Wrenmouth.",
    ),
    (
        "point_of_view_wrong",
        "In exactly two sentences, in the first person, tell how a seal spends low tide on the ledge.",
        "The seal hauls out on the granite ledge at low tide. It sleeps there until the sea returns.",
    ),
    (
        "copies_source",
        "Write a poem of exactly two lines about the lighthouse's history.",
        "It was first lit in 1858, and for 129 years three keepers at a time lived in the tower,\n"
        "trimming the lamp and winding the clockwork that turned its lens.",
    ),
    (
        "ignores_source",
        "Write a haiku about the lighthouse lamp.",
        "Cherry petals fall\non the quiet temple steps\na bell hums softly",
    ),
    (
        "invented_figures",
        "Write an advertisement of 40 to 60 words for boat trips to Skerry Point, aimed at families, that includes "
        "the words 'seals' and 'puffins'.",
        "Sail out to Skerry Point every day at 11 a.m.! Watch seals haul out on the granite ledge at low tide, and "
        "spot puffins on the cliffs from April to July. Tickets cost just $15 for adults, and children under 5 travel "
        "free with a grown-up.",
    ),
    ("malformed_instruction", "Write a poem of exactly three lines about [SUBJECT].", HAIKU_TEXT),
]


@pytest.mark.parametrize("validator,instruction,response", BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)])
def test_each_validator_catches_its_bad_pair(validator, instruction, response):
    assert validator in validate(PairView(LIGHTHOUSE, instruction, response), SKILL)


def test_every_validator_has_a_failing_case():
    tested = {b[0] for b in BAD} | {"copies_demo"}
    assert {v.name for v in get_skill(SKILL).validators} <= tested


def test_a_copy_of_the_worked_example_is_caught():
    demo = get_skill(SKILL).instruction_types[1].demo_instructions.splitlines()[0]
    assert "Agnes Moy" in demo
    assert "copies_demo" in validate(PairView(LIGHTHOUSE, demo, HAIKU_TEXT), SKILL)
