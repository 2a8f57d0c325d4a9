"""Validators of the tool-use skill: a tool-calling conversation over the functions its `tools` column offers.

What each case of the taxonomy must show, checked from the conversation itself (a record does not say its case):

- every call names an offered function (an absent function is never invented) and its arguments validate against
  that function's JSON schema (`jsonschema`): no required parameter left out (a missing value is asked for, not
  skipped), no parameter the schema lacks (an extra setting is dropped), every type right;
- every argument is stated by the user or by an earlier tool result (a missing value is not made up);
- the tool turns answer the calls (ids, names, non-empty results);
- the conversation ends with an assistant turn that is a final answer stating a result, a clarifying question about
  a parameter, or a statement that a needed function is absent, which must not call an offered function absent;
- a request answered with no call at all must ask or say what is absent;
- neither the offered functions nor the request are the worked example's (its functions, its subject).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache, partial

from agentinstruct.metrics.grounding import content_stems
from agentinstruct.metrics.text import PairView, call_arguments, call_name, tool_calls
from agentinstruct.metrics.validators import Validator, asks_something, copies_demo

_ABSENT = re.compile(
    r"\b(?:no|none of the)\s+(?:\S+\s+){0,3}?(?:tools?|functions?|apis?|endpoints?|methods?)\b"
    r"|\b(?:not|isn['’]t|aren['’]t)\s+(?:available|listed|provided|offered|among)\b"
    r"|\b(?:don['’]t|do not|doesn['’]t|does not)\s+have\s+(?:a|an|any)\s+(?:\w+\s+){0,3}?(?:tool|function|api)"
    r"|\b(?:absent|unavailable)\b|\bmissing from\b",
    re.IGNORECASE,
)
_REQUEST = re.compile(r"\b(?:please|i need|i want|i'd like|can you|could you|help me|let me know|tell me)\b", re.I)


def _functions(view: PairView) -> dict[str, dict]:
    """The offered functions by name (their `function` objects)."""
    found = {}
    for tool in view.tools:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            found[function["name"]] = function
    return found


def _final(view: PairView) -> str:
    """The last turn's text when it is an assistant turn without calls, else ''."""
    if not view.messages:
        return view.response
    last = view.messages[-1]
    if last.get("role") != "assistant" or last.get("tool_calls"):
        return ""
    return (last.get("content") or "").strip()


def is_question(text: str) -> bool:
    return text.rstrip().endswith("?") and not _ABSENT.search(text)


def says_absent(text: str) -> bool:
    return bool(_ABSENT.search(text))


@lru_cache(maxsize=256)
def _validator_for(schema_text: str):
    from jsonschema import Draft202012Validator

    return Draft202012Validator(json.loads(schema_text))


# --------------------------------------------------------------------------------------------------------------------
# The validators
# --------------------------------------------------------------------------------------------------------------------


def _no_tools(view: PairView) -> str | None:
    from jsonschema import Draft202012Validator, SchemaError

    if not view.tools:
        return "the record offers no tools (its tools column is empty)"
    for position, tool in enumerate(view.tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(tool, dict) or tool.get("type") != "function" or not isinstance(function, dict):
            return f"tool {position} is not an OpenAI function schema"
        name = function.get("name")
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
            return f"tool {position} has no valid function name: {name!r}"
        parameters = function.get("parameters", {"type": "object", "properties": {}})
        if not isinstance(parameters, dict) or parameters.get("type") != "object":
            return f"the parameters of {name} are not a JSON schema of an object"
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as exc:
            return f"the parameters of {name} are not a valid JSON schema: {exc.message}"
    return None


def _no_request(view: PairView) -> str | None:
    if asks_something(view.instruction) or _REQUEST.search(view.instruction):
        return None
    return "the user turn asks for nothing (no question, no task verb, no request)"


def _off_the_tools(view: PairView) -> str | None:
    """A request that shares no word with any offered function (its name, description or parameters) is about
    something else (a small model writes about its worked example instead of the seed's code)."""
    from agentinstruct.programs.tool_use import overlaps

    offered = _functions(view)
    if not offered:
        return None
    words: set[str] = set()
    for name, function in offered.items():
        tool = {"function": function}
        words |= {name.lower(), *name.lower().replace("-", "_").split("_")}
        from agentinstruct.programs.tool_use import key_words, parameter_words

        words |= key_words(str(function.get("description") or ""))
        for parameter in (function.get("parameters") or {}).get("properties") or {}:
            words |= parameter_words(tool, parameter)
    if not overlaps(view.instruction, {w for w in words if len(w) >= 3}):
        return "the request shares no word with the offered functions: it is about something else"
    return None


def _unlisted_call(view: PairView) -> str | None:
    offered = _functions(view)
    for _, call in tool_calls(view):
        if call_name(call) not in offered:
            offered_names = ", ".join(offered) or "none"
            return f"a call names {call_name(call)!r}, which is not among the offered tools ({offered_names})"
    return None


def _invalid_arguments(view: PairView) -> str | None:
    offered = _functions(view)
    for _, call in tool_calls(view):
        function = offered.get(call_name(call))
        if function is None:
            continue  # `unlisted_call` says so
        arguments = call_arguments(call)
        if arguments is None:
            return f"the arguments of {call_name(call)} are not a JSON object"
        schema = function.get("parameters") or {"type": "object", "properties": {}}
        extra = sorted(set(arguments) - set(schema.get("properties") or {}))
        if extra:
            return f"the call to {call_name(call)} passes {', '.join(extra)}, which its schema does not have"
        errors = sorted(_validator_for(json.dumps(schema, sort_keys=True)).iter_errors(arguments), key=str)
        if errors:
            return f"the arguments of {call_name(call)} break its schema: {errors[0].message}"
    return None


def _invented_argument(view: PairView) -> str | None:
    from agentinstruct.programs.tool_schemas import grounded

    offered = _functions(view)
    for index, call in tool_calls(view):
        function = offered.get(call_name(call))
        arguments = call_arguments(call)
        if function is None or not arguments:
            continue
        said = [
            message.get("content") or ""
            for message in view.messages[:index]
            if message.get("role") in ("user", "tool", "system")
        ]
        evidence = "\n".join([*said, view.instruction])
        properties = (function.get("parameters") or {}).get("properties") or {}
        for key, value in arguments.items():
            if key in properties and not grounded(value, properties[key], evidence):
                shown = json.dumps(value, ensure_ascii=False)
                return (
                    f"{call_name(call)} is called with {key}={shown}, which neither the user nor a tool result states"
                )
    return None


def _broken_tool_turns(view: PairView) -> str | None:
    pending: dict[str, str] = {}
    seen: set[str] = set()
    for message in view.messages:
        role = message.get("role")
        if role == "assistant":
            if pending:
                return f"the call {sorted(pending)[0]} gets no tool result before the assistant speaks again"
            for call in message.get("tool_calls") or ():
                call_id = str(call.get("id") or "")
                if not call_id or call_id in seen:
                    return f"a tool call has a missing or repeated id: {call_id!r}"
                seen.add(call_id)
                pending[call_id] = call_name(call)
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id not in pending:
                return f"a tool turn answers {call_id!r}, which no earlier call has"
            name = pending.pop(call_id)
            if message.get("name") and message["name"] != name:
                return f"the tool turn for {call_id} is named {message['name']!r}, but the call was to {name!r}"
            if not (message.get("content") or "").strip():
                return f"the tool result of {name} is empty"
    if pending:
        return f"the call {sorted(pending)[0]} gets no tool result"
    return None


def _no_final_answer(view: PairView) -> str | None:
    if not _final(view):
        return "the conversation does not end with the assistant's answer (a last turn with text and no call)"
    return None


def _answered_without_tools(view: PairView) -> str | None:
    final = _final(view)
    if view.messages and not tool_calls(view) and final and not is_question(final) and not says_absent(final):
        return "the assistant answers without calling a tool, asking for a value or saying a tool is absent"
    return None


def _unsupported_answer(view: PairView) -> str | None:
    """A final answer after tool results must state one of them (not invent its own figures)."""
    from agentinstruct.programs.tool_use import Call, read_result, states_a_result

    final = _final(view)
    results = [
        Call(str(message.get("name") or ""), {}, read_result(message.get("content") or ""))
        for message in view.messages
        if message.get("role") == "tool"
    ]
    if not final or not results or is_question(final):
        return None
    if not states_a_result(final, results):
        return "the final answer states none of the tool results"
    return None


def _vague_question(view: PairView) -> str | None:
    """A closing clarifying question must ask about a parameter of an offered function."""
    from agentinstruct.programs.tool_use import overlaps, parameter_words

    final = _final(view)
    if not final or not is_question(final):
        return None
    tools = [{"function": function} for function in _functions(view).values()]
    for tool in tools:
        for parameter in (tool["function"].get("parameters") or {}).get("properties") or {}:
            if overlaps(final, parameter_words(tool, parameter)):
                return None
    return "the closing question asks about no parameter of an offered function"


def _false_absence(view: PairView) -> str | None:
    """Saying an offered function is absent."""
    final = _final(view)
    if not final or not says_absent(final):
        return None
    from agentinstruct.metrics.grounding import sentences

    for sentence in sentences(final):
        if not says_absent(sentence):
            continue
        for name in _functions(view):
            if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence):
                return f"the answer says {name} is not available, but it is offered"
    return None


@lru_cache(maxsize=1)
def _demo_function_names() -> frozenset[str]:
    """The functions of the skill's worked example: those of its code and of every transformation's demo listing."""
    from agentinstruct.programs.skills import get_skill
    from agentinstruct.programs.tool_schemas import tools_from_text

    skill = get_skill("tool_use")
    texts = [skill.demo_passage, *(agent.demo_output for agent in skill.transformations if agent.demo_output)]
    return frozenset(tool["function"]["name"] for text in texts for tool in tools_from_text(text))


def _demo_functions(view: PairView) -> str | None:
    """Most of the offered functions are the worked example's: a small model that cannot list the seed's functions
    continues the demo's listing (its names, sometimes with the seed's descriptions), and the conversation is about
    the example's library, not the user's."""
    names = list(_functions(view))
    borrowed = [name for name in names if name in _demo_function_names()]
    if names and len(borrowed) * 2 >= len(names):
        return f"the offered functions are the worked example's ({', '.join(borrowed[:4])}), not the seed's"
    return None


@lru_cache(maxsize=1)
def _demo_subject_stems() -> frozenset[str]:
    """The words of the skill's worked example (code, listings, requests, conversations) that no other skill's worked
    examples use: its subject (telescope, eyepiece, ...), not the everyday words any example has."""
    from agentinstruct.metrics.grounding import CARDINAL_WORDS
    from agentinstruct.metrics.validators import _GENERIC_TASK_STEMS
    from agentinstruct.programs.skills import get_skill, skill_names

    def stems_of(skill: str) -> set[str]:
        return set().union(*(content_stems(text) for text in get_skill(skill).demo_texts()))

    everyday = set().union(*(stems_of(name) for name in skill_names() if name != "tool_use"))
    generic = _GENERIC_TASK_STEMS | _CONVERSATION_WORDS | content_stems(" ".join(CARDINAL_WORDS))
    return frozenset(stems_of("tool_use") - everyday - generic)


_CONVERSATION_WORDS = frozenset(
    content_stems(
        "call called result results answer ask asked absent function functions available list listed tool tools "
        "request value values give tell look find use way best please need compute"
    )
)
"""Words of any tool-use conversation, which the worked example uses too without them being its subject."""


@lru_cache(maxsize=1)
def _demo_library_stems() -> frozenset[str]:
    """The worked example's library in its own words: the long distinctive words of its function and parameter names
    and of its code's first docstring line (telescope, magnification, eyepiece, aperture); one of them in a request
    about other functions is enough."""
    from agentinstruct.programs.skills import get_skill
    from agentinstruct.programs.tool_schemas import humanize, tools_from_text

    code = get_skill("tool_use").demo_passage
    names = [humanize(name) for tool in tools_from_text(code) for name in _names(tool["function"])]
    subject = code.strip().strip('"').splitlines()[0]
    return frozenset(s for s in content_stems(" ".join([*names, subject])) & _demo_subject_stems() if len(s) >= 6)


def _names(function: dict) -> list[str]:
    return [function["name"], *((function.get("parameters") or {}).get("properties") or {})]


def _demo_subject(view: PairView) -> str | None:
    """A request about the worked example's subject: one word of its library's own names, or two of its words, that
    neither the offered functions nor the API list use (a small model asks about telescopes whatever library it was
    shown)."""
    offered = " ".join(json.dumps(function) for function in _functions(view).values())
    own = content_stems(f"{view.passage}\n{offered}")
    borrowed = sorted((content_stems(view.instruction) & _demo_subject_stems()) - own)
    if len(borrowed) >= 2 or set(borrowed) & _demo_library_stems():
        return f"the request is about the worked example's subject ({', '.join(borrowed[:3])}), not the offered tools"
    return None


VALIDATORS: tuple[Validator, ...] = (
    Validator("no_tools", _no_tools),
    Validator("no_request", _no_request),
    Validator("off_the_tools", _off_the_tools),
    Validator("copies_demo", partial(copies_demo, skill="tool_use")),
    Validator("demo_functions", _demo_functions),
    Validator("demo_subject", _demo_subject),
    Validator("unlisted_call", _unlisted_call),
    Validator("invalid_arguments", _invalid_arguments),
    Validator("invented_argument", _invented_argument),
    Validator("broken_tool_turns", _broken_tool_turns),
    Validator("no_final_answer", _no_final_answer),
    Validator("answered_without_tools", _answered_without_tools),
    Validator("unsupported_answer", _unsupported_answer),
    Validator("vague_question", _vague_question),
    Validator("false_absence", _false_absence),
)
