"""Validators of the web-agent skill: a page with element ids and a task, answered by browser actions as tool calls
(`click`, `type`, `select`, `scroll`, `stop`), each with a rationale, each followed by what the page showed, ending
with stop and a final answer.

The checks read the conversation only (`PairView.messages`, the page rendered in the user turn and the elements each
tool turn lists, see `programs/web_page.py`), so they judge records made elsewhere as well as ours.
"""

from __future__ import annotations

import re
from functools import lru_cache, partial

from agentinstruct.metrics.grounding import digit_numbers
from agentinstruct.metrics.text import PairView, call_arguments, call_name, tool_calls, words
from agentinstruct.metrics.validators import Validator, asks_something, copies_demo
from agentinstruct.programs.web_page import ARGUMENTS, CLICKABLE, SELECTABLE, TYPABLE, Element, listed_elements

MAX_ACTIONS = 12
MIN_RATIONALE_WORDS = 3
_BROWSER_TASK = re.compile(
    r"^\W*(?:please\s+)?(?:open|click|go|visit|search|look|navigate|scroll|type|enter|tick|check|submit|send|book|"
    r"sign|log|buy|order|pay|register|subscribe|apply|return|use|sort|filter|download|report|contact|pick)\b",
    re.IGNORECASE,
)


def _first_user(view: PairView) -> str:
    return next((m.get("content") or "" for m in view.messages if m.get("role") == "user"), view.passage)


def _no_page(view: PairView) -> str | None:
    if not listed_elements(_first_user(view)):
        return "the user turn shows no page (no elements listed as \"[id] role 'label'\")"
    return None


def _no_task(view: PairView) -> str | None:
    if not (asks_something(view.instruction) or _BROWSER_TASK.search(view.instruction)):
        return "the task asks nothing and sets nothing to do"
    return None


def _no_actions(view: PairView) -> str | None:
    calls = tool_calls(view)
    if not calls:
        return "the response takes no browser action (no tool calls)"
    if len(calls) > MAX_ACTIONS:
        return f"the response takes {len(calls)} actions; more than {MAX_ACTIONS} is a loop"
    return None


def _unknown_action(view: PairView) -> str | None:
    offered = {str((t.get("function") or {}).get("name")) for t in view.tools} or set(ARGUMENTS)
    for _, call in tool_calls(view):
        name = call_name(call)
        if name not in ARGUMENTS or name not in offered:
            return f"the response calls '{name}', which is not a browser action offered"
    return None


def _argument_problem(name: str, arguments: dict | None) -> str | None:
    if arguments is None:
        return "arguments that are not a JSON object"
    wanted = ARGUMENTS[name]
    if set(arguments) != set(wanted):
        return f"arguments {sorted(arguments)} where it takes {sorted(wanted)}"
    for key, kind in wanted.items():
        value = arguments[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            return f"{key}={value!r}, not an integer id"
        if kind is str and (not isinstance(value, str) or not value.strip()):
            return f"an empty or non-text {key}"
    if name == "scroll" and arguments["direction"] not in ("up", "down"):
        return f"direction={arguments['direction']!r}, not 'up' or 'down'"
    return None


def _bad_arguments(view: PairView) -> str | None:
    for _, call in tool_calls(view):
        name = call_name(call)
        if name in ARGUMENTS:
            problem = _argument_problem(name, call_arguments(call))
            if problem:
                return f"{name} is called with {problem}"
    return None


def _known_elements(view: PairView, before: int) -> dict[int, Element]:
    """The elements listed in the user turn and in the tool turns before message `before`."""
    known: dict[int, Element] = {}
    for message in view.messages[:before]:
        if message.get("role") in ("user", "tool"):
            known.update(listed_elements(message.get("content") or ""))
    return known


def _targets(view: PairView):
    """(action name, its arguments, the element it names or None, the element id) for every call with an id."""
    for index, call in tool_calls(view):
        arguments = call_arguments(call)
        if not arguments or not isinstance(arguments.get("element_id"), int):
            continue
        element_id = arguments["element_id"]
        yield call_name(call), arguments, _known_elements(view, index).get(element_id), element_id


def _unknown_element(view: PairView) -> str | None:
    for name, _, element, element_id in _targets(view):
        if element is None:
            return f"{name} names element [{element_id}], which the page has not shown"
    return None


def _wrong_role(view: PairView) -> str | None:
    for name, arguments, element, _ in _targets(view):
        if element is None:
            continue
        if name == "type" and element.role not in TYPABLE:
            return f"type writes into {element.line()}, which is not a text box"
        if name == "select":
            if element.role not in SELECTABLE:
                return f"select chooses in {element.line()}, which is not a drop-down list"
            if element.options and arguments.get("option") not in element.options:
                return f"select chooses '{arguments.get('option')}', which is not an option of [{element.id}]"
        if name == "click" and element.role not in CLICKABLE:
            return f"click targets {element.line()}, which is not a link, button or checkbox"
    return None


def _no_stop(view: PairView) -> str | None:
    calls = tool_calls(view)
    if calls and not any(call_name(call) == "stop" for _, call in calls):
        return "the action sequence never ends with stop"
    return None


def _action_after_stop(view: PairView) -> str | None:
    names = [call_name(call) for _, call in tool_calls(view)]
    if "stop" in names and names.index("stop") != len(names) - 1:
        return f"the response acts after stop ({names[names.index('stop') + 1]})"
    return None


def _missing_observation(view: PairView) -> str | None:
    """Every call is answered by a tool turn with its id before the next assistant turn (the OpenAI chat shape)."""
    messages = view.messages
    for index, call in tool_calls(view):
        answered = set()
        for message in messages[index + 1 :]:
            if message.get("role") != "tool":
                break
            answered.add(message.get("tool_call_id"))
        if call.get("id") not in answered:
            return f"the call {call_name(call)} ({call.get('id')}) has no tool turn with what the page showed"
    return None


def _empty_rationale(view: PairView) -> str | None:
    for message in view.messages:
        if message.get("role") == "assistant" and message.get("tool_calls"):
            rationale = message.get("content") or ""
            if len(words(rationale)) < MIN_RATIONALE_WORDS:
                action = call_name(message["tool_calls"][0])
                return f"the {action} action has no rationale ({rationale.strip()!r})"
    return None


def _no_final_answer(view: PairView) -> str | None:
    last = view.messages[-1] if view.messages else {}
    if last.get("role") != "assistant" or last.get("tool_calls") or not (last.get("content") or "").strip():
        return "the conversation does not end with an assistant turn that answers"
    return None


def invented_figures(answer: str, shown: str, task: str) -> str | None:
    """Figures in an answer that neither the pages shown (`shown`: the user turn and tool turns) nor the task state."""
    invented = digit_numbers(answer) - digit_numbers(shown) - digit_numbers(task)
    if invented:
        figures = ", ".join(f"{value:g}" for value in sorted(invented))
        return f"the answer states figures the page never showed: {figures}"
    return None


def _shown(view: PairView) -> str:
    return " ".join(m.get("content") or "" for m in view.messages if m.get("role") in ("user", "tool"))


def _ungrounded_answer(view: PairView) -> str | None:
    """Figures in the final answer that neither the page, the task nor any tool turn shows."""
    return invented_figures(view.response, _shown(view), view.instruction)


_ACTING_TASK = re.compile(
    r"\b(?:select|choose|pick|fill|type|enter|search|open|click|tick|submit|send|sign|book|scroll|go to|navigate)\b",
    re.IGNORECASE,
)
_CANNOT = re.compile(
    r"\b(?:cannot|can['’]t|could not|couldn['’]t|not possible|impossible|no such|not (?:on|offer|offered|shown|listed|"
    r"available)|does not (?:have|offer|show|list)|doesn['’]t (?:have|offer|show|list))\b",
    re.IGNORECASE,
)


def _stops_without_acting(view: PairView) -> str | None:
    """A task that asks to act on the page (select, fill in, search, open, ...) answered by stopping at once, when the
    answer does not say the task cannot be done there."""
    calls = tool_calls(view)
    if not calls or any(call_name(call) != "stop" for _, call in calls):
        return None
    if _ACTING_TASK.search(view.instruction) and not _CANNOT.search(view.response):
        return "the task asks to act on the page, but the agent stopped without a single action"
    return None


def words_off_page(answer: str, shown: str, task: str) -> str | None:
    """An answer whose content words are mostly on no page shown (nor in the task), unless it says the task cannot
    be done there."""
    from agentinstruct.metrics.grounding import content_stems

    if _CANNOT.search(answer):
        return None
    stems = content_stems(answer)
    if len(stems) < 2:
        return None
    seen = content_stems(shown) | content_stems(task)
    share = len(stems & seen) / len(stems)
    if share < 0.5:
        return f"the answer is mostly words no page showed ({share:.0%} of its content words are on the pages)"
    return None


def answer_not_from_pages(answer: str, shown: str, task: str) -> str | None:
    """Why a final answer does not come from the pages the agent saw (invented figures, words from elsewhere), or
    None: what `ungrounded_answer` and `answer_off_page` reject, for the responder to check before it stops."""
    return invented_figures(answer, shown, task) or words_off_page(answer, shown, task)


def _answer_off_page(view: PairView) -> str | None:
    """A final answer whose content words are mostly on no page the agent saw (nor in the task): an answer from
    elsewhere (the worked example, the model's memory), not from the page."""
    return words_off_page(view.response, _shown(view), view.instruction)


_SKETCH_TASK = re.compile(
    r"^\W*(?:title|page|heading|section|link|links|menu|nav|tab|button|search|searchbox|field|input|textbox|select|"
    r"dropdown|combobox|checkbox|text|paragraph|note|row|item|content)\s*:",
    re.IGNORECASE,
)


def _sketch_as_task(view: PairView) -> str | None:
    """A task that is a line of a page sketch ("title: Book a lesson", "select: Sort by: Price | Name"): a small model
    continues the page it was shown instead of writing a request."""
    if _SKETCH_TASK.search(view.instruction):
        return f"the task is a line of a page sketch, not a request: '{view.instruction[:60]}'"
    return None


def _copies_demo_answer(view: PairView) -> str | None:
    """A final answer that is a worked answer of the data file (about the example's pool, on another page)."""
    if copies_demo(PairView(view.response, "", ""), skill="web_agent"):
        return "the answer copies a worked answer of the skill's example"
    return None


def _task_off_page(view: PairView) -> str | None:
    """A task about something no page shows (the worked example's lesson on a cider-press page), answered as if it
    could be done: only a task answered by saying the page cannot do it may ask for what the page lacks."""
    from agentinstruct.metrics.validators import off_topic

    if _CANNOT.search(view.response):
        return None
    # What the pages list, not what the agent typed into them ("[94] textbox 'Search' now holds 'Age group'").
    shown = [m.get("content") or "" for m in view.messages if m.get("role") == "tool"]
    pages = "\n".join([view.passage, *(e.label for text in shown for e in listed_elements(text).values())])
    reason = off_topic(PairView(pages, view.instruction, view.response))
    return f"the task is not about the page: {reason}" if reason else None


@lru_cache(maxsize=1)
def _demo_labels() -> tuple[frozenset[str], ...]:
    """The element labels of each demo page (one per transformation's worked sketch)."""
    from agentinstruct.programs.skills import get_skill
    from agentinstruct.programs.web_page import page_from_sketch

    pages = [page_from_sketch(agent.demo_output) for agent in get_skill("web_agent").transformations]
    return tuple(frozenset(e.label.lower() for e in page.elements if e.role != "text") for page in pages)


def _demo_page(view: PairView) -> str | None:
    """A page whose headings, links, boxes and buttons are mostly a demo page's: the model copied the worked sketch
    instead of sketching the seed, and the task is done on the example's page."""
    labels = {e.label.lower() for e in listed_elements(_first_user(view)).values() if e.role != "text"}
    labels -= {"search", "back"}
    for demo in _demo_labels():
        if len(labels) >= 3 and len(labels & demo) * 2 >= len(labels):
            return f"the page is the worked example's ({', '.join(sorted(labels & demo)[:3])}, ...), not the seed's"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_page", _no_page),
    Validator("no_task", _no_task),
    Validator("sketch_as_task", _sketch_as_task),
    Validator("task_off_page", _task_off_page),
    Validator("copies_demo", partial(copies_demo, skill="web_agent")),
    Validator("demo_page", _demo_page),
    Validator("copies_demo_answer", _copies_demo_answer),
    Validator("no_actions", _no_actions),
    Validator("unknown_action", _unknown_action),
    Validator("bad_arguments", _bad_arguments),
    Validator("unknown_element", _unknown_element),
    Validator("wrong_role", _wrong_role),
    Validator("no_stop", _no_stop),
    Validator("action_after_stop", _action_after_stop),
    Validator("missing_observation", _missing_observation),
    Validator("empty_rationale", _empty_rationale),
    Validator("no_final_answer", _no_final_answer),
    Validator("ungrounded_answer", _ungrounded_answer),
    Validator("stops_without_acting", _stops_without_acting),
    Validator("answer_off_page", _answer_off_page),
)
