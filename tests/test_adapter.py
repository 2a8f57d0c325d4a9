import threading

import dspy
import pytest
from dspy.utils.callback import BaseCallback

from agentinstruct.adapter import CachingChatAdapter
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.skills import skill_names


def _requests(skill: str) -> list[tuple[str, type[dspy.Signature], list, dict]]:
    """Every predictor of `skill` as it calls its LM: its signature, its demos (starters included) and inputs taken
    from them."""
    requests = []
    for name, predictor in AgentInstructPipeline(get_skill(skill)).named_predictors():
        demos = [*predictor.demos, *getattr(predictor, "starter_demos", [])]
        inputs = {}
        for field in predictor.signature.input_fields:
            source = next((demo for demo in demos if field in demo), None)
            inputs[field] = source[field] if source is not None else f"the {field} of this call"
        requests.append((name, predictor.signature, demos, inputs))
    return requests


@pytest.mark.parametrize("skill", skill_names())
def test_messages_are_chat_adapters_byte_for_byte(skill):
    adapter, reference = CachingChatAdapter(), dspy.ChatAdapter()
    requests = _requests(skill)
    assert requests and any(demos for _, _, demos, _ in requests)
    for _ in range(2):  # made, then from the cache
        for name, signature, demos, inputs in requests:
            assert adapter.format(signature, demos, inputs) == reference.format(signature, demos, inputs), name


def _first_request_with_demos():
    return next(request for request in _requests("reading_comprehension") if len(request[2]) >= 1)


def test_another_signature_or_other_demos_are_never_served_a_kept_value():
    adapter, reference = CachingChatAdapter(), dspy.ChatAdapter()
    _, signature, demos, inputs = _first_request_with_demos()

    def same(signature, demos):
        made = adapter.format(signature, demos, inputs)
        assert made == reference.format(signature, demos, inputs)
        return made

    first = same(signature, demos)
    reworded = signature.with_instructions(signature.instructions + " Be brief.")
    assert same(reworded, demos)[0] != first[0]
    # Same fields and instructions, another class (as an optimizer's copy): its own entry, the same text.
    assert same(signature.with_instructions(signature.instructions), demos) == first

    changed = [demo.copy() for demo in demos]
    field = next(iter(signature.input_fields))
    changed[0][field] = "A different demo input."
    assert same(signature, changed) != first
    assert same(signature, list(reversed(demos + changed)))
    # A demo changed in place (same object, other content) is formatted anew.
    mutable = [demo.copy() for demo in demos]
    same(signature, mutable)
    mutable[0][field] = "Changed in place."
    assert "Changed in place." in str(same(signature, mutable))
    assert same(signature, []) == reference.format(signature, [], inputs)


def test_demos_with_values_other_than_text_are_formatted_each_time():
    class Count(dspy.Signature):
        """Count the words."""

        text: str = dspy.InputField()
        words: int = dspy.OutputField()

    adapter, reference = CachingChatAdapter(), dspy.ChatAdapter()
    for value in (1, 1.0, True):
        demos = [dspy.Example(text="one", words=value)]
        assert adapter.format(Count, demos, {"text": "a b"}) == reference.format(Count, demos, {"text": "a b"})
    assert len(adapter._demo_turns) == 0


def test_kept_messages_cannot_be_changed_by_a_caller():
    adapter = CachingChatAdapter()
    _, signature, demos, inputs = _first_request_with_demos()
    expected = dspy.ChatAdapter().format(signature, demos, inputs)
    for message in adapter.format(signature, demos, inputs):
        message["content"] = "overwritten"
    assert adapter.format(signature, demos, inputs) == expected


def test_the_cache_is_bounded():
    adapter = CachingChatAdapter(cache_size=2)
    _, signature, demos, inputs = _first_request_with_demos()
    for words in ("One.", "Two.", "Three."):
        adapter.format(signature.with_instructions(words), demos, inputs)
    assert len(adapter._system_messages) == 2 and len(adapter._demo_turns) == 2


def test_threads_sharing_one_adapter_get_their_own_signatures_messages():
    adapter, reference = CachingChatAdapter(cache_size=8), dspy.ChatAdapter()
    requests = _requests("reading_comprehension")[:24]  # more than the cache holds: entries come and go meanwhile
    expected = [reference.format(signature, demos, inputs) for _, signature, demos, inputs in requests]
    wrong: list[str] = []

    def work(offset: int) -> None:
        for i in range(len(requests) * 5):
            k = (i + offset) % len(requests)
            name, signature, demos, inputs = requests[k]
            if adapter.format(signature, demos, inputs) != expected[k]:
                wrong.append(name)

    threads = [threading.Thread(target=work, args=(offset,)) for offset in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_callbacks_see_each_format_and_parse_once():
    events = []

    class Count(BaseCallback):
        def on_adapter_format_start(self, call_id, instance, inputs):
            events.append("format")

        def on_adapter_parse_start(self, call_id, instance, inputs):
            events.append("parse")

    _, signature, demos, inputs = _first_request_with_demos()
    adapter = CachingChatAdapter()
    with dspy.context(callbacks=[Count()]):
        adapter.format(signature, demos, inputs)
        completion = "".join(f"[[ ## {name} ## ]]\nSomething.\n\n" for name in signature.output_fields)
        adapter.parse(signature, completion + "[[ ## completed ## ]]")
    assert events == ["format", "parse"]
