"""The tool-use responder: a multi-turn tool-calling conversation, assembled by Python from small model steps.

The flow per request (the API list is the pipeline's transformed seed; see `programs/tool_schemas.py`):

1. read the functions from the API list (or the code) into OpenAI tool schemas, deterministically;
2. a model names the functions to call, in order (`ChooseFunctions`); a name not in the list is a needed function
   that is absent, a near miss of a listed name is that name; when it names nothing of either kind, the listed
   function whose name and parameters the request (then the name it wrote) shares most words with is the one called;
3. for each call, a model fills ONE parameter at a time (`FillArgument`); Python coerces the text to the parameter's
   type and keeps it only when the request (or an earlier result) states it. A required value that is missing ends
   the conversation with a clarifying question (`AskForValue`) instead of a call;
4. a model simulates each call's result (`SimulateResult`), which becomes a `tool` turn;
5. a model answers from the results (`AnswerFromResults`); a needed function that is absent is said to be absent.

Python assembles the turns in OpenAI's shape (`assistant` turns with `tool_calls`, ids and JSON arguments, `tool`
turns with `tool_call_id`), so the arguments of every call validate against their schema by construction. When no
valid conversation can be made, `InvalidOutput` says why.

The worked conversations of the skill's data file (`response.demos`, transcripts such as `call: f(x=1)` /
`result: 2` / `answer: ...`) are the hand-written demos of every step.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import dspy

from agentinstruct.programs.starter import StarterPredict
from agentinstruct.programs.tool_schemas import (
    MISSING,
    Missing,
    call_text,
    coerce,
    grounded,
    humanize,
    listing,
    parameter_line,
    read_number,
    signature_line,
    tools_from_text,
)
from agentinstruct.signatures.tool_use import (
    AnswerFromResults,
    AskForValue,
    ChooseFunctions,
    FillArgument,
    SimulateResult,
)

MAX_CALLS = 4
"""Calls in one conversation at most (a small model may name a function over and over)."""
SHORT_FIELD_TOKENS = 48
"""Token cap of the one-value fields (function names, an argument, a result, a question)."""
ANSWER_TOKENS = 160


# --------------------------------------------------------------------------------------------------------------------
# Conversations
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Call:
    name: str
    arguments: dict
    result: Any


@dataclass
class Conversation:
    """The assistant and tool turns of one tool-use conversation, in OpenAI's shape (the user turn comes first)."""

    request: str
    messages: list[dict] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def call(self, name: str, arguments: dict, result: Any) -> None:
        digest = hashlib.sha1(f"{self.request}|{len(self.calls)}|{name}".encode()).hexdigest()[:12]
        call_id = f"call_{digest}"
        arguments_text = json.dumps(arguments, ensure_ascii=False)
        self.messages.append(
            {
                "role": "assistant",
                "content": "",
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments_text}}
                ],
            }
        )
        self.messages.append({"role": "tool", "tool_call_id": call_id, "name": name, "content": result_content(result)})
        self.calls.append(Call(name, arguments, result))

    def finish(self, text: str) -> None:
        self.messages.append({"role": "assistant", "content": text.strip()})

    def repeats(self, name: str, arguments: dict) -> bool:
        return any(c.name == name and c.arguments == arguments for c in self.calls)

    def evidence(self) -> str:
        """What the user said and what the tools returned so far: where an argument may come from."""
        return "\n".join([self.request, *(result_content(c.result) for c in self.calls)])

    def earlier(self) -> str:
        lines = [f"{call_text(c.name, c.arguments)} returned {result_text(c.result)}" for c in self.calls]
        return "\n".join(lines) or "none"


def result_content(result: Any) -> str:
    """A `tool` turn's content: the result as JSON text."""
    return json.dumps(result if isinstance(result, dict) else {"result": result}, ensure_ascii=False)


def result_text(result: Any) -> str:
    return result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)


def read_result(text: str) -> Any:
    """A simulated result as a JSON value: a number, a JSON literal or object, or a short text."""
    value = (text or "").strip()
    value = value.splitlines()[0].strip() if value else ""
    value = re.sub(r"^(?:result|returns?|output|value)\s*[:=]\s*", "", value, flags=re.IGNORECASE).strip().strip("`")
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        parsed = None
    if parsed is not None:
        return parsed
    number = re.fullmatch(r"[-−]?\d[\d,]*(?:\.\d+)?", value)
    if number:
        figure = float(value.replace(",", "").replace("−", "-"))
        return int(figure) if figure == int(figure) and "." not in value else figure
    return value.strip("\"'")[:200]


# --------------------------------------------------------------------------------------------------------------------
# The data file's worked conversations
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class Step:
    kind: str
    """`call`, `ask` or `absent`."""
    name: str
    arguments: dict = field(default_factory=dict)
    result: Any = None
    missing: str = ""
    question: str = ""


@dataclass
class Transcript:
    request: str
    steps: list[Step]
    answer: str


_STEP = re.compile(r"^(call|result|ask|absent|answer)\s*:\s*(.*)$")
_CALL = re.compile(r"^([A-Za-z_][\w-]*)\s*\((.*)\)\s*$")


def parse_transcript(request: str, text: str) -> Transcript:
    """A worked conversation of the data file (see `signatures/skills/tool_use.yaml`, `response.demos`).

    Raises:
        ValueError: A line is none of `call:`, `result:`, `ask:`, `absent:`, `answer:`, or a call is malformed.
    """
    from agentinstruct.programs.tool_schemas import _literal, _split_params

    steps: list[Step] = []
    answer = ""
    for line in text.strip().splitlines():
        match = _STEP.match(line.strip())
        if not match:
            raise ValueError(f"not a transcript line: {line!r}")
        kind, rest = match.groups()
        if kind == "result":
            if not steps or steps[-1].kind != "call":
                raise ValueError(f"a result without its call: {line!r}")
            steps[-1].result = read_result(rest)
        elif kind == "answer":
            answer = rest.strip()
        elif kind == "absent":
            steps.append(Step("absent", rest.strip()))
        else:
            call, _, question = rest.partition("|")
            parsed = _CALL.match(call.strip())
            if not parsed:
                raise ValueError(f"a malformed call: {line!r}")
            step = Step(kind, parsed.group(1), question=question.strip())
            for part in _split_params(parsed.group(2)):
                key, _, value = part.partition("=")
                if value.strip() == "?":
                    step.missing = key.strip()
                else:
                    step.arguments[key.strip()] = _literal(value.strip())
            steps.append(step)
    return Transcript(request.strip(), steps, answer)


def transcript_conversation(transcript: Transcript) -> list[dict]:
    """A worked conversation as the records hold it: the user turn, then the assistant and tool turns."""
    conversation = Conversation(transcript.request)
    question = ""
    for step in transcript.steps:
        if step.kind == "call":
            conversation.call(step.name, step.arguments, step.result)
        elif step.kind == "ask":
            question = step.question
    conversation.finish(question or transcript.answer)
    return [{"role": "user", "content": transcript.request}, *conversation.messages]


def _demos(transcripts: list[Transcript], tools: dict[str, dict], instruction_listing: str) -> dict[str, list]:
    """Each step's demos, derived from the worked conversations on the demo source's functions."""
    choose, fill, missing, simulate, ask, answer = [], [], [], [], [], []
    for transcript in transcripts:
        names = [step.name for step in transcript.steps]
        choose.append(dspy.Example(functions=instruction_listing, request=transcript.request, calls=", ".join(names)))
        conversation = Conversation(transcript.request)
        for step in transcript.steps:
            tool = tools.get(step.name)
            if tool is None or step.kind == "absent":
                continue
            parameters = tool["function"]["parameters"]
            required = set(parameters.get("required") or ())
            for name, schema in parameters["properties"].items():
                value = MISSING if name == step.missing or name not in step.arguments else step.arguments[name]
                example = dspy.Example(
                    request=transcript.request,
                    function=signature_line(tool),
                    earlier=conversation.earlier(),
                    parameter=parameter_line(name, schema, name in required),
                    value=value if isinstance(value, str) else json.dumps(value),
                )
                (missing if value == MISSING else fill).append(example)
            if step.kind == "ask":
                schema = parameters["properties"][step.missing]
                ask.append(
                    dspy.Example(
                        request=transcript.request,
                        function=signature_line(tool),
                        parameter=parameter_line(step.missing, schema, True),
                        question=step.question,
                    )
                )
            else:
                simulate.append(
                    dspy.Example(
                        function=signature_line(tool),
                        arguments=json.dumps(step.arguments, ensure_ascii=False),
                        result=result_text(step.result),
                    )
                )
                conversation.call(step.name, step.arguments, step.result)
        if conversation.calls and transcript.answer and not any(s.kind == "absent" for s in transcript.steps):
            results = conversation.earlier()
            answer.append(dspy.Example(request=transcript.request, results=results, answer=transcript.answer))
    # A small model copies its nearest demo: a few varied ones (one passing an earlier result on), two "missing".
    chained = [example for example in fill if example.earlier != "none"][:1]
    spread = [example for example in fill[:: max(1, len(fill) // 5)] if example not in chained][:4]
    return {
        "choose": [example for index, example in enumerate(choose) if index not in (5, 7)][:7],
        "fill": [*spread[:2], *missing[:2], *chained, *spread[2:]],
        "simulate": simulate[:4],
        "ask": ask[:2],
        "answer": answer[:4],
    }


# --------------------------------------------------------------------------------------------------------------------
# The responder
# --------------------------------------------------------------------------------------------------------------------


class ToolUseResponder(dspy.Module):
    """Builds a tool-calling conversation for a request over the functions of an API list.

    Called as `responder(passage=<API list or code>, instruction=<request>, config=...)`; returns a `dspy.Prediction`
    with `answer` (the final assistant turn), `messages` (assistant and tool turns) and `tools` (the schemas).

    Raises:
        InvalidOutput: No function can be read from the API list, the model names none and the request shares no
            word with any, a simulated result or the answer is unusable.
    """

    def __init__(self, skill: Any) -> None:
        super().__init__()
        demo_tools = {tool["function"]["name"]: tool for tool in tools_from_text(skill.demo_passage)}
        transcripts = [parse_transcript(request, text) for request, text in skill.response_demos]
        demos = _demos(transcripts, demo_tools, listing(demo_tools.values()))
        self.choose = StarterPredict(ChooseFunctions.with_instructions(skill.response_instruction), demos["choose"])
        self.fill = StarterPredict(FillArgument, demos["fill"])
        self.simulate = StarterPredict(SimulateResult, demos["simulate"])
        self.ask = StarterPredict(AskForValue, demos["ask"])
        self.answer = StarterPredict(AnswerFromResults, demos["answer"])

    def forward(self, passage: str, instruction: str, config: dict | None = None) -> dspy.Prediction:
        from agentinstruct.programs.pipeline import InvalidOutput

        config = dict(config or {})
        short = {**config, "max_tokens": SHORT_FIELD_TOKENS}
        tools = tools_from_text(passage)
        if not tools:
            raise InvalidOutput("no function could be read from the API list")
        by_name = {tool["function"]["name"]: tool for tool in tools}
        chosen = self.choose(functions=listing(tools), request=instruction, config=short).calls
        plan, absent = resolve_plan(chosen, by_name, instruction)
        if not plan and not absent:
            # A small model often names a function in its own words ("celsius_to_oven" for oven_fahrenheit): the
            # listed function the request and that name are about is the one it means.
            nearest = nearest_function(instruction, chosen, tools)
            if nearest is None:
                raise InvalidOutput(f"the model named no listed or needed function: {_clip(chosen)!r}")
            plan = [nearest]

        conversation = Conversation(instruction.strip())
        for name in plan:
            tool = by_name[name]
            arguments, missing = self._arguments(tool, conversation, short)
            if missing:
                if absent:
                    continue  # the answer says what cannot be done; this call is not made
                question = self._question(tool, missing, instruction, short)
                conversation.finish(question)
                return dspy.Prediction(answer=question, messages=conversation.messages, tools=tools)
            if conversation.repeats(name, arguments):
                continue
            conversation.call(name, arguments, self._simulate(tool, arguments, short))

        answer = self._answer(conversation, {**config, "max_tokens": ANSWER_TOKENS}) if conversation.calls else ""
        if absent:
            answer = f"{answer} {absence_text(absent, tools, partial=bool(conversation.calls))}".strip()
        if not answer:
            raise InvalidOutput("no call could be made and nothing is absent: the conversation has no answer")
        conversation.finish(answer)
        return dspy.Prediction(answer=answer, messages=conversation.messages, tools=tools)

    def _arguments(self, tool: dict, conversation: Conversation, config: dict) -> tuple[dict, str | None]:
        """The call's arguments, one model call per parameter; with the first required parameter whose value the
        conversation does not state (or None)."""
        parameters = tool["function"]["parameters"]
        required = set(parameters.get("required") or ())
        evidence, earlier = conversation.evidence(), conversation.earlier()
        arguments: dict[str, Any] = {}
        for name, schema in parameters["properties"].items():
            raw = self.fill(
                request=conversation.request,
                function=signature_line(tool),
                earlier=earlier,
                parameter=parameter_line(name, schema, name in required),
                config=config,
            ).value
            try:
                value = coerce(raw, schema)
            except Missing:
                value = MISSING
            if value is not MISSING and not grounded(value, schema, evidence):
                value = MISSING  # a value nobody stated is an invented one
            if value is MISSING:
                if name in required:
                    return arguments, name
                continue
            arguments[name] = value
        return arguments, None

    def _simulate(self, tool: dict, arguments: dict, config: dict) -> Any:
        from agentinstruct.metrics.validators import degeneracy
        from agentinstruct.programs.pipeline import InvalidOutput

        raw = self.simulate(
            function=signature_line(tool), arguments=json.dumps(arguments, ensure_ascii=False), config=config
        ).result
        result = read_result(raw)
        if result is None or result == "" or (isinstance(result, str) and degeneracy(result)):
            raise InvalidOutput(f"the simulated result of {tool['function']['name']} is unusable: {_clip(raw)!r}")
        return result

    def _question(self, tool: dict, missing: str, request: str, config: dict) -> str:
        """A question for the missing value: the model's, when it is one question about that value, else a template."""
        from agentinstruct.metrics.validators import degeneracy

        schema = tool["function"]["parameters"]["properties"][missing]
        raw = self.ask(
            request=request,
            function=signature_line(tool),
            parameter=parameter_line(missing, schema, True),
            config=config,
        ).question
        first = (raw or "").strip().splitlines()[0].strip() if (raw or "").strip() else ""
        question = first[: first.find("?") + 1] if "?" in first else ""
        about = parameter_words(tool, missing)
        if question and 3 <= len(question.split()) <= 40 and not degeneracy(question) and overlaps(question, about):
            return question
        return f"What {humanize(missing)} should I use for {humanize(tool['function']['name'])}?"

    def _answer(self, conversation: Conversation, config: dict) -> str:
        """The model's answer when it states a result, else one sentence per result."""
        from agentinstruct.metrics.validators import degeneracy

        raw = self.answer(request=conversation.request, results=conversation.earlier(), config=config).answer
        text = re.split(r"\n\s*\n", (raw or "").strip(), maxsplit=1)[0].strip()
        if text and len(text) <= 600 and not degeneracy(text) and states_a_result(text, conversation.calls):
            return text
        return " ".join(f"The {c.name} call returned {result_text(c.result)}." for c in conversation.calls)


def resolve_plan(text: str, tools: dict[str, dict], request: str) -> tuple[list[str], list[str]]:
    """The listed functions a model named, in order (near misses mapped to the listed name), and the needed functions
    it named that the list lacks (only names made of the request's own words count)."""
    keys = {_key(name): name for name in tools}
    plan: list[str] = []
    absent: list[str] = []
    for part in re.split(r"[,;\n]|\bthen\b|\band\b|->", text or ""):
        match = re.search(r"[A-Za-z_][\w.-]*", part.strip().strip("`*-. "))
        if not match:
            continue
        name = match.group(0).replace(".", "_").strip("-_")
        key = _key(name)
        if key in keys:
            plan.append(keys[key])
            continue
        close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.85)
        if close:
            plan.append(keys[close[0]])
        elif _looks_like_function(name) and _about_request(name, request) and name not in absent:
            absent.append(name)
    return plan[:MAX_CALLS], absent[:2]


def nearest_function(request: str, named: str, tools: list[dict]) -> str | None:
    """The listed function a request is about, when the model named none of the list: the one whose name and
    parameter names share most words with the request (words of the name the model wrote, then of the description,
    break ties); None when no function's name or parameters share a word with the request."""
    asked = {w[:5] for w in key_words(request)}
    said = {w[:5] for w in key_words(humanize(named or ""))}
    best, best_score = None, (0, 0, 0)
    for tool in tools:
        function = tool["function"]
        names = " ".join(map(humanize, [function["name"], *(function.get("parameters") or {}).get("properties", {})]))
        stems = {w[:5] for w in key_words(names)}
        described = {w[:5] for w in key_words(str(function.get("description") or ""))}
        score = (len(asked & stems), len(said & (stems | described)), len(asked & described))
        if score[0] and score > best_score:
            best, best_score = function["name"], score
    return best


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _looks_like_function(name: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]*)+", name))


def _about_request(name: str, request: str) -> bool:
    said = {w[:5] for w in key_words(request)}
    return any(part[:5] in said for part in humanize(name).split() if len(part) >= 4)


_WORD = re.compile(r"[A-Za-z]{3,}")
_COMMON = frozenset(
    ["the", "and", "for", "what", "which", "should", "use", "with", "from", "that", "this", "your", "you", "how"]
)


def key_words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _COMMON


def overlaps(text: str, words: set[str]) -> bool:
    """Whether a text shares a word with `words`, compared by their first five letters ("weigh" meets "weight")."""
    return bool({w[:5] for w in key_words(text)} & {w[:5] for w in words})


def parameter_words(tool: dict, parameter: str) -> set[str]:
    """The words that name a parameter: its name, its description, its function's name."""
    schema = tool["function"]["parameters"]["properties"].get(parameter) or {}
    return key_words(f"{humanize(parameter)} {schema.get('description', '')} {humanize(tool['function']['name'])}")


def states_a_result(text: str, calls: list[Call]) -> bool:
    """Whether an answer states at least one result: one of its figures (rounding allowed) or a word of a text."""
    from agentinstruct.programs.tool_schemas import stated_numbers

    said = stated_numbers(text)
    words = key_words(text)
    for call in calls:
        values = _leaves(call.result)
        for value in values:
            if isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                if any(_close(value, known) for known in said):
                    return True
            elif isinstance(value, str):
                number = read_number(value) if re.fullmatch(r"[-−\d.,\s%$]+", value) else None
                if number is not None and any(_close(number, known) for known in said):
                    return True
                if key_words(value) & words:
                    return True
    return False


def _leaves(value: Any) -> list:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item)]
    return [value]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= max(0.011, 0.01 * abs(a))


def absence_text(absent: list[str], tools: list[dict], partial: bool) -> str:
    """What the assistant says about needed functions the list lacks, and which functions it has."""
    names = [tool["function"]["name"] for tool in tools]
    have = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    missing = " or ".join(absent)
    rest = "that part" if partial else "that"
    return (
        f"There is no {missing} function among the available tools, so I cannot do {rest}. The tools I have are {have}."
    )


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def tool_use_responder(skill: Any) -> ToolUseResponder:
    """The tool-use skill's responder factory (`programs/skills.py`)."""
    return ToolUseResponder(skill)
