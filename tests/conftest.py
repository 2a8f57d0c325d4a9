import os
import sys
import tempfile
from pathlib import Path

# Before DSPy is imported: a fresh response cache per test session, so endpoint tests really reach their server.
os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="agentinstruct-dspy-cache-")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

UNIVERSAL_ANSWER = {
    "transformed": "In 2020 the village of Brook planted 120 apple trees. The harvest doubled by 2023 because "
    "bees from two new hives pollinated the orchard.",
    "questions": "1. How many apple trees did Brook plant in 2020?\n2. Why did the harvest double by 2023?\nok",
    "suggestions": "- Ask about something the passage leaves out.",
    "revised_question": "How many apple trees did Brook plant, and what doubled the harvest?",
    "revised_passage": "In 2020 the village of Brook planted 120 apple trees by the river. The harvest doubled by 2023 "
    "because bees from two new hives pollinated the orchard.",
    "answer": "Brook planted 120 apple trees; the harvest doubled because bees pollinated the orchard.",
}


def rc_sample(passage: str, instruction: str, response: str, instruction_type: str, transformation: str):
    """A reading-comprehension sample as the pipeline makes it (the passage, a blank line, then the question)."""
    from agentinstruct.programs import Sample

    user = f"{passage.strip()}\n\n{instruction.strip()}"
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": response.strip()}]
    return Sample(messages, instruction_type, transformation)


@pytest.fixture
def mlflow_uri(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture
def dummy_lm():
    import dspy
    from dspy.utils import DummyLM

    lm = DummyLM([UNIVERSAL_ANSWER] * 500)
    with dspy.context(lm=lm):
        yield lm


TEXT_SEEDS = {
    "rivers": "The river Alder floods every spring when snow melts in the Tarn hills. In 1998 the town of Fenwick "
    "built a levee three kilometers long. Since then no flood has reached the market square. Farmers downstream "
    "say their fields now stay wet for weeks longer. The council plans a second levee near the old mill by 2027. "
    "Engineers estimate it will cost four million euros. Anglers report more trout in the slower channels.",
    "glaciers": "The Vatna glacier retreated 300 meters between 1990 and 2020. Researchers from Reykholt measure "
    "its edge every September with drones. Meltwater now forms a lake that did not exist in 1985. Tour operators "
    "run boats on the lake from June to August. Warmer summers are the main cause, the researchers conclude. "
    "Sediment from the ice turns the water a milky blue. A hut built for climbers in 1972 now sits far from the ice.",
    "deserts": "The Kesh desert receives less than 80 millimeters of rain a year. Its dunes move up to 15 meters "
    "annually, pushed by the eastern wind. Nomadic herders follow wells that are spaced a day's walk apart. A solar "
    "farm opened at the desert's edge in 2019 and powers 40,000 homes. Dust storms cut its output by a fifth each "
    "spring. Night temperatures can fall below freezing in January. Rare foxes hunt beetles among the dunes.",
}


@pytest.fixture
def text_seeds(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for topic, text in TEXT_SEEDS.items():
        (folder / f"{topic}.txt").write_text(text)
    return folder


class FieldsEngine:
    """A DSPy engine for tests: writes every output field a request asks for with `answers(fields, inputs)` (the
    request's input fields by name), in DSPy's chat-adapter format. Subclasses say what the fields hold."""

    def answers(self, fields: list[str], inputs: dict[str, str]) -> dict[str, str]:
        raise NotImplementedError

    def complete(self, request):
        import re

        from dspy.lm15 import Message, Response, TextPart, Usage

        text = request.messages[-1].text or ""
        requirement = text[text.rfind("Respond with") :] if "Respond with" in text else ""
        fields = [f for f in re.findall(r"\[\[ ## (\w+) ## \]\]", requirement) if f != "completed"]
        inputs = dict(re.findall(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", text, re.DOTALL))
        values = self.answers(fields, inputs)
        output = "\n\n".join(f"[[ ## {f} ## ]]\n{values[f]}" for f in fields) + "\n\n[[ ## completed ## ]]"
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant((TextPart(output),)),
            finish_reason="stop",
            usage=Usage(input_tokens=10, output_tokens=10),
        )

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        pass


class FieldEchoEngine(FieldsEngine):
    """A DSPy engine that answers whatever output fields a request asks for, from the request's own input: a
    stand-in teacher for every skill's field names (DummyLM needs them listed in advance).

    Sources are echoed back; instructions ask about the source's first sentences; responses quote a source sentence.
    """

    def answers(self, fields: list[str], inputs: dict[str, str]) -> dict[str, str]:
        import re

        source = next((v for k, v in inputs.items() if k not in ("suggestions",) and len(v) > 80), "")
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", source) if len(s.split()) >= 4] or ["The text says little."]

        def value(field: str) -> str:
            if field == "suggestions":
                return "- Ask about a detail the text states.\n- Keep it answerable."
            if field.startswith("revised_"):
                original = inputs.get(field.removeprefix("revised_"), source)
                return original.replace(" ", "  ", 1) if len(original) > 80 else f"{original.rstrip('?')}, and why?"
            if field == "transformed":
                return source
            if field.endswith("s") and field not in ("suggestions",):
                topic = lambda s: " ".join(s.split()[:6]).rstrip(".,;")  # noqa: E731
                return "\n".join(f"What does the text say about {topic(s)}?" for s in sentences[:2])
            return sentences[0]

        return {field: value(field) for field in fields}


@pytest.fixture
def echo_lm():
    import dspy

    lm = dspy.LM("echo/fields", engine=FieldEchoEngine(), cache=False)
    with dspy.context(lm=lm):
        yield lm


def assert_corrupt_state_refused(tmp_path: Path, skill: str, key: str, value, message: str) -> None:
    """A saved program of `skill` whose state has `value` under `key` is refused on load with a `UserError` matching
    `message` (one line at the CLI), not loaded half-way."""
    import json

    from agentinstruct.errors import UserError
    from agentinstruct.optimizers import load_program, save_program
    from agentinstruct.programs import AgentInstructPipeline, get_skill

    path = save_program(AgentInstructPipeline(get_skill(skill)), tmp_path / "program.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), key: value}))
    with pytest.raises(UserError, match=message):
        load_program(AgentInstructPipeline(get_skill(skill)), path)
