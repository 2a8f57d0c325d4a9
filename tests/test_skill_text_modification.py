"""The text-modification skill: its data file loads, its demos are usable, and each of its validators passes faithful
rewrites and fails the rewrite it exists to catch (hand-written pairs on texts other than the skill's demo)."""

import re

import pytest

from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import asks_something, validate
from agentinstruct.programs.skills import get_skill

SKILL = "text_modification"

FESTIVAL = (
    "The Riverside Music Festival returns to Alder Park on 7/19/2024 for two days of free concerts. Organizer Omar "
    "Reyes says 30 bands will play on three stages, and he expects about 8,000 visitors. Gates open at 4 p.m. on "
    "Friday and at noon on Saturday. Food trucks will line the north lawn, and a shuttle will run every 15 minutes "
    "from "
    "the Main Street station. Last year, heavy rain closed the park early, so this year the stages will have roofs. "
    "Volunteers can sign up until June 30. For questions, call 555-0199 or email info@riversidefest.example."
)
BRIDGE = (
    "The city of Dunmore will close the Elm Road bridge for repairs from April 2 to May 30. Engineers found cracks "
    "in two of its steel beams during an inspection last fall. Drivers will be sent along Mill Street, which adds "
    "about "
    "ten minutes to the trip downtown. Buses will keep their usual stops, but route 7 will run every 20 minutes "
    "instead "
    "of every 15. The repairs will cost $1.2 million, paid from the state's road fund."
)
CLINIC = (
    "Starting Monday, the Oakfield clinic will take walk-in patients only in the mornings, from 8 to 11. Afternoons "
    "will be kept for booked visits, because waiting times had grown to over two hours. Patients can book by phone "
    "or through the clinic's website. Dr. Amira Haddad, who runs the clinic, said the change should cut waits in half."
)

# Faithful rewrites, at least one per instruction type, written by hand for this test.
GOOD = [
    (
        "paraphrasing",
        BRIDGE,
        "Paraphrase the text in your own words, keeping every name and number.",
        "Dunmore is shutting the Elm Road bridge between April 2 and May 30 so it can be fixed, after an autumn "
        "inspection turned up cracks in two steel beams. Cars will be detoured via Mill Street, making the drive into "
        "town roughly ten minutes longer. Bus stops stay the same, although route 7 will come every 20 minutes rather "
        "than every 15. The state road fund will cover the $1.2 million bill.",
    ),
    (
        "paraphrasing (one sentence)",
        CLINIC,
        "Rephrase the sentence about the afternoons so that it uses different words but means the same thing.",
        "Afternoon slots will be for appointments only, as patients had been waiting more than two hours.",
    ),
    (
        "simplification",
        FESTIVAL,
        "Simplify the text for a child, in no more than 50 words.",
        "A free music festival comes back to Alder Park on 7/19/2024. 30 bands will play. The gates open at 4 p.m. "
        "on Friday and at noon on Saturday. There will be food trucks and a shuttle bus. The stages will have roofs "
        "in case it rains.",
    ),
    (
        "expansion",
        CLINIC,
        "Expand the text into a longer notice for patients that explains how to book a visit.",
        "Important news for patients of the Oakfield clinic. Starting Monday, the clinic will take walk-in patients "
        "only in the mornings, from 8 to 11. If you come without a booking, please arrive in that window. The "
        "afternoons will be kept for booked visits. We are making this change because waiting times had grown to over "
        "two hours, which is too long for anyone who feels unwell. Booking is simple: you can book by phone, or you "
        "can "
        "book through the clinic's website at any time of day. Dr. Amira Haddad, who runs the clinic, said the change "
        "should cut waits in half. Thank you for your patience while we make the clinic work better for everyone.",
    ),
    (
        "translation",
        FESTIVAL,
        "Translate the first two sentences of the text into Spanish.",
        "El Riverside Music Festival vuelve a Alder Park el 7/19/2024 con dos días de conciertos gratuitos. El "
        "organizador, Omar Reyes, dice que 30 bandas tocarán en tres escenarios y espera unos 8,000 visitantes.",
    ),
    (
        "formatting (bullets)",
        BRIDGE,
        "Convert the text into a bulleted list with one fact per bullet.",
        "- The Elm Road bridge in Dunmore closes for repairs from April 2 to May 30.\n"
        "- Engineers found cracks in two steel beams last fall.\n"
        "- Drivers will use Mill Street, about ten minutes longer.\n"
        "- Buses keep their stops; route 7 runs every 20 minutes instead of 15.\n"
        "- The repairs cost $1.2 million from the state's road fund.",
    ),
    (
        "formatting (json)",
        FESTIVAL,
        "Give the festival's key figures as a JSON object with keys bands, stages, visitors and shuttle_minutes.",
        '```json\n{"bands": 30, "stages": 3, "visitors": 8000, "shuttle_minutes": 15}\n```',
    ),
    (
        "formatting (table)",
        BRIDGE,
        "Put the bridge's key numbers into a Markdown table with two columns, Item and Value.",
        "| Item | Value |\n|---|---|\n| Cracked beams | 2 |\n| Extra minutes by Mill Street | 10 |\n"
        "| Route 7 interval (minutes) | 20 |\n| Cost | $1.2 million |",
    ),
    (
        "sentiment_modification",
        CLINIC,
        "Rewrite the text so that it sounds warm and reassuring, keeping every fact.",
        "Good news for patients: starting Monday, the Oakfield clinic will welcome walk-in patients every morning from "
        "8 to 11. Afternoons are now set aside for booked visits, because waits had grown to over two hours and we "
        "want "
        "to do better. Booking is easy by phone or on the clinic's website. Dr. Amira Haddad, who runs the clinic, is "
        "confident the change will cut waits in half.",
    ),
    (
        "annotation",
        CLINIC,
        "Rewrite the text, adding [TIME] in square brackets after every time of day it mentions.",
        "Starting Monday, the Oakfield clinic will take walk-in patients only in the mornings, from 8 [TIME] to 11 "
        "[TIME]. Afternoons will be kept for booked visits, because waiting times had grown to over two hours. "
        "Patients "
        "can book by phone or through the clinic's website. Dr. Amira Haddad, who runs the clinic, said the change "
        "should cut waits in half.",
    ),
    (
        "keyword_replacement",
        FESTIVAL,
        "Rewrite the first three sentences, replacing 'bands' with 'groups' and 'visitors' with 'guests'.",
        "The Riverside Music Festival returns to Alder Park on 7/19/2024 for two days of free concerts. Organizer Omar "
        "Reyes says 30 groups will play on three stages, and he expects about 8,000 guests. Gates open at 4 p.m. on "
        "Friday and at noon on Saturday.",
    ),
    (
        "removal",
        BRIDGE,
        "Rewrite the text without the sentence about the buses.",
        "The city of Dunmore will close the Elm Road bridge for repairs from April 2 to May 30. Engineers found cracks "
        "in two of its steel beams during an inspection last fall. Drivers will be sent along Mill Street, which adds "
        "about ten minutes to the trip downtown. The repairs will cost $1.2 million, paid from the state's road fund.",
    ),
    (
        "capitalization (upper)",
        CLINIC,
        "Rewrite the text in all capital letters.",
        CLINIC.upper(),
    ),
    (
        "capitalization (title)",
        "the night the river froze over",
        "Rewrite the title in title case.",
        "The Night the River Froze Over",
    ),
    (
        "capitalization (lower, partial)",
        CLINIC,
        "Rewrite the text in lowercase letters, except for people's names.",
        CLINIC.lower().replace("amira haddad", "Amira Haddad"),
    ),
    (
        "styling (bold)",
        BRIDGE,
        "Rewrite the first two sentences with every number in bold Markdown, such as **7**.",
        "The city of Dunmore will close the Elm Road bridge for repairs from April **2** to May **30**. Engineers "
        "found "
        "cracks in **two** of its steel beams during an inspection last fall.",
    ),
    (
        "styling (voice)",
        CLINIC,
        "Rewrite the text in a bold, confident voice, as a radio announcer would read it.",
        "Listen up, Oakfield! From Monday, the clinic takes walk-in patients in the mornings only, 8 to 11. Afternoons "
        "belong to booked visits, because waits had climbed past two hours. Book by phone or on the clinic's website. "
        "Dr. Amira Haddad, who runs the place, says waits will drop by half!",
    ),
    (
        "content_rewriting",
        CLINIC,
        "Rewrite the text as a first-person notice by Dr. Amira Haddad.",
        "Dear patients, starting Monday, our clinic will take walk-in patients only in the mornings, from 8 to 11. I "
        "am keeping the afternoons for booked visits, because waiting times had grown to over two hours. You can book "
        "by phone or through our website. I expect this change to cut your waits in half.\nDr. Amira Haddad",
    ),
    (
        "data_normalization (dates)",
        FESTIVAL,
        "Rewrite the text with every date in the format YYYY-MM-DD.",
        FESTIVAL.replace("7/19/2024", "2024-07-19").replace("June 30", "2024-06-30"),
    ),
    (
        "data_normalization (times, money)",
        BRIDGE,
        "Rewrite the text with every amount of money written as USD, such as USD 500.",
        BRIDGE.replace("$1.2 million", "USD 1.2 million"),
    ),
    (
        "data_normalization (24-hour)",
        FESTIVAL,
        "Rewrite the sentence about the gates with every time in 24-hour format.",
        "Gates open at 16:00 on Friday and at 12:00 on Saturday.",
    ),
    (
        "plagiarism_rewording",
        BRIDGE,
        "Rewrite the text in your own words so that no phrase of more than four words is copied from it.",
        "Repairs will keep Dunmore's Elm Road bridge shut from April 2 until May 30. Last autumn, inspectors "
        "discovered that two steel beams had cracked. Motorists must detour via Mill Street, a trip roughly ten "
        "minutes "
        "longer into the center. Bus stops stay where they are, though route 7 buses will come every 20 minutes, not "
        "every 15. The state road fund pays the $1.2 million bill.",
    ),
    (
        "code_switching",
        CLINIC,
        "Rewrite the text in Spanglish, as a bilingual patient would tell it to a friend.",
        "Oye, starting Monday la clínica de Oakfield only takes walk-ins por la mañana, from 8 to 11. Las tardes are "
        "for booked visits, porque la espera was over two hours. You can book por teléfono or on the website. La "
        "doctora Amira Haddad says the waits will be cut in half.",
    ),
    (
        "obfuscation (names)",
        CLINIC,
        "Rewrite the text, replacing the name Amira Haddad with [NAME].",
        CLINIC.replace("Amira Haddad", "[NAME]"),
    ),
    (
        "obfuscation (contacts)",
        FESTIVAL,
        "Rewrite the last sentence with the phone number replaced by [PHONE] and the email address replaced by "
        "[EMAIL].",
        "For questions, call [PHONE] or email [EMAIL].",
    ),
    (
        "obfuscation (digits)",
        BRIDGE,
        "Rewrite the text with every digit replaced by X.",
        re.sub(r"\d", "X", BRIDGE),
    ),
    (
        "removal (contacts)",
        FESTIVAL,
        "Rewrite the text with the phone number and email address removed.",
        FESTIVAL.replace(" For questions, call 555-0199 or email info@riversidefest.example.", ""),
    ),
    (
        "textual_entailment",
        BRIDGE,
        'Does the text entail the statement "The repairs take more than a month"? Answer with entailment, '
        "contradiction or neutral, then give one reason.",
        "Entailment. The bridge is closed for repairs from April 2 to May 30, which is nearly two months.",
    ),
    (
        "vocabulary_limited_rewriting (letter)",
        CLINIC,
        "Rewrite the sentence about booking without using the letter e.",
        "Book a visit by phoning, or do it on our clinic's Wi-Fi portal.",
    ),
    (
        "vocabulary_limited_rewriting (word length)",
        BRIDGE,
        "Rewrite the sentence about the drivers using only words of at most six letters.",
        "Cars will go by Mill Street, which adds about ten mins to the trip to town.",
    ),
    (
        "vocabulary_limited_rewriting (words)",
        BRIDGE,
        "Rewrite the text without the words 'bridge' or 'repairs', keeping every fact.",
        "The city of Dunmore will shut the Elm Road crossing so it can be fixed, from April 2 to May 30. Engineers "
        "found cracks in two of its steel beams during an inspection last fall. Drivers will be sent along Mill "
        "Street, which adds about ten minutes to the trip downtown. Buses will keep their usual stops, but route 7 "
        "will "
        "run every 20 minutes instead of every 15. The work will cost $1.2 million, paid from the state's road fund.",
    ),
    (
        "removal with 'without changing'",
        FESTIVAL,
        "Rewrite the text without changing any numbers, removing the sentence about last year's rain.",
        FESTIVAL.replace(" Last year, heavy rain closed the park early, so this year the stages will have roofs.", ""),
    ),
]

GOOD += [
    (
        "formatting (compact table)",
        FESTIVAL,
        "Put the opening times into a Markdown table with two columns, Day and Gates open.",
        "| Day | Gates open |\n|---|---|\n| Friday | 4 p.m. |\n| Saturday | noon |",
    ),
    (
        "formatting (bounded bullets)",
        BRIDGE,
        "Summarize the text as a bulleted list of no more than four bullets.",
        "- Elm Road bridge closed April 2 to May 30.\n- Two cracked steel beams.\n- Detour by Mill Street.\n"
        "- Cost: $1.2 million.",
    ),
    (
        "formatting (plain table)",
        BRIDGE,
        "Put the bridge's key numbers into a table.",
        "Item\tValue\nCracked beams\t2\nCost\t$1.2 million",
    ),
]

# Rewrites that break what one validator checks: (validator, passage, request, rewrite).
BAD = [
    ("unchanged", CLINIC, "Rewrite the text so that it sounds more cheerful.", f'"{CLINIC}"'),
    (
        "adds_commentary",
        CLINIC,
        "Rewrite the text so that it sounds more cheerful.",
        "Sure! Here is the rewritten text:\nGreat news: from Monday the Oakfield clinic welcomes walk-ins each "
        "morning, from 8 to 11!",
    ),
    (
        "adds_commentary",
        CLINIC,
        "Rewrite the text so that it sounds more cheerful.",
        "Great news: from Monday the Oakfield clinic welcomes walk-ins each morning, from 8 to 11!\nI hope this helps!",
    ),
    ("capitalization_ignored", CLINIC, "Rewrite the text in all capital letters.", CLINIC.replace("Monday", "MONDAY")),
    ("capitalization_ignored", CLINIC, "Rewrite the text in lowercase letters.", CLINIC.title()),
    (
        "capitalization_ignored",
        "the night the river froze over",
        "Rewrite it in title case.",
        "The night the river froze over",
    ),
    (
        "vocabulary_limit_broken",
        CLINIC,
        "Rewrite the sentence about booking without using the letter e.",
        "Patients can book by phone or on the website.",
    ),
    (
        "vocabulary_limit_broken",
        BRIDGE,
        "Rewrite the sentence about the drivers using only words of at most six letters.",
        "Drivers will be sent along Mill Street, which adds about ten minutes to the trip downtown.",
    ),
    (
        "vocabulary_limit_broken",
        BRIDGE,
        "Rewrite the text without the words 'bridge' or 'repairs'.",
        "Dunmore will close the Elm Road bridge from April 2 to May 30 to fix two cracked beams.",
    ),
    (
        "redaction_incomplete",
        FESTIVAL,
        "Rewrite the text with the phone number and email address removed.",
        FESTIVAL.replace(" or email info@riversidefest.example", ""),
    ),
    (
        "redaction_incomplete",
        CLINIC,
        "Rewrite the text, replacing the name Amira Haddad with [NAME].",
        CLINIC.replace("Dr. Amira Haddad, who runs the clinic,", "[NAME], who runs the clinic, and Amira Haddad"),
    ),
    ("redaction_incomplete", BRIDGE, "Rewrite the text with every digit replaced by X.", BRIDGE.replace("2", "X")),
    (
        "placeholder_unused",
        CLINIC,
        "Rewrite the text, replacing the name Amira Haddad with [NAME].",
        CLINIC.replace("Amira Haddad", "the head doctor"),
    ),
    (
        "keyword_not_replaced",
        FESTIVAL,
        "Rewrite the text, replacing 'bands' with 'groups' and 'visitors' with 'guests'.",
        FESTIVAL.replace("bands", "groups"),
    ),
    (
        "keyword_not_replaced",
        FESTIVAL,
        "Rewrite the text, replacing 'tickets' with 'passes'.",
        FESTIVAL.replace("free concerts", "free shows"),
    ),
    (
        "format_not_followed",
        BRIDGE,
        "Convert the text into a bulleted list with one fact per bullet.",
        "The bridge closes from April 2 to May 30. Two beams are cracked. Drivers use Mill Street.",
    ),
    (
        "format_not_followed",
        FESTIVAL,
        "Give the festival's key figures as a JSON object with keys bands, stages, visitors and shuttle_minutes.",
        "{bands: 30, stages: 3, visitors: 8000, shuttle_minutes: 15}",
    ),
    (
        "format_not_followed",
        FESTIVAL,
        "Give the festival's key figures as a JSON object with keys bands, stages, visitors and shuttle_minutes.",
        '{"bands": 30, "stages": 3, "visitors": 8000}',
    ),
    (
        "format_not_followed",
        BRIDGE,
        "Put the bridge's key numbers into a Markdown table with two columns, Item and Value.",
        "| Item | Value | Note |\n|---|---|---|\n| Cracked beams | 2 | steel |\n| Cost | $1.2 million | state |",
    ),
    (
        "format_not_followed",
        BRIDGE,
        "Rewrite the first two sentences with every number in bold Markdown, such as **7**.",
        "The city of Dunmore will close the Elm Road bridge for repairs from April 2 to May 30. Engineers found "
        "cracks in two of its steel beams during an inspection last fall.",
    ),
    (
        "length_wrong",
        CLINIC,
        "Simplify the text for a child, in no more than 30 words.",
        "From Monday, you can walk in to the Oakfield clinic only in the morning, from 8 to 11. In the afternoon you "
        "need to book first, because people were waiting too long.",
    ),
    (
        "length_wrong",
        BRIDGE,
        "Expand the text into a longer news article.",
        "Dunmore closes the Elm Road bridge from April 2 to May 30 to fix cracked beams; drivers will use Mill Street.",
    ),
    (
        "length_wrong",
        BRIDGE,
        "Rewrite the text without the sentence about the buses.",
        BRIDGE.replace("Buses will keep", "City buses will keep"),
    ),
    (
        "normalization_incomplete",
        FESTIVAL,
        "Rewrite the text with every date in the format YYYY-MM-DD.",
        FESTIVAL.replace("7/19/2024", "2024-07-19"),
    ),
    (
        "normalization_incomplete",
        FESTIVAL,
        "Rewrite the sentence about the gates with every time in 24-hour format.",
        "Gates open at 4 p.m. on Friday and at 12:00 on Saturday.",
    ),
    (
        "normalization_incomplete",
        BRIDGE,
        "Rewrite the text with every amount of money written as USD, such as USD 500.",
        BRIDGE.replace("Dunmore", "Dunmore, USA,"),
    ),
    (
        "not_translated",
        FESTIVAL,
        "Translate the first two sentences of the text into Spanish.",
        "The Riverside Music Festival comes back to Alder Park on 7/19/2024 with two days of free shows.",
    ),
    (
        "label_not_offered",
        BRIDGE,
        'Does the text entail the statement "The repairs take more than a month"? Answer with entailment, '
        "contradiction or neutral, then give one reason.",
        "The bridge is closed from April 2 to May 30, so the repairs last nearly two months.",
    ),
    (
        "too_close_to_source",
        BRIDGE,
        "Paraphrase the text in your own words.",
        BRIDGE.replace("close", "shut").replace("found", "discovered").replace("usual", "normal"),
    ),
    (
        "too_close_to_source",
        BRIDGE,
        "Rewrite the text in your own words so that no phrase of more than four words is copied from it.",
        "Repairs will keep Dunmore's Elm Road bridge shut from April 2 until May 30. Engineers found cracks in two of "
        "its steel beams. Motorists must detour via Mill Street.",
    ),
    (
        "copies_demo",
        CLINIC,
        "Rewrite Lena's quote about bakers and flour without using the letter e.",
        "Finding a good baking pro is tough; finding good flour is not as hard.",
    ),
    (
        "format_not_followed",
        BRIDGE,
        "Summarize the text as a bulleted list of no more than three bullets.",
        "- Elm Road bridge closed April 2 to May 30.\n- Two cracked steel beams.\n- Detour by Mill Street.\n"
        "- Cost: $1.2 million.",
    ),
    (
        "length_wrong",
        BRIDGE,
        "Rewrite the text for a radio bulletin using no more than 20 words.",
        "Dunmore's Elm Road bridge closes from April 2 to May 30 for repairs to two cracked beams; drivers should use "
        "Mill Street.",
    ),
    (
        "meaning_changed",
        BRIDGE,
        "Paraphrase the text in your own words.",
        "Dunmore's Elm Road bridge opened to traffic in 1965 and was widened in 1990. It carries about 12,000 cars a "
        "day across the river and is one of the town's best known landmarks, often painted by local artists.",
    ),
    (
        "meaning_changed",
        CLINIC,
        "Rephrase the sentence about the afternoons in different words.",
        "The Oakfield football team won its third match in a row on Saturday, thanks to two late goals.",
    ),
]


def _skill_failures(passage: str, instruction: str, response: str) -> dict[str, str]:
    view = PairView(passage, instruction, response)
    own = {v.name for v in get_skill(SKILL).validators}
    return {name: reason for name, reason in validate(view, SKILL).items() if name in own}


def test_data_file_loads_with_the_papers_taxonomy():
    skill = get_skill(SKILL)
    assert skill.user_turn.name == "passage_then_instruction"
    assert len(skill.transformations) >= 3 and "identity" in {t.name for t in skill.transformations}
    assert len(skill.instruction_types) == 18
    assert {"paraphrasing", "translation", "obfuscation", "textual_entailment", "vocabulary_limited_rewriting"} <= {
        t.name for t in skill.instruction_types
    }
    assert len(skill.refinement_goals) >= 2


def test_every_demo_instruction_survives_the_instruction_filter():
    for kind in get_skill(SKILL).instruction_types:
        for line in kind.demo_instructions.splitlines():
            assert asks_something(line) and len(line.split()) >= 4, (kind.name, line)


def test_response_demos_pass_the_skills_validators():
    skill = get_skill(SKILL)
    for instruction, response in skill.response_demos:
        failures = _skill_failures(skill.demo_passage, instruction, response)
        failures.pop("copies_demo", None)  # the demo passage is the demo
        assert not failures, (instruction, failures)


@pytest.mark.parametrize(("label", "passage", "instruction", "response"), GOOD, ids=[g[0] for g in GOOD])
def test_faithful_rewrites_pass(label, passage, instruction, response):
    assert not _skill_failures(passage, instruction, response)
    assert validate(PairView(passage, instruction, response), SKILL) == {}


@pytest.mark.parametrize(
    ("name", "passage", "instruction", "response"), BAD, ids=[f"{b[0]}-{i}" for i, b in enumerate(BAD)]
)
def test_each_validator_catches_its_failure(name, passage, instruction, response):
    assert name in validate(PairView(passage, instruction, response), SKILL)


def test_every_validator_has_a_failing_case():
    assert {v.name for v in get_skill(SKILL).validators} <= {b[0] for b in BAD}


def test_a_rewrite_of_the_demo_text_copies_the_demo():
    skill = get_skill(SKILL)
    view = PairView(skill.demo_passage, "Rewrite the text in all capital letters.", skill.demo_passage.upper())
    assert "copies_demo" in validate(view, SKILL)


@pytest.mark.parametrize(
    ("instruction", "response"),
    [
        # "bold" as a manner of speaking asks for no Markdown.
        ("Rewrite the text in a bold, confident voice.", "Listen up: the bridge closes April 2 to May 30!"),
        # Targets the request keeps are not redacted.
        ("Rewrite the text without changing any numbers, in a calmer tone.", "Please note: from April 2 to May 30."),
        # A neutral tone is not an entailment label set.
        ("Rewrite the text in a neutral tone without contradicting it.", "The bridge closes from April 2 to May 30."),
        # Shorter sentences need not make a shorter text.
        ("Rewrite the text with shorter sentences.", BRIDGE.replace(", which", ". This").replace(", but", ". But")),
        # Capital letters for a part of the text are not checked against the whole.
        ("Rewrite only the first sentence in capital letters.", BRIDGE.replace(BRIDGE[:87], BRIDGE[:87].upper())),
        # Translation into English is not checked for English words, nor a part translated inside the whole text.
        ("Translate the text into English.", BRIDGE.replace("close", "shut")),
        (
            "Translate only the first sentence into French, leaving the rest in English.",
            BRIDGE.replace(BRIDGE[:87], "La ville de Dunmore fermera le pont d'Elm Road du 2 avril au 30 mai. "),
        ),
        # Expanding abbreviations is not expanding the text.
        ("Expand the abbreviations in the text.", BRIDGE.replace("$1.2 million", "1.2 million dollars")),
        # A simplification that adds a glossary may be longer than its text.
        (
            "Simplify the text and add a short glossary of hard words.",
            BRIDGE.replace("Engineers", "Experts") + " Glossary: beam, a long bar that holds up a bridge.",
        ),
        # A date format request with "without" in it hides no dates.
        ("Rewrite the text with every date as YYYY-MM-DD, using YYYY-MM for a month without a day.", "2025-04-02."),
    ],
)
def test_checks_that_do_not_apply_pass(instruction, response):
    assert not _skill_failures(BRIDGE, instruction, response)


DEMO = get_skill(SKILL).demo_passage
LAST = " To place an order, call 555-0142 or email orders@harborstreet.example."
CLASSES = " Next year she plans to offer free baking classes for teenagers every Sunday at 10 a.m."

# Faithful rewrites of the skill's own demo text for its own demo requests: what the instruction agents are taught
# to ask must be answerable in a way the validators accept.
DEMO_PAIRS = [
    (
        "Paraphrase the text in your own words, keeping every name, number and date.",
        "Lena Ortiz's Harbor Street Bakery launched a second location in Westvale on 3/14/2023. She began in 2015, "
        "baking at home with $5,000 borrowed from her uncle, Marco Ortiz. The two locations now turn out roughly 400 "
        "loaves daily and have 12 staff. Shoppers adore the sourdough, yet many grumble that Saturday-morning queues "
        "can stretch to 45 minutes. To cut the waiting, online orders will start in June 2023, along with a pickup "
        "window next to the front entrance. According to Lena, hiring is the hardest part, since skilled bakers are "
        "scarcer than quality flour. Next year she intends to run free Sunday baking lessons for teens at 10 a.m. "
        "Orders can be placed at 555-0142 or orders@harborstreet.example.",
    ),
    (
        "Rephrase the sentence about the long Saturday lines so that it uses different words but means the same thing.",
        "Many shoppers grumble that Saturday-morning queues can stretch to 45 minutes, even though they adore the "
        "sourdough.",
    ),
    (
        "Rewrite the text in plain English for a beginner learner, in no more than 60 words.",
        "Harbor Street Bakery opened a second shop in Westvale in March 2023. Lena Ortiz started it in her kitchen "
        "with money her uncle lent her. Now 12 people work there. People love the bread, but on Saturdays they can "
        "wait 45 minutes. Soon you can order online. Lena also plans free baking classes for teens.",
    ),
    (
        "Expand the text into a longer local news article that explains why the bakery is adding online ordering, "
        "keeping every fact.",
        "Harbor Street Bakery opened its second shop in Westvale on 3/14/2023, and the business keeps growing. Owner "
        "Lena Ortiz started baking in her kitchen in 2015 with a $5,000 loan from her uncle, Marco Ortiz. Today the "
        "two "
        "shops sell about 400 loaves a day and employ 12 people.\n\nThat success has a downside. Customers love the "
        "sourdough, but many complain about the long lines on Saturday mornings, which can last 45 minutes. For busy "
        "families, a wait that long can mean skipping the bakery altogether. To shorten the wait, the bakery will add "
        "online ordering in June 2023, so that regulars can choose their bread at home and simply collect it. It will "
        "also open a pickup window beside the main door, which keeps people who have already paid out of the line.\n\n"
        'Lena says her biggest problem is hiring: "Good bakers are harder to find than good flour." Next year she '
        "plans to offer free baking classes for teenagers every Sunday at 10 a.m., which may one day help with that "
        "problem too. To place an order, call 555-0142 or email orders@harborstreet.example.",
    ),
    (
        "Translate the first two sentences of the text into Spanish.",
        "Harbor Street Bakery abrió su segunda tienda en Westvale el 3/14/2023. La dueña, Lena Ortiz, empezó a hornear "
        "en su cocina en 2015 con un préstamo de $5,000 de su tío, Marco Ortiz.",
    ),
    (
        "Translate Lena's quote about bakers and flour into French.",
        "Les bons boulangers sont plus difficiles à trouver que la bonne farine.",
    ),
    (
        "Convert the text into a bulleted list with one fact per bullet.",
        "- Harbor Street Bakery opened its second shop in Westvale on 3/14/2023.\n"
        "- Owner Lena Ortiz started baking in her kitchen in 2015 with a $5,000 loan from her uncle, Marco Ortiz.\n"
        "- The two shops sell about 400 loaves a day and employ 12 people.\n"
        "- Saturday morning lines can last 45 minutes.\n"
        "- Online ordering starts in June 2023, with a pickup window beside the main door.\n"
        "- Free baking classes for teenagers start next year, every Sunday at 10 a.m.\n"
        "- Orders: 555-0142 or orders@harborstreet.example.",
    ),
    (
        "Put the dates and events of the text into a Markdown table with two columns, Date and Event.",
        "| Date | Event |\n|---|---|\n| 2015 | Lena Ortiz starts baking in her kitchen |\n"
        "| 3/14/2023 | The second shop opens in Westvale |\n| June 2023 | Online ordering begins |",
    ),
    (
        "Rewrite the text, adding [DATE] in square brackets right after every date it mentions.",
        DEMO.replace("3/14/2023", "3/14/2023 [DATE]")
        .replace("in 2015", "in 2015 [DATE]")
        .replace("June 2023", "June 2023 [DATE]"),
    ),
    (
        "Rewrite the text, replacing the word 'shop' with 'store' everywhere, plurals included.",
        DEMO.replace("shop", "store"),
    ),
    (
        "Rewrite the text, changing 'customers' to 'shoppers' and 'loaves' to 'breads'.",
        DEMO.replace("Customers", "Shoppers").replace("loaves", "breads"),
    ),
    ("Rewrite the text without the sentence about the free baking classes.", DEMO.replace(CLASSES, "")),
    ("Rewrite the text with the phone number and email address removed.", DEMO.replace(LAST, "")),
    ("Rewrite the text in all capital letters.", DEMO.upper()),
    (
        "Rewrite the text in lowercase letters, except for people's names and the name of the bakery.",
        DEMO.lower()
        .replace("harbor street bakery", "Harbor Street Bakery")
        .replace("lena", "Lena")
        .replace("ortiz", "Ortiz")
        .replace("marco", "Marco"),
    ),
    (
        "Rewrite the text with every number in bold Markdown, such as **400**.",
        re.sub(r"\d[\d,/.-]*\d|\d", lambda m: f"**{m.group(0)}**", DEMO),
    ),
    (
        "Rewrite the text with every date in the format YYYY-MM-DD, using YYYY-MM for a month without a day.",
        DEMO.replace("3/14/2023", "2023-03-14").replace("June 2023", "2023-06"),
    ),
    (
        "Rewrite the text with every time in 24-hour format and every amount of money written as USD, such as USD "
        "5,000.",
        DEMO.replace("10 a.m.", "10:00.").replace("$5,000", "USD 5,000"),
    ),
    (
        "Rewrite the text in your own words so that no phrase of more than four words is copied from it, keeping "
        "every fact.",
        "On 3/14/2023, Harbor Street Bakery added a second location in Westvale. Lena Ortiz, who owns it, began "
        "in 2015 by making bread at home, funded by $5,000 that Marco Ortiz, her uncle, lent her. Together both "
        "locations now produce roughly 400 loaves daily and have 12 staff. Shoppers adore its sourdough, yet many "
        "grumble that Saturday queues may stretch to 45 minutes. Hoping to cut that delay, the business plans web "
        "orders from June 2023 plus a collection hatch next to its front entrance. Finding skilled staff is her "
        "toughest challenge, Lena explains; talented bakers are scarcer than quality flour. From next year, teens may "
        "join free Sunday lessons at 10 a.m. Orders go to 555-0142 or orders@harborstreet.example.",
    ),
    (
        "Rewrite the text, replacing the names Lena and Marco Ortiz with [NAME] wherever they appear.",
        DEMO.replace("Lena Ortiz", "[NAME]").replace("Marco Ortiz", "[NAME]").replace("Lena", "[NAME]"),
    ),
    (
        "Rewrite the text with the phone number replaced by [PHONE] and the email address replaced by [EMAIL].",
        DEMO.replace("555-0142", "[PHONE]").replace("orders@harborstreet.example", "[EMAIL]"),
    ),
    ("Rewrite the text with every digit replaced by X, so that no figure can be read.", re.sub(r"\d", "X", DEMO)),
    (
        'Does the text entail the statement "The bakery employs 12 people"? Answer with entailment, contradiction or '
        "neutral, then give one reason.",
        "Entailment. The text says the two shops employ 12 people.",
    ),
    (
        "Rewrite the sentence about the Saturday lines using only words of at most six letters.",
        "Buyers love the sour bread, but many are upset by long lines early each Sat., which can last 45 min.",
    ),
    (
        "Rewrite the text without the words 'bakery' or 'shop', keeping every fact.",
        DEMO.replace("Harbor Street Bakery", "Harbor Street Bread Co.")
        .replace("shops", "stores")
        .replace("shop", "store")
        .replace("the bakery", "the business"),
    ),
]


@pytest.mark.parametrize(("instruction", "response"), DEMO_PAIRS, ids=[p[0][:40] for p in DEMO_PAIRS])
def test_the_demo_requests_can_be_answered(instruction, response):
    demos = {line for kind in get_skill(SKILL).instruction_types for line in kind.demo_instructions.splitlines()}
    assert instruction in demos
    failures = _skill_failures(DEMO, instruction, response)
    failures.pop("copies_demo", None)  # the demo text is the demo
    assert not failures


def test_the_paraphrase_threshold_has_a_margin_on_both_sides():
    from agentinstruct.metrics.skills.text_modification import PARAPHRASE_MIN_COSINE, _embeddings

    paraphrases = [g for g in GOOD if g[0] in ("paraphrasing", "plagiarism_rewording")]
    drifted = [b for b in BAD if b[0] == "meaning_changed" and b[1] == BRIDGE]
    drifted.append(("unrelated", BRIDGE, "", CLINIC))

    def cosine(text, rewrite):
        vectors = _embeddings().embed([text, rewrite])
        return float(vectors[0] @ vectors[1])

    assert min(cosine(p, r) for _, p, _, r in paraphrases) >= PARAPHRASE_MIN_COSINE + 0.05
    assert max(cosine(p, r) for _, p, _, r in drifted) <= PARAPHRASE_MIN_COSINE - 0.05
