"""The web-agent skill: the page built from a sketch (ids, fold, lenient reading), the simulated browser, the action
reader, the validators on good and bad action sequences (each rejection reason), the responder end to end on DummyLM
(tool calls, tool turns, repairs, failures), and records stored by the project's store and read back."""

import json

import dspy
import pytest
from dspy.utils import DummyLM

from agentinstruct.metrics import validate, view_of
from agentinstruct.metrics.validators import asks_something
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.pipeline import InvalidOutput
from agentinstruct.programs.web_agent import (
    MAX_STEPS,
    WebAgentResponder,
    conversation,
    demo_traces,
    find_target,
    match_option,
    resolve_trace,
)
from agentinstruct.programs.web_page import (
    FOLD,
    TOOLS,
    Action,
    Browser,
    first_id,
    listed_elements,
    page_from_sketch,
    parse_action,
)

SKILL = "web_agent"
SKETCH = """title: Tolvik Bakery
link: Home
link: Bread
link: Opening times
search: Search the bakery
text: Mara's bakery in Tolvik has baked bread since 1952.
text: Every morning two ovens bake 360 loaves of rye and sourdough.
text: On Saturdays the bakery adds 200 cinnamon buns.
text: A batch of 24 loaves takes 40 minutes at 230 degrees.
text: The shop opens at 7:00 and closes at 18:00.
link: Order a cake"""
FORM = """title: Order a cake
field: Your name
field: Phone
select: Size: Small | Medium | Large
checkbox: Add a candle
button: Send order"""


def _page(sketch=SKETCH):
    return page_from_sketch(sketch)


def _ids(page):
    return {e.label: e.id for e in page.elements}


# --------------------------------------------------------------------------------------------------------------------
# The page and the browser
# --------------------------------------------------------------------------------------------------------------------


def test_the_page_is_built_deterministically_with_ids_and_a_fold():
    page = _page()
    assert page == _page()  # the same sketch gives the same ids
    start = first_id(SKETCH)
    assert [e.id for e in page.elements] == list(range(start, start + len(page.elements)))
    assert page.title == "Tolvik Bakery"
    roles = [(e.role, e.label) for e in page.elements[:7]]
    assert roles[4:6] == [("textbox", "Search the bakery"), ("button", "Search")]  # a search box gets its button
    assert page.fold == FOLD and len(page.below) == len(page.elements) - FOLD
    shown = page.render()
    assert f"[{start}] heading 'Tolvik Bakery'" in shown and "scroll down to see them" in shown
    assert "Order a cake" not in shown  # below the fold
    assert set(listed_elements(shown)) == {e.id for e in page.elements[:FOLD]}


def test_the_sketch_is_read_leniently():
    page = page_from_sketch(
        "- Title: Cakes\n1. link: Prices\nLink: Prices\nA loose sentence without a role word.\n"
        "select: Flavour: Lemon\nselect: Size: Small, Medium or Large\nbutton: 'Order'"
    )
    got = [(e.role, e.label, e.options) for e in page.elements]
    assert got == [
        ("heading", "Cakes", ()),
        ("link", "Prices", ()),  # the duplicate is skipped
        ("text", "A loose sentence without a role word.", ()),
        ("textbox", "Flavour", ()),  # a list of one option is a text box
        ("combobox", "Size", ("Small", "Medium", "Large")),
        ("button", "Order", ()),
    ]
    assert page.fold == len(page.elements)  # a short page is all visible
    assert listed_elements(page.render())[page.elements[4].id].options == ("Small", "Medium", "Large")


def test_a_menu_on_one_line_becomes_one_link_each():
    page = page_from_sketch("title: Cakes\nLinks: Home, About us\nmenu: Prices | Contact\nFields: Name")
    assert [(e.role, e.label) for e in page.elements[1:]] == [
        ("link", "Home"),
        ("link", "About us"),
        ("link", "Prices"),
        ("link", "Contact"),
        ("textbox", "Name"),
    ]


def test_a_copied_markdown_text_still_makes_a_page_with_a_contents_menu():
    text = (
        "# Tolvik Bakery\nMara bakes bread. The shop opens at 7:00.\n## Prices\n| Item | Price |\n|---|---|\n"
        "| Rye loaf | 3 euros |\n## Opening times\nThe shop closes at 18:00."
    )
    page = page_from_sketch(text)
    assert [(e.role, e.label) for e in page.elements] == [
        ("heading", "Tolvik Bakery"),
        ("link", "Prices"),  # nothing to act on: each section heading gets a link
        ("link", "Opening times"),
        ("textbox", "Search"),  # and the site's search box
        ("button", "Search"),
        ("text", "Mara bakes bread."),  # a paragraph is one element a sentence
        ("text", "The shop opens at 7:00."),
        ("heading", "Prices"),
        ("row", "Item | Price"),
        ("row", "Rye loaf | 3 euros"),
        ("heading", "Opening times"),
        ("text", "The shop closes at 18:00."),
    ]
    opened = Browser(page).apply(Action("click", {"element_id": page.elements[1].id}))
    assert [e.label for e in listed_elements(opened).values()] == [
        "Prices",
        "Item | Price",
        "Rye loaf | 3 euros",
        "Back",
    ]


def test_every_demo_task_is_one_the_instruction_flow_keeps():
    """The instruction flow drops lines that ask nothing: a demo phrased so ("Open the page ...") teaches the model
    to write tasks that are all dropped."""
    skill = get_skill(SKILL)
    demos = [line for kind in skill.instruction_types for line in kind.demo_instructions.splitlines()]
    demos += [goal.demo_revision for goal in skill.refinement_goals] + [task for task, _ in skill.response_demos]
    assert [task for task in demos if not asks_something(task)] == []


def test_the_browser_scrolls_opens_links_types_selects_and_sends():
    page, form = _page(), _page(FORM)
    ids = _ids(page)
    browser = Browser(page)
    assert ids["Order a cake"] not in browser.visible()
    shown = browser.apply(Action("scroll", {"direction": "down"}))
    assert f"[{ids['Order a cake']}] link 'Order a cake'" in shown and ids["Order a cake"] in browser.visible()
    assert "nothing more below" in browser.apply(Action("scroll", {"direction": "down"}))
    opened = browser.apply(Action("click", {"element_id": ids["Opening times"]}))
    assert opened.startswith("Opened 'Opening times'") and "The shop opens at 7:00" in opened
    back = next(e.id for e in listed_elements(opened).values() if e.label == "Back")
    assert min(listed_elements(opened)) > max(e.id for e in page.elements)  # the new page's ids are new
    assert "Back on the first page" in browser.apply(Action("click", {"element_id": back}))
    browser.apply(Action("type", {"element_id": ids["Search the bakery"], "text": "cinnamon buns"}))
    results = browser.apply(Action("click", {"element_id": ids["Search"]}))
    assert results.startswith("Results for 'cinnamon buns'") and "200 cinnamon buns" in results
    assert "not a text box" in browser.apply(Action("type", {"element_id": ids["Home"], "text": "x"}))

    fids = _ids(form)
    browser = Browser(form)
    browser.apply(Action("type", {"element_id": fids["Your name"], "text": "Ana"}))
    assert "now shows 'Large'" in browser.apply(Action("select", {"element_id": fids["Size"], "option": "Large"}))
    assert "is now checked" in browser.apply(Action("click", {"element_id": fids["Add a candle"]}))
    sent = browser.apply(Action("click", {"element_id": fids["Send order"]}))
    assert "The form was sent with: Your name = 'Ana'; Size = 'Large'; Add a candle = checked." in sent
    assert "value: 'Ana'" in browser.view()


@pytest.mark.parametrize(
    "line,expected",
    [
        ("click [12]", ("click", 12, "")),
        ("Click 12", ("click", 12, "")),
        ("type [13] 'flat tire'", ("type", 13, "flat tire")),
        ('enter [13] "Ana Ruiz"', ("type", 13, "Ana Ruiz")),
        ("select [20] 'Large'", ("select", 20, "Large")),
        ("choose [20] Medium", ("select", 20, "Medium")),
        ("scroll down", ("scroll", None, "down")),
        ("scroll up to the top", ("scroll", None, "up")),
        ("stop 'The shop closes at 18:00.'", ("stop", None, "The shop closes at 18:00.")),
        ("stop", ("stop", None, "")),
        ("Action: press [31] to send", ("click", 31, "to send")),
    ],
)
def test_action_lines_are_read_leniently(line, expected):
    parsed = parse_action(line)
    assert (parsed.name, parsed.element_id, parsed.value) == expected


def test_an_action_line_without_an_action_is_not_read():
    assert parse_action("The page shows the bakery.") is None


def test_targets_and_options_are_repaired_only_when_one_reading_is_left():
    form = _page(FORM)
    visible = {e.id: e for e in form.elements}
    fids = _ids(form)
    assert find_target("click", fids["Send order"], "", visible).label == "Send order"
    assert find_target("click", 999, "click the Send order button", visible).label == "Send order"
    assert find_target("select", fids["Your name"], "", visible).label == "Size"  # the only list
    assert find_target("type", 999, "", visible) is None  # two text boxes: no guess
    assert find_target("click", 999, "", visible) is None
    # An id copied from a worked example, but the rationale names the element in words.
    assert find_target("click", 78, "click [78] The order can now be sent.", visible).label == "Send order"
    assert find_target("click", 78, "click [78] The page is nice.", visible) is None
    assert match_option("large", ("Small", "Large")) == "Large"
    assert match_option("the large one", ("Small", "Large")) == "Large"
    assert match_option("huge", ("Small", "Large")) is None


def test_the_worked_answers_resolve_on_the_demo_pages_and_pass_the_validators():
    skill = get_skill(SKILL)
    traces = demo_traces(skill)
    assert len(traces) == len(skill.response_demos)
    assert {action.name for trace in traces for action, _ in trace.steps} == {
        "click",
        "type",
        "select",
        "scroll",
        "stop",
    }
    for trace in traces:
        failures = validate(view_of(conversation(trace.page, trace.task, trace.steps), tools=TOOLS), SKILL)
        for name in ("copies_demo", "demo_page", "copies_demo_answer"):  # the demos are the worked example
            failures.pop(name, None)
        assert failures == {}, (trace.task, failures)
    with pytest.raises(ValueError, match="no visible element"):
        resolve_trace("click: Lost property | It is at the bottom.\nstop: done | Done.", traces[0].page)


# --------------------------------------------------------------------------------------------------------------------
# The validators
# --------------------------------------------------------------------------------------------------------------------

TASK = "Find out when the Tolvik bakery shop closes."


def _good_steps():
    ids = _ids(_page())
    return [
        (
            Action("scroll", {"direction": "down"}),
            "The opening times are not visible yet, so they must be further down.",
        ),
        (Action("stop", {"answer": "The shop closes at 18:00."}), "The page now shows the closing time."),
    ], ids


def _view(messages, tools=TOOLS):
    return view_of(messages, None, tools)


def _good():
    steps, _ = _good_steps()
    return conversation(_page(), TASK, steps)


def test_a_good_sequence_passes_every_validator():
    assert validate(_view(_good()), SKILL) == {}
    page, form = _page(), _page(FORM)
    fids = _ids(form)
    steps = [
        (Action("type", {"element_id": fids["Your name"], "text": "Ana Ruiz"}), "The form asks for a name first."),
        (Action("select", {"element_id": fids["Size"], "option": "Large"}), "The task wants a large cake."),
        (Action("click", {"element_id": fids["Send order"]}), "Everything is filled in, so the order can be sent."),
        (Action("stop", {"answer": "The order for a large cake was sent."}), "The page says the form was sent."),
    ]
    messages = conversation(form, "Fill in the cake order for Ana Ruiz, choose a large cake and send it.", steps)
    assert validate(_view(messages), SKILL) == {}
    ids = _ids(page)
    steps = [
        (Action("click", {"element_id": ids["Opening times"]}), "The Opening times link leads to the hours."),
        (Action("stop", {"answer": "The shop opens at 7:00."}), "The opened page gives the time."),
    ]
    assert (
        validate(_view(conversation(page, "Open the opening times and tell me when the shop opens.", steps)), SKILL)
        == {}
    )
    # A tool turn reveals new ids (the opened page's Back link): acting on them is fine.
    opened = conversation(page, TASK, steps[:1])
    back = next(e.id for e in listed_elements(opened[-1]["content"]).values() if e.label == "Back")
    steps = [steps[0], (Action("click", {"element_id": back}), "The task wants the first page again."), steps[1]]
    assert validate(_view(conversation(page, "Open the opening times, go back and tell me.", steps)), SKILL) == {}


def _replace_call(messages, index, name=None, arguments=None):
    messages = json.loads(json.dumps(messages))
    calls = [m for m in messages if m.get("tool_calls")]
    function = calls[index]["tool_calls"][0]["function"]
    if name is not None:
        function["name"] = name
    if arguments is not None:
        function["arguments"] = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return messages


def _bad_cases():
    page = _page()
    ids = _ids(page)
    good = _good()
    stop = (Action("stop", {"answer": "The shop closes at 18:00."}), "The page shows the closing time.")
    scroll = (Action("scroll", {"direction": "down"}), "The closing time is further down the page.")
    return {
        "no_page": [{"role": "user", "content": f"The bakery page.\n\n{TASK}"}, *good[1:]],
        "no_task": conversation(page, "The bakery in Tolvik and its bread.", [scroll, stop]),
        "copies_demo": conversation(page, "Find a way to pay for a swim online on this page.", [scroll, stop]),
        "no_actions": [good[0], {"role": "assistant", "content": "The shop closes at 18:00."}],
        "unknown_action": _replace_call(good, 0, name="navigate"),
        "bad_arguments": _replace_call(good, 0, arguments={"direction": "sideways"}),
        # An id the page never showed, and one only below the fold that was clicked without scrolling.
        "unknown_element": conversation(
            page, TASK, [(Action("click", {"element_id": 7}), "It opens the hours."), stop]
        ),
        "wrong_role": conversation(
            page, TASK, [(Action("type", {"element_id": ids["Home"], "text": "hours"}), "Type the word hours."), stop]
        ),
        "no_stop": conversation(page, TASK, [scroll]) + [{"role": "assistant", "content": "It closes at 18:00."}],
        "action_after_stop": conversation(page, TASK, [scroll, stop, scroll]),
        "missing_observation": [m for m in good if m.get("role") != "tool"],
        "empty_rationale": conversation(page, TASK, [(scroll[0], ""), stop]),
        "no_final_answer": good[:-1],
        "ungrounded_answer": conversation(
            page, TASK, [scroll, (Action("stop", {"answer": "The shop closes at 19:30."}), "The page says so.")]
        ),
        # Both seen in the embedded model's kept rows before these checks existed.
        "stops_without_acting": conversation(
            page, "Select the largest cake size on the order form.", [(stop[0], "The answer is on the page.")]
        ),
        # Seen in the embedded model's kept rows after the responder's repairs: a sketch line as the task, the demo's
        # form page with the demo's answer.
        "task_off_page": conversation(
            page,
            "Select the age group 13 to 20 for a swimming lesson.",
            [
                # what the agent typed is not what the page shows
                (Action("type", {"element_id": _ids(page)["Search the bakery"], "text": "age group"}), "Type it."),
                (Action("stop", {"answer": "The lesson is for the age group 13 to 20."}), "The lesson is booked."),
            ],
        ),
        "sketch_as_task": conversation(page, "title: Tolvik Bakery link: Opening times", [scroll, stop]),
        "demo_page": conversation(
            page_from_sketch(get_skill(SKILL).transformations[1].demo_output + "\nlink: Home"),
            "Choose the age group for a child of eight and book the lesson.",
            [(Action("stop", {"answer": "The form offers the age group 7 to 9."}), "The list shows the groups.")],
        ),
        "copies_demo_answer": conversation(
            page,
            "Pay for a loaf of rye bread online on this page.",
            [
                (
                    Action(
                        "stop",
                        {"answer": "This page has no payment form or link, so a swim cannot be paid for online here."},
                    ),
                    "No element on the page takes a payment.",
                )
            ],
        ),
        "answer_off_page": conversation(
            page,
            TASK,
            [scroll, (Action("stop", {"answer": "The swimming pool charges an operating levy."}), "I found it.")],
        ),
    }


@pytest.mark.parametrize("name", sorted(_bad_cases()))
def test_each_validator_catches_its_bad_sequence(name):
    failures = validate(_view(_bad_cases()[name]), SKILL)
    assert name in failures, failures


def test_every_validator_has_a_bad_sequence():
    assert {validator.name for validator in get_skill(SKILL).validators} == set(_bad_cases())


def test_the_bad_sequences_named_in_the_issue_are_rejected_for_the_right_reason():
    page = _page()
    ids = _ids(page)
    below = ids["Order a cake"]
    unseen = conversation(
        page, TASK, [(Action("click", {"element_id": below}), "It is the cake link."), *_good_steps()[0][1:]]
    )
    assert "has not shown" in validate(_view(unseen), SKILL)["unknown_element"]
    typed_into_link = validate(_view(_bad_cases()["wrong_role"]), SKILL)["wrong_role"]
    assert typed_into_link == f"type writes into [{ids['Home']}] link 'Home', which is not a text box"
    assert validate(_view(_bad_cases()["action_after_stop"]), SKILL)["action_after_stop"] == (
        "the response acts after stop (scroll)"
    )
    into_field = _replace_call(_good(), 0, name="click", arguments={"element_id": ids["Search the bakery"]})
    assert "not a link, button or checkbox" in validate(_view(into_field), SKILL)["wrong_role"]
    choice = _replace_call(_good(), 0, name="select", arguments={"element_id": ids["Home"], "option": "x"})
    assert "not a drop-down list" in validate(_view(choice), SKILL)["wrong_role"]
    assert (
        "not an integer id"
        in validate(_view(_replace_call(_good(), 0, "click", {"element_id": "12"})), SKILL)["bad_arguments"]
    )
    assert (
        "not a JSON object"
        in validate(_view(_replace_call(_good(), 0, arguments="scroll down")), SKILL)["bad_arguments"]
    )


# --------------------------------------------------------------------------------------------------------------------
# The responder end to end (DummyLM)
# --------------------------------------------------------------------------------------------------------------------


def _respond(answers, passage=SKETCH, task=TASK):
    responder = WebAgentResponder(get_skill(SKILL))
    with dspy.context(lm=DummyLM(answers)):
        return responder(passage=passage, instruction=task, config={"seed": 7})


def test_the_responder_makes_a_tool_call_conversation_that_passes():
    ids = _ids(_page())
    result = _respond(
        [
            {"rationale": "The closing time is not visible, so it must be further down.", "action": "scroll down"},
            {"rationale": "The page shows the shop's hours.", "action": "stop 'The shop closes at 18:00.'"},
        ]
    )
    assert result.answer == "The shop closes at 18:00." and result.tools == TOOLS
    roles = [m["role"] for m in result.messages]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    first = result.messages[1]["tool_calls"][0]
    assert first["function"]["name"] == "scroll" and json.loads(first["function"]["arguments"]) == {"direction": "down"}
    assert (
        result.messages[2]["tool_call_id"] == first["id"] and str(ids["Order a cake"]) in result.messages[2]["content"]
    )
    assert result.messages[0]["content"] == f"{_page().render()}\n\n{TASK}"
    assert validate(_view(result.messages), SKILL) == {}


def test_the_responder_repairs_what_it_can_decide_alone():
    fids = _ids(_page(FORM))
    result = _respond(
        [
            # A label instead of an id; no value, so the value predictor is asked.
            {"rationale": "The form asks for the name in Your name.", "action": "type Your name"},
            {"value": "Ana Ruiz"},
            # An id that is not a list, but the form has only one list; the option in other case.
            {"rationale": "The task wants a large cake.", "action": f"select [{fids['Phone']}] 'large'"},
            {"rationale": "Everything is filled in.", "action": f"click [{fids['Send order']}]"},
            # The same action again changes nothing: the agent stops and is asked for its answer.
            {"rationale": "Send it again to be sure.", "action": f"click [{fids['Send order']}]"},
            {"value": "The order for a large cake was sent."},
        ],
        passage=FORM,
        task="Fill in the cake order for Ana Ruiz, choose a large cake and send it.",
    )
    calls = [
        (c["function"]["name"], json.loads(c["function"]["arguments"]))
        for m in result.messages
        for c in m.get("tool_calls") or []
    ]
    assert calls == [
        ("type", {"element_id": fids["Your name"], "text": "Ana Ruiz"}),
        ("select", {"element_id": fids["Size"], "option": "Large"}),
        ("click", {"element_id": fids["Send order"]}),
        ("stop", {"answer": "The order for a large cake was sent."}),
    ]
    assert "would change nothing more" in result.messages[-3]["content"]
    assert validate(_view(result.messages), SKILL) == {}


def test_a_stop_answer_with_figures_no_page_showed_becomes_the_page_text_the_task_is_about():
    result = _respond(
        [
            {"rationale": "The closing time is not visible, so it must be further down.", "action": "scroll down"},
            {"rationale": "The page shows the shop's hours.", "action": "stop 'The shop closes at 17:45.'"},
        ]
    )
    assert result.answer == "The shop opens at 7:00 and closes at 18:00."
    assert result.written_by_code == ["final answer"]
    stop = result.messages[-3]["tool_calls"][0]["function"]
    assert json.loads(stop["arguments"]) == {"answer": result.answer}
    assert validate(_view(result.messages), SKILL) == {}


def test_an_answer_no_page_text_can_replace_is_kept_for_the_validators_to_judge():
    result = _respond(
        [{"rationale": "The page says nothing about it.", "action": "stop 'Parking costs 4 euros.'"}],
        task="How much is parking at the harbour?",
    )
    assert result.answer == "Parking costs 4 euros." and result.written_by_code == []
    assert {"ungrounded_answer", "answer_off_page"} & set(validate(_view(result.messages), SKILL))


def test_an_element_the_line_does_not_name_is_the_one_the_task_names():
    ids = _ids(_page())
    result = _respond(
        [
            {"rationale": "Go there first.", "action": "click [74]"},
            {"rationale": "The opened page lists the hours.", "action": "stop 'The shop opens at 7:00.'"},
        ],
        task="Open the Opening times page and tell me when the shop opens.",
    )
    call = result.messages[1]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"]) == {"element_id": ids["Opening times"]}
    assert validate(_view(result.messages), SKILL) == {}


@pytest.mark.parametrize(
    "answers,passage,reason",
    [
        ([{"rationale": "Look at the page.", "action": "The bakery is nice."}], SKETCH, "names no action"),
        ([{"rationale": "Do it now.", "action": "click [3]"}], SKETCH, "nothing to click on the page"),
        ([{"rationale": "Choose it.", "action": "select [0] 'Huge'"}], FORM, "none of the options"),
        (
            [
                {"rationale": "Look further down.", "action": "scroll down"},
                {"rationale": "And up.", "action": "scroll up"},
            ]
            * MAX_STEPS,
            SKETCH,
            f"did not stop within {MAX_STEPS}",
        ),
        ([], "title: Bread", "no page an agent could use"),
    ],
)
def test_the_responder_fails_with_a_reason_when_the_model_output_makes_no_valid_sequence(answers, passage, reason):
    with pytest.raises(InvalidOutput, match=reason):
        _respond(answers, passage=passage)


# --------------------------------------------------------------------------------------------------------------------
# The pipeline and the store
# --------------------------------------------------------------------------------------------------------------------


def _pipeline_answers():
    return [
        {"transformed": SKETCH},
        {"tasks": TASK},
        {"suggestions": "- Ask for the opening time as well."},
        {"revised_task": "Find out when the Tolvik bakery shop opens and closes."},
        {"rationale": "The hours are not visible, so they must be further down.", "action": "scroll down"},
        {
            "rationale": "The page shows the shop's hours.",
            "action": "stop 'The shop opens at 7:00 and closes at 18:00.'",
        },
    ]


def test_the_pipeline_makes_a_web_agent_sample_and_the_store_keeps_it(tmp_path):
    import datasets

    from agentinstruct.metrics.scoring import Scorer
    from agentinstruct.records import make_record
    from agentinstruct.seeds import Seed
    from agentinstruct.store import AdmittedUnit, RunStore

    skill = get_skill(SKILL)
    pipeline = AgentInstructPipeline(skill, types_per_seed=1, per_agent=1)
    # The answers start with a transformation's: a draw whose transformation calls the LM (identity does not).
    draw = next(d for d in range(50) if pipeline.plan("bakery", draw=d).transformation != "identity")
    plan = pipeline.plan("bakery", draw=draw)
    seed_text = "Mara's bakery in Tolvik has baked bread since 1952. The shop opens at 7:00 and closes at 18:00."
    with dspy.context(lm=DummyLM(_pipeline_answers())):
        prediction = pipeline(seed=seed_text, seed_id="bakery", draw=draw)
    assert prediction.failures == [] and len(prediction.samples) == 1
    sample = prediction.samples[0]
    assert sample.transformation == plan.transformation and sample.tools == TOOLS
    assert [m["role"] for m in sample.messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert sample.messages[0]["content"].endswith("\n\nFind out when the Tolvik bakery shop opens and closes.")

    seed = Seed(seed_id="bakery", text=seed_text, source="bakery.txt")
    record = make_record(sample, seed, skill, program_id="p", generator_lm="dummy", run_id="r")
    score = Scorer(SKILL).assess(view_of(record["messages"], record["context"], record["tools"]))
    assert score.validator_failures == {}
    record.update(record_id="bakery-0-0", scores=score.as_columns(), novelty=1.0)
    store = RunStore(tmp_path / "out", {"skill": SKILL})
    store.add_admitted(AdmittedUnit((0, "bakery"), [record], [[0.0]], [], []))
    assert store.write_outputs(1)["data"] == 1
    store.close()

    back = datasets.load_from_disk(str(tmp_path / "out"))["train"][0]
    turns = [{k: v for k, v in turn.items() if v is not None} for turn in back["messages"]]
    assert turns == sample.messages
    assert json.loads(back["tools"]) == TOOLS
    assert validate(view_of(back["messages"], back["context"], back["tools"]), SKILL) == {}
