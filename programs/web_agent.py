"""The web-agent responder: does a task on a simulated page one browser action at a time, as tool calls.

The final page text (a sketch written by a transformation agent, see `programs/web_page.py`) becomes a page with
element ids; the user turn is that page and the task. Each step asks the model for one short line of rationale and
one short action line (`click [12]`, `type [13] 'flat tire'`, `scroll down`, `stop 'answer'`); Python reads the
action leniently, repairs what it can decide alone (a label named instead of an id, the only text box on the page, an
option written in other case, the element the task names when the line names none), runs it on the simulated
browser and records the call and what the page showed. A stop answer that states figures or words no page showed is
replaced by the page text the task is about (`answer_from_pages`):

    user       page + task
    assistant  rationale, tool_calls=[click(element_id=12)]
    tool       what the page now shows
    ...
    assistant  rationale, tool_calls=[stop(answer=...)]
    tool       The task is over.
    assistant  the answer

An action line that names no action, or an element that is not on the page, raises `InvalidOutput`: the stage fails
with that reason instead of making a conversation with a wrong id in it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import dspy

from agentinstruct.metrics.grounding import content_stems
from agentinstruct.programs.pipeline import InvalidOutput
from agentinstruct.programs.starter import StarterPredict
from agentinstruct.programs.web_page import (
    CLICKABLE,
    MAX_LABEL,
    MAX_TEXT,
    SELECTABLE,
    TOOLS,
    TYPABLE,
    Action,
    Browser,
    Element,
    Page,
    clean_label,
    listed_elements,
    page_from_sketch,
    parse_action,
)
from agentinstruct.signatures.agents import IDENTITY
from agentinstruct.signatures.web_agent import ActionValue, NextAction

MAX_STEPS = 6
"""Actions before a sequence that has not stopped fails."""
MAX_STEP_DEMOS = 6
STEP_TOKENS = 80
"""A rationale or an action line is one short line: a longer completion is a model that has lost the format."""
MIN_ELEMENTS = 4
MAX_ANSWER = 300
MAX_VALUE = 80


@dataclass(frozen=True)
class DemoTrace:
    """A worked answer of the data file, resolved on the demo page it fits: its actions and their rationales."""

    task: str
    page: Page
    steps: tuple[tuple[Action, str], ...]


def _demo_pages(skill) -> list[Page]:
    return [page_from_sketch(agent.demo_output) for agent in skill.transformations if agent.name != IDENTITY]


def resolve_trace(response: str, page: Page) -> tuple[tuple[Action, str], ...]:
    """A worked answer's lines (`action: target = value | rationale`) as actions on `page`, replayed on the simulated
    browser so that every target is visible when it is used.

    Raises:
        ValueError: A line names no action, a label the page does not show at that point, or an option the list lacks.
    """
    browser = Browser(page)
    steps = []
    for line in response.splitlines():
        head, separator, rationale = line.rpartition(" | ")
        if not separator or not rationale.strip():
            raise ValueError(f"demo line without a rationale: {line!r}")
        name, _, target = head.partition(":")
        name, target = name.strip(), target.strip()
        if name == "scroll":
            action = Action("scroll", {"direction": target or "down"})
        elif name == "stop":
            action = Action("stop", {"answer": clean_label(target, MAX_TEXT)})
        elif name in ("click", "type", "select"):
            label, _, value = target.partition(" = ")
            element = next((e for e in browser.visible().values() if e.label == clean_label(label, MAX_LABEL)), None)
            if element is None:
                raise ValueError(f"demo line names no visible element: {line!r}")
            arguments: dict = {"element_id": element.id}
            if name == "type":
                arguments["text"] = clean_label(value, MAX_LABEL)
            elif name == "select":
                if clean_label(value, MAX_LABEL) not in element.options:
                    raise ValueError(f"demo line chooses an option the list lacks: {line!r}")
                arguments["option"] = clean_label(value, MAX_LABEL)
            action = Action(name, arguments)
        else:
            raise ValueError(f"demo line names no action: {line!r}")
        browser.apply(action)
        steps.append((action, rationale.strip()))
    if not steps or steps[-1][0].name != "stop":
        raise ValueError("a worked answer must end with stop")
    return tuple(steps)


def demo_traces(skill) -> list[DemoTrace]:
    """The skill's worked answers, each on the first demo page (one per transformation) it fits.

    Raises:
        ValueError: A worked answer fits none of the demo pages.
    """
    traces = []
    for task, response in skill.response_demos:
        for page in _demo_pages(skill):
            try:
                traces.append(DemoTrace(task, page, resolve_trace(response, page)))
                break
            except ValueError:
                continue
        else:
            raise ValueError(f"the worked answer to {task!r} fits none of the transformations' demo pages")
    return traces


def history_text(history: list[tuple[Action, str]]) -> str:
    """The actions so far, one a line, each with the first line of what it changed."""
    if not history:
        return "none"
    return "\n".join(
        f"{i}. {action.short()} -> {observation.splitlines()[0]}" for i, (action, observation) in enumerate(history, 1)
    )


def _step_demos(traces: list[DemoTrace]) -> tuple[list[dspy.Example], list[dspy.Example]]:
    """Worked examples of each step of the worked answers: (next-action demos, value demos).

    The first step of every trace comes first (each shows a different action), then later steps, up to
    `MAX_STEP_DEMOS`."""
    first, later, values = [], [], []
    for trace in traces:
        browser = Browser(trace.page)
        history: list[tuple[Action, str]] = []
        for index, (action, rationale) in enumerate(trace.steps):
            view = browser.view()
            example = dspy.Example(
                page=view, task=trace.task, history=history_text(history), rationale=rationale, action=action.short()
            )
            (first if index == 0 else later).append(example)
            value = next((action.arguments[k] for k in ("text", "option", "answer") if k in action.arguments), None)
            if value is not None:
                target = f" [{action.arguments['element_id']}]" if "element_id" in action.arguments else ""
                values.append(dspy.Example(page=view, task=trace.task, action=f"{action.name}{target}", value=value))
            history.append((action, browser.apply(action)))
    return (first + later)[:MAX_STEP_DEMOS], values[:MAX_STEP_DEMOS]


def _line(text: str | None, limit: int) -> str:
    """The first non-empty line of a model output, without wrapping quotes, straight quotes made typographic (the
    page quotes labels with straight ones), cut at `limit` characters."""
    line = next((part.strip() for part in (text or "").splitlines() if part.strip()), "")
    line = line.strip(" \"'`").replace("'", "\u2019")
    return line if len(line) <= limit else line[: limit - 3].rstrip() + "..."


def match_option(value: str, options: tuple[str, ...]) -> str | None:
    """The option `value` means: the same text in any case, an option it contains or that contains it, or the one
    sharing most words with it; None when it shares none."""
    wanted = value.strip().lower()
    if not wanted:
        return None
    for option in options:
        if option.lower() == wanted:
            return option
    for option in sorted(options, key=len, reverse=True):
        if option.lower() in wanted or wanted in option.lower():
            return option
    words = set(re.findall(r"\w+", wanted))
    scored = [(len(words & set(re.findall(r"\w+", option.lower()))), option) for option in options]
    best = max(scored, default=(0, None))
    return best[1] if best[0] else None


_WANTED = {"click": CLICKABLE, "type": TYPABLE, "select": SELECTABLE}


def find_target(action: str, element_id: int | None, said: str, visible: dict[int, Element]) -> Element | None:
    """The element an action means: the id it gives when that element is visible and fits the action; else a visible
    element of the right role whose label the action line or rationale names (the longest such label); else, for
    typing or choosing, the only element of the right role; else the one whose label shares most words with the
    action line and rationale. None when no element of the right role is named at all."""
    roles = _WANTED[action]
    element = visible.get(element_id) if element_id is not None else None
    if element is not None and element.role in roles:
        return element
    fitting = [e for e in visible.values() if e.role in roles]
    named = [e for e in fitting if len(e.label) >= 3 and e.label.lower() in said.lower()]
    if named:
        return max(named, key=lambda e: len(e.label))
    if action != "click" and len(fitting) == 1:
        return fitting[0]
    # A small model copies ids from its worked examples but names the element it means in words.
    words = content_stems(said)
    overlap = [(len(words & content_stems(e.label)), -index, e) for index, e in enumerate(fitting)]
    best = max(overlap, key=lambda item: item[:2], default=(0, 0, None))
    return best[2] if best[0] else None


def answer_from_pages(answer: str, task: str, shown: str) -> str:
    """The stop answer when it comes from the pages the agent saw (`shown`: the page and every tool turn); else the
    text of those pages the task is most about (then the model's answer, to break ties), quoted as the answer. A small
    model reaches the right line and then writes figures no page showed; the line itself is what it was reaching for.
    The answer stays as it was when no text shown shares a word with the task (the validators then reject it)."""
    from agentinstruct.metrics.skills.web_agent import answer_not_from_pages

    if answer_not_from_pages(answer, shown, task) is None:
        return answer
    asked, said = content_stems(task), content_stems(answer)
    best, best_score = answer, (0, False, 0)
    for element in listed_elements(shown).values():
        if element.role not in ("text", "row"):
            continue
        stems = content_stems(element.label)
        score = (len(asked & stems), not element.label.endswith("..."), len(said & stems))
        if score[0] and score > best_score:
            best, best_score = element.label, score
    return best


def user_turn(page: Page, task: str) -> dict:
    """The page as first shown, a blank line, then the task (the record's passage and instruction)."""
    return {"role": "user", "content": f"{page.render()}\n\n{' '.join(task.split())}"}


def action_turns(step: int, action: Action, rationale: str, observation: str) -> list[dict]:
    """One action as OpenAI chat turns: the assistant's rationale with its tool call, then the tool turn carrying what
    the page showed."""
    call_id = f"call_{step}"
    call = {"id": call_id, "type": "function", "function": {"name": action.name, "arguments": action.arguments_json()}}
    return [
        {"role": "assistant", "content": rationale, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": call_id, "name": action.name, "content": observation},
    ]


def conversation(page: Page, task: str, steps: list[tuple[Action, str]] | tuple) -> list[dict]:
    """The whole conversation of a known action sequence on `page` (the simulated browser supplies the tool turns);
    the final assistant turn is the stop answer, when the sequence stops."""
    browser = Browser(page)
    messages = [user_turn(page, task)]
    for step, (action, rationale) in enumerate(steps, 1):
        messages += action_turns(step, action, rationale, browser.apply(action))
    if steps and steps[-1][0].name == "stop":
        messages.append({"role": "assistant", "content": steps[-1][0].arguments["answer"]})
    return messages


class WebAgentResponder(dspy.Module):
    """Answers a browser task on the page built from the final page sketch with tool calls, one action a step.

    Args:
        skill: The web-agent skill: its response instruction and worked answers (resolved on its demo pages) are the
            step predictors' instruction and starter demos.
    """

    def __init__(self, skill) -> None:
        super().__init__()
        step_demos, value_demos = _step_demos(demo_traces(skill))
        self.next_action = StarterPredict(NextAction.with_instructions(skill.response_instruction), step_demos)
        self.action_value = StarterPredict(ActionValue, value_demos)

    def forward(self, passage: str, instruction: str, config: dict | None = None) -> dspy.Prediction:
        config = config or {}
        short = {**config, "max_tokens": STEP_TOKENS}
        page = page_from_sketch(passage)
        if len(page.elements) < MIN_ELEMENTS or not page.interactive:
            raise InvalidOutput(
                f"the page sketch makes {len(page.elements)} element(s), {len(page.interactive)} to act on: "
                "no page an agent could use"
            )
        task = " ".join(instruction.split())
        browser = Browser(page)
        messages: list[dict] = [user_turn(page, task)]
        history: list[tuple[Action, str]] = []
        replaced = False
        for step in range(1, MAX_STEPS + 1):
            predicted = self.next_action(page=browser.view(), task=task, history=history_text(history), config=short)
            rationale = _line(predicted.rationale, 200)
            if not rationale:
                raise InvalidOutput("the model gave no rationale for its action")
            action = self._action(predicted.action or "", rationale, browser, task, short)
            if history and action == history[-1][0] and action.name != "stop":
                # Repeating an action changes nothing more: the agent has done what it can, so it ends here.
                rationale = f"Repeating {action.short()} would change nothing more, so the task ends here."
                action = Action("stop", {"answer": self._value(browser, task, "stop", short)})
            if action.name == "stop":
                shown = "\n".join(m["content"] for m in messages if m["role"] in ("user", "tool"))
                written = answer_from_pages(action.arguments["answer"], task, shown)
                replaced = written != action.arguments["answer"]
                action = Action("stop", {"answer": written})
            observation = browser.apply(action)
            messages += action_turns(step, action, rationale, observation)
            history.append((action, observation))
            if action.name == "stop":
                break
        else:
            raise InvalidOutput(f"the agent did not stop within {MAX_STEPS} actions")
        answer = action.arguments["answer"]
        messages.append({"role": "assistant", "content": answer})
        written_by_code = ["final answer"] if replaced else []
        return dspy.Prediction(answer=answer, messages=messages, tools=TOOLS, written_by_code=written_by_code)

    def _value(self, browser: Browser, task: str, action: str, config: dict) -> str:
        limit = MAX_ANSWER if action == "stop" else MAX_VALUE
        value = _line(self.action_value(page=browser.view(), task=task, action=action, config=config).value, limit)
        if not value:
            raise InvalidOutput(f"the model gave no value for '{action}'")
        return value

    def _action(self, line: str, rationale: str, browser: Browser, task: str, config: dict) -> Action:
        parsed = parse_action(line)
        if parsed is None:
            raise InvalidOutput(f"the action line names no action: {_line(line, 80)!r}")
        if parsed.name == "scroll":
            return Action("scroll", {"direction": parsed.value})
        if parsed.name == "stop":
            answer = _line(parsed.value, MAX_ANSWER) or self._value(browser, task, "stop", config)
            return Action("stop", {"answer": answer})
        element = find_target(parsed.name, parsed.element_id, f"{line} {rationale}", browser.visible())
        if element is None:
            # The line and rationale name nothing on the page (an id copied from a worked example): the element the
            # task names is the one meant, as a grounding step would resolve it.
            element = find_target(parsed.name, None, task, browser.visible())
        if element is None:
            named = f"[{parsed.element_id}]" if parsed.element_id is not None else "no element"
            raise InvalidOutput(f"'{_line(line, 80)}' names {named}, which is nothing to {parsed.name} on the page")
        if parsed.name == "click":
            return Action("click", {"element_id": element.id})
        said = parsed.value
        if element.label.lower() in said.lower() and element.id != parsed.element_id:
            # "type Your name": the words after the action named the target, not the text to type.
            said = re.sub(re.escape(element.label), "", said, count=1, flags=re.IGNORECASE).strip(" :=-")
        value = _line(said, MAX_VALUE) or self._value(browser, task, f"{parsed.name} [{element.id}]", config)
        if parsed.name == "type":
            return Action("type", {"element_id": element.id, "text": value})
        option = match_option(value, element.options)
        if option is None:
            raise InvalidOutput(f"'{value}' is none of the options of {element.line()}")
        return Action("select", {"element_id": element.id, "option": option})


def web_agent_responder(skill) -> WebAgentResponder:
    """The skill registry's responder factory."""
    return WebAgentResponder(skill)
