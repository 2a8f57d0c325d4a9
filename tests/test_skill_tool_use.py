"""The tool-use skill: function schemas read from code and API listings, argument coercion and grounding, every
validator on good and bad conversations (one per case of the taxonomy), and the responder end to end with a scripted
model, down to records stored by the project's store and read back by `datasets`."""

import copy
import json

import datasets
import dspy
import pytest
from conftest import FieldsEngine

from agentinstruct.metrics.text import view_of
from agentinstruct.metrics.validators import validate
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.pipeline import InvalidOutput
from agentinstruct.programs.tool_schemas import (
    Missing,
    coerce,
    grounded,
    listing,
    stated_numbers,
    tools_from_text,
    word_numbers,
)
from agentinstruct.programs.tool_use import (
    nearest_function,
    parse_transcript,
    resolve_plan,
    transcript_conversation,
)
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "tool_use"
TEMPERATURE_CODE = '''"""Convert temperatures."""


def celsius_to_fahrenheit(celsius: float) -> float:
    """Return the Fahrenheit value of a Celsius temperature."""
    return celsius * 9 / 5 + 32


def weekly_summary(readings: list[float], unit: str = "C") -> dict:
    """Return the lowest, highest and mean of a week of readings."""
    return {}
'''
TOOLS = tools_from_text(TEMPERATURE_CODE)
LISTING = listing(TOOLS)


# --------------------------------------------------------------------------------------------------------------------
# Schemas from code and listings
# --------------------------------------------------------------------------------------------------------------------


def test_the_data_file_loads_with_enough_agents():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    assert data.seed_kinds == ("code",)
    assert get_skill(SKILL).user_turn.name == "instruction_only"


def test_python_code_becomes_schemas_with_types_defaults_and_required():
    by_name = {tool["function"]["name"]: tool["function"] for tool in TOOLS}
    assert set(by_name) == {"celsius_to_fahrenheit", "weekly_summary"}
    summary = by_name["weekly_summary"]["parameters"]
    assert summary["properties"]["readings"] == {
        "type": "array",
        "description": "The readings.",
        "items": {"type": "number"},
    }
    assert summary["properties"]["unit"]["default"] == "C"
    assert summary["required"] == ["readings"] and summary["additionalProperties"] is False
    assert by_name["celsius_to_fahrenheit"]["description"] == "Return the Fahrenheit value of a Celsius temperature."


def test_methods_literal_enums_and_code_defaults():
    code = '''
from typing import Literal
import time

class TokenBucket:
    def try_acquire(self, tokens=1, clock=time.monotonic):
        """Spend tokens."""

    def _refill(self):
        pass

def roast(weight_kg: float, doneness: Literal["rare", "medium"] = "medium") -> int:
    """Roast time.

    Args:
        weight_kg: The weight of the joint in kilograms.
    """
'''
    by_name = {tool["function"]["name"]: tool["function"] for tool in tools_from_text(code)}
    assert set(by_name) == {"token_bucket_try_acquire", "roast"}
    # a default that is code (a clock) is not a JSON parameter
    assert list(by_name["token_bucket_try_acquire"]["parameters"]["properties"]) == ["tokens"]
    roast = by_name["roast"]["parameters"]["properties"]
    assert roast["doneness"]["enum"] == ["rare", "medium"]
    assert roast["weight_kg"]["description"] == "The weight of the joint in kilograms."
    assert by_name["roast"]["description"] == "Roast time."


def test_javascript_and_listings_become_schemas():
    js = """/** Shorten a text.
 * @param {string} text - The text to shorten.
 * @param {number} limit - Most characters kept.
 */
function truncate(text, limit = 80) { return text; }
const wordCount = (text) => text.split(" ").length;
"""
    by_name = {tool["function"]["name"]: tool["function"] for tool in tools_from_text(js)}
    assert set(by_name) == {"truncate", "wordCount"}
    assert by_name["truncate"]["parameters"]["properties"]["limit"]["default"] == 80
    assert by_name["truncate"]["parameters"]["required"] == ["text"]
    text = (
        "- scale_amount(amount: number, servings: integer) - Scale an amount.\n"
        '2. grams_to_cups(grams: float, ingredient: str = "flour") -> float: Convert grams.\n'
        "Some prose that lists nothing.\n"
        "roast(weight_kg: number, doneness?: string) — Roast time."
    )
    listed = {tool["function"]["name"]: tool["function"] for tool in tools_from_text(text)}
    assert set(listed) == {"scale_amount", "grams_to_cups", "roast"}
    assert listed["grams_to_cups"]["parameters"]["properties"]["grams"]["type"] == "number"
    assert listed["roast"]["parameters"]["required"] == ["weight_kg"]
    assert tools_from_text("CREATE TABLE stock (id INTEGER);") == []


def test_values_are_coerced_to_the_parameter_type():
    assert coerce("25", {"type": "number"}) == 25
    assert coerce("2.5 kg", {"type": "number"}) == 2.5
    assert coerce("three hundred", {"type": "integer"}) == 300
    assert coerce("'Oslo'.", {"type": "string"}) == "Oslo"
    assert coerce("Rare", {"type": "string", "enum": ["rare", "well"]}) == "rare"
    assert coerce("1, 2 and 3", {"type": "array", "items": {"type": "integer"}}) == [1, 2, 3]
    assert coerce("yes", {"type": "boolean"}) is True
    for bad, schema in [
        ("missing", {"type": "number"}),
        ("not given", {"type": "string"}),
        ("2.5", {"type": "integer"}),
        ("blue", {"type": "string", "enum": ["rare"]}),
        ("many", {"type": "number"}),
    ]:
        with pytest.raises(Missing):
            coerce(bad, schema)


def test_grounding_reads_numbers_in_digits_and_words():
    assert word_numbers("two dozen eggs and three hundred grams") == [24, 300]
    assert {-5.0, 1200.0, 0.2} <= stated_numbers("-5 degrees, 1,200 bikes, 20% off")
    evidence = "How many cups is three hundred grams of caster sugar?"
    assert grounded(300, {"type": "number"}, evidence)
    assert grounded("sugar", {"type": "string"}, evidence)
    assert not grounded(250, {"type": "number"}, evidence)
    assert not grounded("flour", {"type": "string"}, evidence)
    assert grounded("flour", {"type": "string", "default": "flour"}, evidence)


def test_the_plan_maps_near_misses_and_keeps_absent_names_about_the_request():
    tools = {tool["function"]["name"]: tool for tool in TOOLS}
    request = "Convert 25 degrees Celsius to Kelvin and to Fahrenheit."
    plan, absent = resolve_plan("celsiusToFahrenheit, celsius_to_kelvin, make_coffee", tools, request)
    assert plan == ["celsius_to_fahrenheit"] and absent == ["celsius_to_kelvin"]
    assert resolve_plan("none", tools, request) == ([], [])


# --------------------------------------------------------------------------------------------------------------------
# Validators on hand-written conversations
# --------------------------------------------------------------------------------------------------------------------


def _call(call_id, name, arguments):
    arguments = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _conversation(request, *turns):
    return [{"role": "user", "content": request}, *turns]


def _calling(call_id, name, arguments):
    return {"role": "assistant", "content": "", "tool_calls": [_call(call_id, name, arguments)]}


def _result(call_id, name, value):
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": json.dumps({"result": value})}


def _final(text):
    return {"role": "assistant", "content": text}


ALL_PARAMETERS = _conversation(
    "What is 25 degrees Celsius in Fahrenheit?",
    _calling("call_1", "celsius_to_fahrenheit", {"celsius": 25}),
    _result("call_1", "celsius_to_fahrenheit", 77.0),
    _final("25 degrees Celsius is 77 degrees Fahrenheit."),
)
EXTRA_PARAMETERS = _conversation(
    "What is 25 degrees Celsius in Fahrenheit, rounded to two decimals and in bold?",
    _calling("call_1", "celsius_to_fahrenheit", {"celsius": 25}),
    _result("call_1", "celsius_to_fahrenheit", 77.0),
    _final("25 degrees Celsius is 77 degrees Fahrenheit; the function has no rounding or bold setting."),
)
MISSING_PARAMETER = _conversation(
    "Give me the lowest, highest and mean of this week's readings.",
    _final("Which readings, in degrees, should I summarise?"),
)
SEVERAL_WITH_MISSING = _conversation(
    "Convert 30 degrees Celsius to Fahrenheit and summarise my readings.",
    _calling("call_1", "celsius_to_fahrenheit", {"celsius": 30}),
    _result("call_1", "celsius_to_fahrenheit", 86.0),
    _final("30 degrees Celsius is 86 degrees Fahrenheit. Which readings should I summarise?"),
)
ABSENT = _conversation(
    "What is 300 kelvin in Celsius?",
    _final(
        "There is no kelvin_to_celsius function among the available tools, so I cannot do that. "
        "The tools I have are celsius_to_fahrenheit and weekly_summary."
    ),
)
SEVERAL_WITH_ABSENT = _conversation(
    "Summarise the readings 3, 5 and 7 and tell me tomorrow's forecast.",
    _calling("call_1", "weekly_summary", {"readings": [3, 5, 7]}),
    _result("call_1", "weekly_summary", {"low": 3, "high": 7, "mean": 5}),
    _final("The readings range from 3 to 7 with a mean of 5. No available function gives a forecast."),
)
CHAINED = _conversation(
    "Summarise the readings 10, 20 and 30, then give the mean in Fahrenheit.",
    _calling("call_1", "weekly_summary", {"readings": [10, 20, 30]}),
    _result("call_1", "weekly_summary", {"low": 10, "high": 30, "mean": 20}),
    _calling("call_2", "celsius_to_fahrenheit", {"celsius": 20}),
    _result("call_2", "celsius_to_fahrenheit", 68.0),
    _final("The mean of the readings is 20 degrees Celsius, which is 68 degrees Fahrenheit."),
)
GOOD = {
    "all_parameters": ALL_PARAMETERS,
    "extra_parameters": EXTRA_PARAMETERS,
    "missing_parameter": MISSING_PARAMETER,
    "several_with_missing": SEVERAL_WITH_MISSING,
    "absent": ABSENT,
    "several_with_absent": SEVERAL_WITH_ABSENT,
    "chained": CHAINED,
}


def _failures(messages, tools=TOOLS):
    return validate(view_of(messages, TEMPERATURE_CODE, tools), SKILL)


@pytest.mark.parametrize("case", sorted(GOOD))
def test_good_conversations_pass_every_validator(case):
    assert _failures(GOOD[case]) == {}


def test_the_worked_conversations_of_the_data_file_pass():
    skill = get_skill(SKILL)
    tools = tools_from_text(skill.demo_passage)
    assert {tool["function"]["name"] for tool in tools} == {"magnification", "exit_pupil", "limiting_magnitude"}
    for request, text in skill.response_demos:
        messages = transcript_conversation(parse_transcript(request, text))
        failures = validate(view_of(messages, skill.demo_passage, tools), SKILL)
        # the demos are the worked example
        failures.pop("copies_demo", None)
        failures.pop("demo_subject", None)
        assert failures.pop("demo_functions", None), request
        assert failures == {}, request


def _with(messages, index, **changes):
    edited = copy.deepcopy(messages)
    edited[index].update(changes)
    return edited


def _arguments(messages, index, arguments):
    edited = copy.deepcopy(messages)
    edited[index]["tool_calls"][0]["function"]["arguments"] = (
        arguments if isinstance(arguments, str) else json.dumps(arguments)
    )
    return edited


def get_tools_of_demo():
    return tools_from_text(get_skill(SKILL).demo_passage)


BAD = {
    "no_tools": (ALL_PARAMETERS, []),
    # a request about the worked example's telescopes, not about the offered temperature functions
    "off_the_tools": (_with(ABSENT, 0, content="How much does a 25 mm eyepiece magnify on my scope?"), TOOLS),
    "copies_demo": (
        _with(
            ABSENT,
            0,
            content="My telescope has a 1000 mm focal length and a 200 mm aperture; what exit pupil does a 20 mm "
            "eyepiece give?",
        ),
        TOOLS,
    ),
    # the worked example's functions offered in place of the seed's (as the embedded model's api listings did)
    "demo_functions": (
        _conversation(
            "What magnification does a 750 mm telescope give with a 15 mm eyepiece?",
            _calling("call_1", "magnification", {"focal_length_mm": 750, "eyepiece_mm": 15}),
            _result("call_1", "magnification", 50.0),
            _final("The 15 mm eyepiece magnifies 50 times."),
        ),
        get_tools_of_demo(),
    ),
    # as the embedded model wrote it: a request about the worked example's telescopes, on other functions
    "demo_subject": (
        _with(ABSENT, 0, content="What is the best result for a 90 mm refractor at a high magnification in Celsius?"),
        TOOLS,
    ),
    "no_request": (_with(ALL_PARAMETERS, 0, content="Twenty-five degrees Celsius outside today."), TOOLS),
    # the absent case that invents the API it lacks
    "unlisted_call": (
        _conversation(
            "What is 300 kelvin in Celsius?",
            _calling("call_1", "kelvin_to_celsius", {"kelvin": 300}),
            _result("call_1", "kelvin_to_celsius", 26.85),
            _final("300 kelvin is 26.85 degrees Celsius."),
        ),
        TOOLS,
    ),
    # arguments that break the schema: a wrong type; a required one left out; one the schema does not have
    "invalid_arguments": (_arguments(ALL_PARAMETERS, 1, {"celsius": "warm"}), TOOLS),
    # the missing-parameter case that calls anyway, with a made-up value
    "invented_argument": (
        _conversation(
            "Give me the lowest, highest and mean of this week's readings.",
            _calling("call_1", "weekly_summary", {"readings": [12, 15, 9]}),
            _result("call_1", "weekly_summary", {"low": 9, "high": 15, "mean": 12}),
            _final("Your readings range from 9 to 15, with a mean of 12."),
        ),
        TOOLS,
    ),
    "broken_tool_turns": (_with(ALL_PARAMETERS, 2, tool_call_id="call_9"), TOOLS),
    # the conversation stops at the tool result
    "no_final_answer": (_with(ALL_PARAMETERS[:3], 1, content="Let me convert that for you."), TOOLS),
    "answered_without_tools": (
        _conversation("What is 25 degrees Celsius in Fahrenheit?", _final("It is 77 degrees Fahrenheit.")),
        TOOLS,
    ),
    "unsupported_answer": (_with(ALL_PARAMETERS, 3, content="It is quite warm, about 80 degrees."), TOOLS),
    "vague_question": (_with(MISSING_PARAMETER, 1, content="Could you tell me more?"), TOOLS),
    "false_absence": (
        _with(ABSENT, 1, content="There is no celsius_to_fahrenheit function available, so I cannot do that."),
        TOOLS,
    ),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_each_validator_catches_its_bad_conversation(name):
    messages, tools = BAD[name]
    failures = _failures(messages, tools)
    assert name in failures, failures


def test_every_validator_has_a_bad_conversation():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(BAD)


@pytest.mark.parametrize(
    "arguments,reason",
    [
        ({}, "'celsius' is a required property"),
        ({"celsius": 25, "precision": 2}, "passes precision, which its schema does not have"),
        ("not json", "not a JSON object"),
    ],
)
def test_arguments_must_validate_against_the_schema(arguments, reason):
    failures = _failures(_arguments(ALL_PARAMETERS, 1, arguments))
    assert reason in failures["invalid_arguments"]


def test_the_missing_parameter_case_that_calls_without_the_value_fails():
    calls_anyway = _conversation(
        "Give me the lowest, highest and mean of this week's readings.",
        _calling("call_1", "weekly_summary", {}),
        _result("call_1", "weekly_summary", {"low": 0}),
        _final("The lowest reading is 0."),
    )
    assert "'readings' is a required property" in _failures(calls_anyway)["invalid_arguments"]


# --------------------------------------------------------------------------------------------------------------------
# The responder end to end, with a scripted model
# --------------------------------------------------------------------------------------------------------------------


class ScriptEngine(FieldsEngine):
    """A DSPy engine answering each requested output field from a script: a fixed text, or a function of the
    request's last turn (so an argument can depend on the parameter asked for)."""

    def __init__(self, script: dict) -> None:
        self.script = script
        self.asked: list[str] = []

    def answers(self, fields: list[str], inputs: dict[str, str]) -> dict[str, str]:
        self.asked += fields

        def value(name):
            entry = self.script.get(name, "")
            return entry(inputs) if callable(entry) else entry

        return {field: value(field) for field in fields}


REQUEST = "What is 25 degrees Celsius in Fahrenheit?"
SCRIPT = {
    "transformed": LISTING,
    "requests": f"{REQUEST}\nSummarise this week's readings 12, 15 and 9.",
    "suggestions": "- Keep every value the call needs.",
    "revised_request": REQUEST,
    "calls": "celsius_to_fahrenheit",
    "value": lambda inputs: "25" if inputs.get("parameter", "").startswith("celsius") else "missing",
    "result": "77.0",
    "question": "Which readings should I summarise?",
    "answer": "25 degrees Celsius is 77 degrees Fahrenheit.",
}


def _scripted(**changes):
    engine = ScriptEngine({**SCRIPT, **changes})
    return engine, dspy.context(lm=dspy.LM("script/tool-use", engine=engine, cache=False))


def _respond(request=REQUEST, passage=LISTING, **changes):
    engine, context = _scripted(**changes)
    responder = AgentInstructPipeline(get_skill(SKILL)).response
    with context:
        return responder(passage=passage, instruction=request, config={"seed": 1}), engine


def test_the_responder_makes_a_call_a_tool_turn_and_an_answer():
    prediction, engine = _respond()
    roles = [message["role"] for message in prediction.messages]
    assert roles == ["assistant", "tool", "assistant"]
    call = prediction.messages[0]["tool_calls"][0]
    assert call["function"] == {"name": "celsius_to_fahrenheit", "arguments": '{"celsius": 25}'}
    assert prediction.messages[1]["tool_call_id"] == call["id"] and json.loads(prediction.messages[1]["content"]) == {
        "result": 77.0
    }
    assert prediction.answer == prediction.messages[-1]["content"] == SCRIPT["answer"]
    assert [tool["function"]["name"] for tool in prediction.tools] == ["celsius_to_fahrenheit", "weekly_summary"]
    assert engine.asked == ["calls", "value", "result", "answer"]  # one short field per model call


def test_the_responder_reads_code_itself_and_asks_for_a_missing_value():
    prediction, _ = _respond("Summarise this week's readings.", passage=TEMPERATURE_CODE, calls="weekly_summary")
    assert [message["role"] for message in prediction.messages] == ["assistant"]
    assert prediction.answer == "Which readings should I summarise?"


def test_a_value_the_request_does_not_state_is_asked_for_not_invented():
    prediction, _ = _respond("What is the temperature in Fahrenheit?", value="25")
    assert "tool_calls" not in prediction.messages[0] and prediction.answer.endswith("?")


def test_an_absent_function_is_said_to_be_absent_and_not_called():
    prediction, _ = _respond("What is 300 kelvin in Celsius?", calls="kelvin_to_celsius")
    assert [message["role"] for message in prediction.messages] == ["assistant"]
    assert "no kelvin_to_celsius function" in prediction.answer


def test_an_answer_stating_no_result_is_replaced_by_the_results():
    prediction, _ = _respond(answer="It is warm outside.")
    assert prediction.answer == "The celsius_to_fahrenheit call returned 77.0."


def test_one_word_of_the_example_library_is_enough_to_be_its_subject():
    # as the embedded model wrote it, on the library-fines functions
    request = "How far away is my telescope, and what would the final image look like in low light?"
    assert "demo_subject" in _failures(_with(ABSENT, 0, content=request))
    # the same word is no leak when the offered library is about it
    optics = [{"type": "function", "function": {"name": "telescope_weight", "description": "A telescope's weight."}}]
    assert "demo_subject" not in _failures(_with(ABSENT, 0, content=request), optics)


def test_conversation_words_the_example_also_uses_are_not_its_subject():
    request = "Please look up the result of a weekly summary of my readings 3, 4 and 5, and tell me the best value."
    messages = _conversation(
        request,
        _calling("call_1", "weekly_summary", {"readings": [3, 4, 5]}),
        _result("call_1", "weekly_summary", {"low": 3, "high": 5, "mean": 4}),
        _final("The readings range from 3 to 5 with a mean of 4."),
    )
    assert "demo_subject" not in _failures(messages)


def test_a_function_named_in_other_words_is_the_listed_one_the_request_is_about():
    prediction, _ = _respond(calls="temperature_converter")
    assert prediction.messages[0]["tool_calls"][0]["function"]["name"] == "celsius_to_fahrenheit"
    summary, _ = _respond("Summarise this week's readings 12, 15 and 9.", calls="stats", value="missing")
    assert summary.answer == "Which readings should I summarise?"  # weekly_summary, whose readings it asks for


def test_the_nearest_function_needs_a_word_of_the_request():
    assert nearest_function("What is 25 degrees Celsius in Fahrenheit?", "convert", TOOLS) == "celsius_to_fahrenheit"
    assert nearest_function("Book me a table for two tonight.", "booking", TOOLS) is None
    # a word of a description alone ("Return the ...") is not what a request is about
    assert nearest_function("Return the book I borrowed.", "return_book", TOOLS) is None


@pytest.mark.parametrize(
    "request_text,changes,reason",
    [
        ("Book me a table for two tonight.", {"calls": "nothing useful"}, "named no listed or needed function"),
        (REQUEST, {"result": ""}, "simulated result of celsius_to_fahrenheit is unusable"),
    ],
)
def test_the_responder_raises_invalid_output_when_no_conversation_can_be_made(request_text, changes, reason):
    with pytest.raises(InvalidOutput, match=reason):
        _respond(request_text, **changes)
    with pytest.raises(InvalidOutput, match="no function could be read"):
        _respond(passage="CREATE TABLE stock (id INTEGER);")


def test_the_pipeline_makes_records_that_pass_and_the_store_keeps_every_turn(tmp_path):
    from agentinstruct.records import make_record
    from agentinstruct.seeds import Seed
    from agentinstruct.store import AdmittedUnit, RunStore

    skill = get_skill(SKILL)
    pipeline = AgentInstructPipeline(skill)
    engine, context = _scripted()
    samples = []
    with context:
        for draw in range(4):
            prediction = pipeline(seed=TEMPERATURE_CODE, seed_id="temperature", draw=draw)
            samples += prediction.samples
    assert samples, "four draws produced no sample"
    seed = Seed(seed_id="temperature", text=TEMPERATURE_CODE, source="temperature.py", kind="code")
    records = []
    for index, sample in enumerate(samples):
        record = make_record(sample, seed, skill, program_id="p", generator_lm="script", run_id="r")
        assert record["context"] and json.loads(record["tools"])
        view = view_of(record["messages"], record["context"], record["tools"])
        assert validate(view, SKILL) == {}, record["messages"]
        record.update(record_id=f"r{index}", scores={"quality": 1.0}, novelty=1.0)
        records.append(record)
    first = records[0]["messages"]
    assert [m["role"] for m in first] == ["user", "assistant", "tool", "assistant"]
    assert first[0]["content"] == REQUEST  # the user turn is the request; the API list is the record's context

    out = tmp_path / "out"
    store = RunStore(out, {"skill": SKILL})
    store.add_admitted(AdmittedUnit((0, "temperature"), records, [[0.0]] * len(records), [], []))
    store.write_outputs(len(records))
    store.close()
    loaded = datasets.load_from_disk(str(out))["train"]
    assert len(loaded) == len(records)
    for row, record in zip(loaded, records, strict=True):
        assert row["messages"] == record["messages"]  # same turns, tool calls and ids, same order
        assert json.loads(row["tools"]) == json.loads(record["tools"])
        assert json.loads(row["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"celsius": 25}
