"""The conversation skill (the paper's follow_up kind): its data file loads, good conversations pass every validator,
each validator catches the bad conversation written for it, the responder writes a whole conversation turn by turn
(DummyLM), and the records it makes go through the project's store and load back with every turn."""

import dspy
import pytest
from dspy.utils import DummyLM

from agentinstruct.metrics.skills.conversation import exchanges, follows_up
from agentinstruct.metrics.text import PairView
from agentinstruct.metrics.validators import validate
from agentinstruct.programs.conversation import (
    Conversation,
    clean_answer,
    clean_question,
    excerpt,
    parse_transcript,
    quoted_follow_up,
)
from agentinstruct.programs.pipeline import InvalidOutput, attempt_config
from agentinstruct.programs.skills import get_skill
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "conversation"
SOURCE = (
    "The river Alder floods every spring when snow melts in the Tarn hills. In 1998 the town of Fenwick built a "
    "levee three kilometers long. Since then no flood has reached the market square. Farmers downstream say their "
    "fields now stay wet for weeks longer. The council plans a second levee near the old mill by 2027. Engineers "
    "estimate it will cost four million euros."
)
GOOD_TURNS = [
    ("What did Fenwick build in 1998?", "In 1998 Fenwick built a levee three kilometers long."),
    (
        "Why did the town need that levee?",
        "Because the river Alder floods every spring when snow melts in the Tarn hills.",
    ),
    ("Has the levee kept those spring floods away?", "Yes: since 1998 no flood has reached the market square."),
]


def conversation(turns, source=SOURCE) -> list[dict]:
    """Messages as the responder writes them: the text and the opening question in the first user turn."""
    messages = []
    for index, (question, answer) in enumerate(turns):
        user = f"{source}\n\n{question}" if index == 0 else question
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return messages


def view(messages, source=SOURCE) -> PairView:
    return get_skill(SKILL).view(messages, source)


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    skill = get_skill(SKILL)
    assert skill.user_turn.name == "source_then_conversation" and not skill.user_turn.carries_source


def test_the_worked_conversations_pass_the_validators():
    skill = get_skill(SKILL)
    for question, transcript in skill.response_demos:
        turns = parse_transcript(question, transcript)
        assert len(turns) >= 3
        failures = validate(view(conversation(turns, skill.demo_passage), skill.demo_passage), SKILL)
        failures.pop("copies_demo", None)  # the demos are the worked example
        failures.pop("borrows_demo_topic", None)
        assert failures == {}, (question, failures)


def test_a_source_rewritten_into_the_worked_example_names_its_names():
    """As the embedded model wrote it on a text about a darkroom: the source turn itself had become the demo's
    village, so no word is borrowed from outside the source, but the demo's names are there."""
    source = (
        "In 2019, the mountain village of Valdora replaced its old chairlift with a cable car. The Sokol was an "
        "electric gondola that ran through the village in wind and snow."
    )
    turns = [
        ("When did the village replace its old chairlift?", "In 2019 it replaced the chairlift with a cable car."),
        ("What was that cable car called?", "The cable car was called the Sokol."),
        ("Did the Sokol run in snow?", "Yes, the Sokol ran in wind and snow."),
    ]
    failures = validate(view(conversation(turns, source), source), SKILL)
    assert failures["borrows_demo_topic"] == "it names the worked example's sokol, valdora"


GOOD = {
    "pronoun_follow_ups": GOOD_TURNS,
    "word_from_the_answer": [
        ("What does the council plan to build by 2027?", "The council plans a second levee near the old mill."),
        ("How much will the second levee cost?", "Engineers estimate it will cost four million euros."),
        ("Who made the estimate of four million euros?", "The engineers made that estimate."),
    ],
    "four_exchanges": [
        *GOOD_TURNS,
        (
            "Did that protection have a cost for the farmers downstream?",
            "Yes: the farmers say their fields now stay wet for weeks longer.",
        ),
    ],
}


@pytest.mark.parametrize("name", sorted(GOOD))
def test_good_conversations_pass_every_validator(name):
    assert validate(view(conversation(GOOD[name])), SKILL) == {}


def test_a_system_turn_before_the_conversation_is_allowed():
    messages = [{"role": "system", "content": "You answer questions about a text."}, *conversation(GOOD_TURNS)]
    assert validate(view(messages), SKILL) == {}


def _swap(turns, index, question=None, answer=None):
    changed = list(turns)
    old_question, old_answer = changed[index]
    changed[index] = (question or old_question, answer or old_answer)
    return changed


BAD = {
    "too_few_exchanges": conversation(GOOD_TURNS[:2]),
    "broken_alternation": [*conversation(GOOD_TURNS)[:3], *conversation(GOOD_TURNS)[2:]],
    "empty_message": conversation(_swap(GOOD_TURNS, 1, answer=" ")),
    "no_question": conversation(_swap(GOOD_TURNS, 1, question="The levee is on the river Alder.")),
    "malformed_instruction": conversation(
        _swap(GOOD_TURNS, 0, question="Write a question about the levee of Fenwick.")
    ),
    # The model wrote its opening question about the worked example, not about this text.
    "copies_demo": conversation(
        [("Why did Valdora replace its old chairlift with a cable car?", "The text does not say."), *GOOD_TURNS[1:]]
    ),
    # As the embedded model wrote it: a whole conversation about the worked example's subject (then a ferry, now a
    # cable car), on a text without one.
    "borrows_demo_topic": conversation(
        [
            ("How did the cable car change the levee town?", "The cable car made the levee town quieter."),
            ("Why is that cable car quieter?", "That cable car is quieter because the town built the levee in 1998."),
            ("Who likes the quieter cable car?", "The farmers downstream like the quieter cable car."),
        ]
    ),
    "off_topic": conversation(_swap(GOOD_TURNS, 0, question="Which Italian painter decorated the Sistine Chapel?")),
    "unlinked_follow_up": conversation(_swap(GOOD_TURNS, 2, question="What is the capital city of France?")),
    "repeated_question": conversation(
        [GOOD_TURNS[0], GOOD_TURNS[1], ("What did Fenwick build in 1998 then?", "It built a levee.")]
    ),
    "repeated_answer": conversation(_swap(GOOD_TURNS, 2, answer=GOOD_TURNS[1][1])),
    "degenerate_turn": conversation(
        _swap(GOOD_TURNS, 1, answer="the river floods the river floods the river floods the river floods the river.")
    ),
    "ungrounded_answer": conversation(
        _swap(GOOD_TURNS, 1, answer="Because Mayor Harald Quist wanted 45 new hotels by the harbor.")
    ),
    "unanswered": conversation(
        _swap(GOOD_TURNS, 1, question="How long is that levee?", answer="It is a strong levee by the river.")
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_conversation(name):
    failures = validate(view(BAD[name]), SKILL)
    assert name in failures, failures


def test_every_validator_has_a_bad_conversation():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)


def test_an_unrelated_follow_up_fails_only_the_link_check():
    unrelated = conversation(_swap(GOOD_TURNS, 1, question="What do the farmers downstream say about their fields?"))
    failures = validate(view(unrelated), SKILL)
    assert set(failures) == {"unlinked_follow_up"}, failures
    assert "user turn 2 does not build on the answer" in failures["unlinked_follow_up"]


def test_follow_ups_link_by_a_word_of_the_answer_or_a_reference_back():
    answer = "The council plans a second levee near the old mill."
    question = "What will the council build?"
    assert follows_up("How far is the old mill from the town?", question, answer, SOURCE)  # "mill" is new there
    assert follows_up("When will that be ready?", question, answer, SOURCE)  # a reference back, nothing foreign
    assert not follows_up("What will the council build next?", question, answer, SOURCE)  # only the question's words
    assert not follows_up("Why is it popular with tourists in Paris?", question, answer, SOURCE)  # foreign topic


def test_the_opening_question_is_read_without_the_text():
    source, pairs = exchanges(view(conversation(GOOD_TURNS)))
    assert source == SOURCE and pairs[0] == GOOD_TURNS[0] and len(pairs) == 3
    # A record from elsewhere, without a context: the first user turn's last paragraph is the question.
    source, pairs = exchanges(PairView("", "", "", messages=tuple(conversation(GOOD_TURNS))))
    assert source == SOURCE and pairs[0][0] == GOOD_TURNS[0][0]


def test_turn_cleaning():
    assert clean_answer("Answer: It floods.\nUser: Why?\nAssistant: Snow.") == "It floods."
    assert clean_question("User: Why did that happen? Because of snow.\nMore") == "Why did that happen?"
    assert clean_question("1. Follow-up: How long is it?") == "How long is it?"
    assert clean_question("The levee is long.") == ""


# --------------------------------------------------------------------------------------------------------------------
# The responder, end to end
# --------------------------------------------------------------------------------------------------------------------

SCRIPT = [
    {"answer": "Answer: In 1998 Fenwick built a levee three kilometers long."},
    {"follow_up": "User: Why did the town need that levee?\nAssistant: (the model goes on)"},
    {"answer": "Because the river Alder floods every spring when snow melts in the Tarn hills."},
    {"follow_up": "Has the levee kept those spring floods away?"},
    {"answer": "Yes: since 1998 no flood has reached the market square.\nUser: And the farmers?"},
]


def test_the_responder_writes_three_exchanges_turn_by_turn():
    lm = DummyLM(SCRIPT)
    with dspy.context(lm=lm):
        result = Conversation(get_skill(SKILL))(
            passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 7}, instruction_type="why_chain"
        )
    assert [m["role"] for m in result.messages] == ["user", "assistant"] * 3
    assert result.messages[0]["content"] == f"{SOURCE}\n\n{GOOD_TURNS[0][0]}"
    assert [m["content"] for m in result.messages[1:]] == [text for pair in GOOD_TURNS for text in pair][1:]
    assert result.answer == GOOD_TURNS[2][1] and result.written_by_code == []
    assert validate(view(result.messages), SKILL) == {}
    # The user simulator was told this kind's follow-up pattern, and the assistant saw the conversation so far.
    follow_up_prompt = lm.history[1]["messages"][-1]["content"]
    assert "asks why about the reason" in follow_up_prompt
    last_answer_prompt = lm.history[4]["messages"][-1]["content"]
    assert "User: Why did the town need that levee?" in last_answer_prompt


def test_the_responder_resamples_an_unlinked_follow_up_then_fails_with_why():
    unlinked = {"follow_up": "What is the capital city of France?"}
    lm = DummyLM([SCRIPT[0], unlinked, {"follow_up": "Why did the town need that levee?"}, *SCRIPT[2:]])
    with dspy.context(lm=lm):
        result = Conversation(get_skill(SKILL))(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 7})
    assert len(result.messages) == 6
    seeds = [entry["kwargs"].get("seed") for entry in lm.history]
    assert seeds[1:3] == [7, attempt_config({"seed": 7}, 1)["seed"]]  # the retry samples with its own seed
    assert seeds[2] != 7


def test_when_every_follow_up_sample_fails_the_user_turn_quotes_the_answer():
    unlinked = {"follow_up": "What is the capital city of France?"}
    lm = DummyLM([SCRIPT[0], unlinked, unlinked, unlinked, *SCRIPT[2:]])
    with dspy.context(lm=lm):
        result = Conversation(get_skill(SKILL))(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 7})
    quoted = 'You said "In 1998 Fenwick built a levee three kilometers". Can you tell me more about that?'
    assert result.messages[2]["content"] == quoted
    assert result.written_by_code == ["user turn 2"]
    assert [m["content"] for m in result.messages[3:]] == [SCRIPT[2]["answer"], *GOOD_TURNS[2]]
    assert validate(view(result.messages), SKILL) == {}
    # a list marker or markup the model wrote is not part of what is quoted
    assert quoted_follow_up("What is it?", "- The <i>charger</i> on the **pier**.").startswith(
        'You said "The charger on the pier".'
    )
    # the kind's way of following up picks the question asked about the quote
    assert quoted_follow_up("Why?", "The river floods every spring.", "Each follow-up asks why about it.").endswith(
        "Why is that?"
    )


def test_an_answer_with_nothing_new_to_quote_still_fails_the_conversation():
    unlinked = {"follow_up": "What is the capital city of France?"}
    assert quoted_follow_up("What did Fenwick build in 1998?", "In 1998.") == ""
    lm = DummyLM([{"answer": "In 1998."}, unlinked, unlinked, unlinked])
    with dspy.context(lm=lm), pytest.raises(InvalidOutput, match="does not build on the answer"):
        Conversation(get_skill(SKILL))(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 7})


def test_the_responder_resamples_an_ungrounded_answer_then_fails_with_why():
    invented = {"answer": "Mayor Harald Quist built 45 hotels by the harbor in 1998."}
    lm = DummyLM([invented, *SCRIPT])
    with dspy.context(lm=lm):
        result = Conversation(get_skill(SKILL))(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 3})
    assert result.messages[1]["content"] == GOOD_TURNS[0][1]

    lm = DummyLM([invented, invented])
    with dspy.context(lm=lm), pytest.raises(InvalidOutput, match="user turn 1 in 2 tries; last: it is not grounded"):
        Conversation(get_skill(SKILL))(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 3})


def test_the_assistant_reads_the_lines_of_a_long_text_the_question_is_about():
    long_text = " ".join(f"Filler sentence number {n} talks about nothing much at all." for n in range(20))
    long_text += " The ferry carries 38 cars. " + long_text
    lines = excerpt(long_text, "How many cars does the ferry carry?").splitlines()
    assert len(lines) == 6 and "The ferry carries 38 cars." in lines
    assert excerpt(SOURCE, "How many cars?") == SOURCE  # a short text is given whole


def test_the_pipeline_fails_a_conversation_it_cannot_make_as_invalid_output(echo_lm):
    from agentinstruct.programs import AgentInstructPipeline

    # The echo model answers every follow-up with a sentence of the text: no question, so the user's turn quotes the
    # answer, and the echo's answer to that repeats an earlier one: no conversation.
    prediction = AgentInstructPipeline(get_skill(SKILL))(seed=SOURCE, seed_id="rivers", draw=0)
    assert not prediction.samples
    reasons = {f.reason for f in prediction.failures if f.stage == "response"}
    assert "invalid_output" in reasons and reasons <= {"invalid_output", "duplicate"}
    assert any("no usable answer to user turn 2" in f.detail for f in prediction.failures)


def test_the_pipeline_tells_the_responder_each_instruction_type():
    from agentinstruct.programs import AgentInstructPipeline

    pipeline = AgentInstructPipeline(get_skill(SKILL))
    plan = pipeline.plan("rivers")
    seen = []

    def responder(passage, instruction, config=None, instruction_type=None):
        seen.append(instruction_type)
        messages = conversation(GOOD_TURNS, passage.strip())
        return dspy.Prediction(answer=messages[-1]["content"], messages=messages)

    pipeline.response.forward = responder
    pipeline._response_takes_type = True
    lm = DummyLM(
        [
            {
                "transformed": SOURCE,
                "questions": "What did Fenwick build in 1998?\nWhy does the river Alder flood every spring?",
                "suggestions": "- Name the town.",
                "revised_question": "What did the town of Fenwick build in 1998?",
            }
        ]
        * 50
    )
    with dspy.context(lm=lm):
        prediction = pipeline(seed=SOURCE, seed_id="rivers", draw=0)
    assert prediction.samples and set(seen) <= set(plan.instruction_types) and seen
    sample = prediction.samples[0]
    assert sample.instruction_type in plan.instruction_types and sample.context == SOURCE
    assert len(sample.messages) == 6


def test_records_go_through_the_store_and_load_back_with_every_turn(tmp_path):
    import datasets

    from agentinstruct.metrics.scoring import RecordScore
    from agentinstruct.programs import Sample
    from agentinstruct.records import make_record
    from agentinstruct.seeds import Seed
    from agentinstruct.store import AdmittedUnit, RunStore

    skill = get_skill(SKILL)
    unlinked = {"follow_up": "What is the capital city of France?"}
    lm = DummyLM([SCRIPT[0], unlinked, unlinked, unlinked, *SCRIPT[2:]])  # the second user turn is templated
    with dspy.context(lm=lm):
        result = Conversation(skill)(passage=SOURCE, instruction=GOOD_TURNS[0][0], config={"seed": 7})
    sample = Sample(result.messages, "why_chain", "identity", context=SOURCE, written_by_code=result.written_by_code)
    record = make_record(
        sample, Seed("rivers", SOURCE, "rivers.txt"), skill, program_id="p", generator_lm="dummy", run_id="r"
    )
    record.update(scores=RecordScore().as_columns(), novelty=1.0, record_id="rivers-0-0")
    store = RunStore(tmp_path / "out", {"skill": SKILL})
    try:
        store.add_admitted(AdmittedUnit((0, "rivers"), [record], [[0.0, 1.0]], [], []))
        assert store.write_outputs(1)["data"] == 1
    finally:
        store.close()
    row = datasets.load_from_disk(str(tmp_path / "out"))["train"][0]
    turns = [{key: value for key, value in turn.items() if value is not None} for turn in row["messages"]]
    assert turns == result.messages
    assert row["context"] == SOURCE and row["skill"] == SKILL and row["instruction_type"] == "why_chain"
    assert row["written_by_code"] == ["user turn 2"]
    assert validate(skill.view(row["messages"], row["context"]), SKILL) == {}


def test_embedding_text_leaves_the_shared_text_out():
    text = view(conversation(GOOD_TURNS)).embedding_text
    assert SOURCE not in text and GOOD_TURNS[0][0] in text and GOOD_TURNS[2][1] in text
