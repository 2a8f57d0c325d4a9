"""The text-classification skill: its data file loads, its good pairs pass every validator and each validator catches
the bad pair written for it."""

import pytest

from agentinstruct.metrics.skills.text_classification import label_set
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "text_classification"
MESSAGE = (
    "Hi, I ordered a pair of running shoes (order 4471) two weeks ago and they still haven't arrived. The tracking "
    "page has said 'in transit' for nine days. I need them for a race on Sunday. Can you tell me where they are or "
    "send a new pair by express? Thanks, Leo"
)
SENTIMENT = "What is the overall sentiment of the message? Label: one of positive, negative, neutral."


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert get_skill(SKILL).user_turn.name == "passage_then_instruction"


def test_every_demo_task_gives_a_valid_label_set():
    for kind in load_skill_data(data_path(SKILL)).instruction_types:
        for task in kind.demo_instructions.splitlines():
            labels, _ = label_set(task)
            assert 2 <= len(labels) <= 8, task


def test_label_sets_parse():
    assert label_set(SENTIMENT) == (["positive", "negative", "neutral"], [])
    assert label_set("Tone? Label: one of formal, informal. Add a one-sentence reason.")[0] == ["formal", "informal"]
    assert label_set("Sentiment? Answer with one of: positive, negative or neutral")[0] == [
        "positive",
        "negative",
        "neutral",
    ]
    assert label_set("Team? Label: one of billing and refunds, shipping, product quality.")[0] == [
        "billing and refunds",
        "shipping",
        "product quality",
    ]
    assert label_set("Is it spam? Label: one of spam, not spam.")[0] == ["spam", "not spam"]
    assert label_set("What is the sentiment of the message?") is None


GOOD = [
    (SENTIMENT, "negative"),
    (SENTIMENT, "Negative."),
    (SENTIMENT, "Label: negative"),
    (
        "What is the main intent of the message? Label: one of complaint, order status request, return request, "
        "praise.",
        "order status request",
    ),
    (
        "How urgent is the message? Label: one of low, medium, high. Add a one-sentence reason.",
        "high. The writer needs the shoes for a race on Sunday.",
    ),
    ("Is the message spam? Label: one of spam, not spam.", "Not spam"),
    ("Is the message spam? Label: one of spam, not spam.", "spam"),
    ("What is the sentiment of the message? Label: one of positive, negative, or neutral.", "neutral"),
    ("Which team should handle the message? Label: one of billing, shipping and delivery.", "shipping and delivery"),
    ("Which team should handle the message? Label: one of billing, shipping and delivery.", "billing"),
    ("Classify the formality of the message. Answer with one of: formal, informal.", "informal"),
    (
        "Is the message time-sensitive? Label: one of time-sensitive, not time-sensitive. Explain in two sentences.",
        "time-sensitive\nThe race is on Sunday. The shoes have been in transit for nine days.",
    ),
]


@pytest.mark.parametrize("instruction,response", GOOD)
def test_good_pairs_pass_every_validator(instruction, response):
    view = PairView(MESSAGE, instruction, response)
    assert validate(view, SKILL) == {}
    assert validate(view, SKILL, for_demo=True) == {}


BAD = [
    ("What is the sentiment of the message?", "negative", "no_label_set"),
    ("What is the sentiment of the message? Label: one of negative.", "negative", "bad_label_set"),
    ("What is the sentiment? Label: one of positive, negative, positive.", "negative", "bad_label_set"),
    ("Which letter? Label: one of a, b, c, d, e, f, g, h, i.", "a", "bad_label_set"),
    (SENTIMENT, "frustrated", "label_not_offered"),
    (SENTIMENT, "The sentiment is negative.", "label_not_offered"),
    (SENTIMENT, "negativity", "label_not_offered"),
    (SENTIMENT, "negative, neutral", "several_labels"),
    (SENTIMENT, "negative or neutral", "several_labels"),
    (SENTIMENT, "negative. The writer is annoyed that the shoes have not arrived.", "extra_text"),
    (
        "How urgent is the message? Label: one of low, medium, high. Add a one-sentence reason.",
        "high. The race is on Sunday. The shoes are late.",
        "extra_text",
    ),
    (
        "What is the writer's stance on closing the Eastgate branch library on Sundays? Label: one of for, against.",
        "against",
        "copies_demo",
    ),
    ("Write a question about the message. Label: one of a, b.", "a", "malformed_instruction"),
]


@pytest.mark.parametrize("instruction,response,validator", BAD)
def test_each_validator_catches_its_bad_pair(instruction, response, validator):
    assert validator in validate(PairView(MESSAGE, instruction, response), SKILL)


def test_a_task_worded_like_the_demos_but_about_its_own_text_is_not_a_copy():
    assert "copies_demo" not in validate(PairView(MESSAGE, SENTIMENT, "negative"), SKILL)
