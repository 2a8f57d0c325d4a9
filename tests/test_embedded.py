import threading

import dspy
import pytest

from agentinstruct.embedded import MODEL_NAME, demo_inputs_and_current, demo_leak, flatten_request
from agentinstruct.lm import build_lm, shared_embedded_engine
from agentinstruct.signatures.response import response_signature
from agentinstruct.signatures.skill_data import Wording

Respond = response_signature(Wording("passage", "question", "answer"), "Answer the question from the passage.")
PASSAGE = "Lake Orin freezes every January. In 2021 the ice was 40 cm thick, twice the depth of 2020."


class _Capture:
    """An engine that keeps the request DSPy built, to test the flattening on a real ChatAdapter request."""

    def __init__(self):
        self.request = None

    def complete(self, request):
        from dspy.lm15 import Message, Response, TextPart, Usage

        self.request = request
        return Response(
            id=None,
            model=request.model,
            message=Message.assistant((TextPart("[[ ## answer ## ]]\nx"),)),
            finish_reason="stop",
            usage=Usage(input_tokens=1, output_tokens=1),
        )


def test_flatten_request_finds_output_fields_and_drops_the_chat_instruction():
    capture = _Capture()
    predictor = dspy.Predict(Respond)
    predictor.demos = [dspy.Example(passage="Bees make honey.", question="What do bees make?", answer="Honey.")]
    with dspy.context(lm=dspy.LM("capture/model", engine=capture, cache=False)):
        predictor(passage=PASSAGE, question="How thick was the ice in 2021?")
    prompt, fields = flatten_request(capture.request)
    assert fields == ["answer"]
    assert "Respond with the corresponding output fields" not in prompt
    assert prompt.index("Bees make honey.") < prompt.index(PASSAGE)
    assert prompt.rstrip().endswith("How thick was the ice in 2021?")


@pytest.mark.slow
def test_embedded_model_answers_each_field_and_counts_tokens():
    lm = build_lm(cache=False, max_tokens=48)
    assert lm.model == MODEL_NAME
    predictor = dspy.Predict(Respond)
    predictor.demos = [
        dspy.Example(
            passage="Bees make honey in hives.",
            question="What do bees make?",
            answer="Honey. The passage says bees make honey in hives.",
        )
    ]
    with dspy.context(lm=lm), dspy.track_usage() as usage:
        answer = predictor(passage=PASSAGE, question="How thick was the ice in 2021?").answer
    assert answer.strip()
    totals = usage.get_total_tokens()[MODEL_NAME]
    assert totals["prompt_tokens"] > 50 and 0 < totals["completion_tokens"] <= 48


@pytest.mark.slow
def test_embedded_engine_serializes_concurrent_callers():
    lm = build_lm(cache=False, max_tokens=16)
    engine = shared_embedded_engine()
    before = engine.stats.requests
    answers: list[str] = []

    def ask(index: int) -> None:
        with dspy.context(lm=lm):
            answers.append(dspy.Predict(Respond)(passage=PASSAGE, question=f"Question {index}: when?").answer)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(answers) == 4
    assert engine.stats.requests - before == 4


def test_demo_leak_flags_outputs_about_the_worked_example_not_the_input():
    demo = "In 2019 the Millbrook library installed 60 solar panels; Rosa Diaz praised the savings."
    current = "The glacier at Vatna retreated 300 meters between 1990 and 2020, exposing bare rock."
    assert demo_leak("How many solar panels did the Millbrook library install?", demo, current)
    assert not demo_leak("How far did the Vatna glacier retreat between 1990 and 2020?", demo, current)
    assert not demo_leak("How far did the glacier retreat?", "", current)


def test_demo_inputs_and_current_separate_examples_from_the_real_input():
    capture = _Capture()
    predictor = dspy.Predict(Respond)
    predictor.demos = [dspy.Example(passage="Bees make honey.", question="What do bees make?", answer="Honey.")]
    with dspy.context(lm=dspy.LM("capture/model", engine=capture, cache=False)):
        predictor(passage=PASSAGE, question="How thick was the ice in 2021?")
    demos, current = demo_inputs_and_current(capture.request, ["answer"])
    assert "Bees make honey." in demos and "What do bees make?" in demos and "Honey." not in demos.split("\n")
    assert PASSAGE in current and "Bees" not in current


def test_decoding_settings_are_part_of_the_cache_identity():
    from agentinstruct.embedded import EmbeddedEngine

    assert EmbeddedEngine().fingerprint == EmbeddedEngine().fingerprint
    assert EmbeddedEngine(leak_retries=0).fingerprint != EmbeddedEngine().fingerprint
    assert EmbeddedEngine(repeat_penalty=1.0).fingerprint != EmbeddedEngine().fingerprint
    assert build_lm().kwargs["rollout_id"] == shared_embedded_engine().fingerprint


def test_each_endpoint_gets_its_own_cache_identity():
    first = build_lm("openai/served-model", "http://127.0.0.1:8000/v1")
    second = build_lm("openai/served-model", "http://127.0.0.1:8001/v1")
    assert first.model == second.model
    assert first.kwargs["rollout_id"] != second.kwargs["rollout_id"]


def test_an_unloadable_embedded_model_is_a_user_error(tmp_path):
    from agentinstruct.embedded import EmbeddedEngine
    from agentinstruct.errors import UserError
    from agentinstruct.lm import check_lm

    lm = dspy.LM(MODEL_NAME, engine=EmbeddedEngine(model_path=tmp_path / "missing.gguf"))
    with pytest.raises(UserError, match="cannot load the embedded model"):
        check_lm(lm)


def test_secondary_roles_share_the_api_base_unless_embedded():
    from agentinstruct.lm import role_api_base

    assert role_api_base("embedded", "http://127.0.0.1:8000/v1") is None
    assert role_api_base("openai/judge", "http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
