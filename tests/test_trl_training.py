"""Generated datasets train in TRL's SFTTrainer as they are on disk: a multi-turn dataset and a tool-use dataset (the
latter with conversations the `tool_use` pipeline itself generates, on a scripted LM), each written through the
project's record path (`records.make_record`) and the store `generate` writes with, then
`datasets.load_from_disk(DIR)["train"]` handed to `SFTTrainer` unchanged (no column mapping, no conversion).

The model is the embedded Gemma 3 270M, loaded from its GGUF by transformers (`gguf_file=`, needs the `gguf` package;
`GgufConfig(dequantize=True)`: the weights become plain float32, which Trainer accepts). The GGUF has no chat
template, and Gemma 3's own template knows no `tool` turns or tool calls, so training uses
`tests/fixtures/gemma_tools_chat_template.jinja` (Gemma's turn markers, plus the offered `tools`, assistant
`tool_calls` and `tool` turns) through `SFTConfig(chat_template_path=...)`. The input embedding (tied to the output
head: 168M of its 268M parameters) is frozen to keep optimizer memory small; everything else trains. Two steps on CPU,
`max_length` 512.
"""

import json
import math
import resource
import time
from pathlib import Path

import pytest
from fixtures.stored import store_samples

pytestmark = pytest.mark.slow

TEMPLATE = Path(__file__).parent / "fixtures" / "gemma_tools_chat_template.jinja"
MAX_LENGTH = 512
"""The longest conversation here (a calculator tool-use record with its schema) renders to about 420 tokens."""
STEPS = 2


def _multi_turn_samples():
    from agentinstruct.programs import Sample

    conversations = [
        [
            ("Which river floods the town of Fenwick every spring?", "The river Alder, when snow melts in the hills."),
            ("When did Fenwick build its levee?", "In 1998; it is three kilometers long."),
            ("Has a flood reached the market square since?", "No, none has since the levee was built."),
        ],
        [
            ("How far did the Vatna glacier retreat?", "About 300 meters between 1990 and 2020."),
            ("How do researchers measure it?", "With drones, every September."),
            ("What formed where the ice melted?", "A lake that did not exist in 1985."),
        ],
        [
            ("How much rain does the Kesh desert get?", "Less than 80 millimeters a year."),
            ("How fast do its dunes move?", "Up to 15 meters a year, pushed by the eastern wind."),
            ("How many homes does its solar farm power?", "About 40,000 homes."),
        ],
    ]
    samples = []
    for turns in conversations:
        messages = [
            message
            for question, answer in turns
            for message in ({"role": "user", "content": question}, {"role": "assistant", "content": answer})
        ]
        samples.append(Sample(messages, "follow_up", "identity", context="A text about rivers, ice and deserts."))
    return samples


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _tool_use_samples():
    import dspy
    from dspy.utils import DummyLM

    from agentinstruct.calculator import calculator_schema
    from agentinstruct.programs import Sample, get_skill
    from agentinstruct.programs.calculator import calculator_responder

    def call(call_id: str, name: str, arguments: dict) -> dict:
        return {"id": call_id, "type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}

    samples = [
        Sample(
            [
                {"role": "user", "content": "Is it raining in Lyon?"},
                {"role": "assistant", "content": "", "tool_calls": [call("call_1", "get_weather", {"city": "Lyon"})]},
                {"role": "tool", "content": '{"rain": true, "mm": 4}', "tool_call_id": "call_1", "name": "get_weather"},
                {"role": "assistant", "content": "Yes: about 4 mm of rain is falling in Lyon."},
            ],
            "one_api_all_parameters",
            "api_description",
            tools=[WEATHER],
        ),
        Sample(
            [
                {"role": "system", "content": "You answer with the tools you are given."},
                {"role": "user", "content": "Is it warmer in Oslo or in Rome right now?"},
                {
                    "role": "assistant",
                    "content": "I will check both cities.",
                    "tool_calls": [
                        call("call_1", "get_weather", {"city": "Oslo"}),
                        call("call_2", "get_weather", {"city": "Rome"}),
                    ],
                },
                {"role": "tool", "content": '{"celsius": 3}', "tool_call_id": "call_1", "name": "get_weather"},
                {"role": "tool", "content": '{"celsius": 17}', "tool_call_id": "call_2", "name": "get_weather"},
                {"role": "assistant", "content": "Rome: 17 °C against 3 °C in Oslo."},
            ],
            "several_apis_all_parameters",
            "api_description",
            tools=[WEATHER, calculator_schema()],
        ),
    ]
    # Tool-use conversations as the skill's own pipeline generates them (a scripted LM stands in for the model).
    from test_skill_tool_use import TEMPERATURE_CODE, _scripted

    from agentinstruct.programs import AgentInstructPipeline

    pipeline = AgentInstructPipeline(get_skill("tool_use"))
    _, scripted = _scripted()
    with scripted:
        generated = [s for draw in range(2) for s in pipeline(seed=TEMPERATURE_CODE, seed_id="t", draw=draw).samples]
    assert generated and all(sample.tools for sample in generated)
    samples += generated
    # A calculator conversation as the Fermi responder writes it with tool turns (DummyLM stands in for the teacher).
    skill = get_skill("fermi")
    question = "How many loaves of bread does a town of 20,000 people eat in a week?"
    answer = (
        "Assumptions:\n- 20,000 people.\n- 2 slices a day each; 20 slices a loaf.\n"
        "Calculation:\n20,000 × 2 = 4,000 slices.\n4,000 / 20 = 200 loaves a day.\n200 × 7 = 1,400 loaves.\n"
        "Estimate: about 1,400 loaves a week."
    )
    with dspy.context(lm=DummyLM([{skill.wording.response: answer}])):
        prediction = calculator_responder(skill, tool_turns=True)(passage="", instruction=question, config={})
    samples.append(
        Sample(
            [{"role": "user", "content": question}, *prediction.messages],
            "count_of_things",
            "identity",
            tools=prediction.tools,
            execution=prediction.execution,
        )
    )
    return samples


@pytest.fixture(scope="module")
def gemma():
    """The embedded model's weights and tokenizer, from its GGUF (dequantized to float32)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    from agentinstruct.embedded import default_model_path

    path = default_model_path()
    started = time.perf_counter()
    tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    # Dequantized on load (float32), and said so: without `dequantize=True` the model keeps its GGUF quantizer and
    # Trainer refuses it as a "purely quantized model" needing adapters.
    dequantized = GgufConfig(gguf_file=path.name, dequantize=True)
    model = AutoModelForCausalLM.from_pretrained(str(path.parent), gguf_file=path.name, quantization_config=dequantized)
    assert not model.is_quantized and all(p.dtype == torch.float32 for p in model.parameters())
    model.get_input_embeddings().requires_grad_(False)
    print(f"\nloaded {type(model).__name__} from {path.name} in {time.perf_counter() - started:.1f}s")
    return model, tokenizer


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    from agentinstruct.programs import get_skill

    root = tmp_path_factory.mktemp("stored")
    return {
        "multi_turn": store_samples(root / "multi_turn", _multi_turn_samples(), get_skill("open_domain_qa")),
        "tool_use": store_samples(root / "tool_use", _tool_use_samples(), get_skill("fermi")),
    }


@pytest.mark.parametrize("kind", ["multi_turn", "tool_use"])
def test_a_generated_dataset_trains_in_sft_trainer_as_stored(kind, stored, gemma, tmp_path):
    import datasets
    from trl import SFTConfig, SFTTrainer

    model, tokenizer = gemma
    train = datasets.load_from_disk(str(stored[kind]))["train"]
    assert "messages" in train.column_names and "tools" in train.column_names  # the generate schema, every column
    config = SFTConfig(
        output_dir=str(tmp_path / "sft"),
        max_steps=STEPS,
        per_device_train_batch_size=1,
        learning_rate=1e-5,
        max_length=MAX_LENGTH,
        chat_template_path=str(TEMPLATE),
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
        bf16=False,
        dataloader_num_workers=0,
        disable_tqdm=True,
        seed=0,
    )
    started = time.perf_counter()
    trainer = SFTTrainer(model=model, args=config, train_dataset=train, processing_class=tokenizer)
    prepared = time.perf_counter()
    result = trainer.train()
    finished = time.perf_counter()

    assert result.global_step == STEPS and math.isfinite(result.training_loss)
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    assert len(losses) == STEPS and all(math.isfinite(loss) for loss in losses)
    # Every conversation was rendered whole (within max_length) through the chat template: all its turns, and for
    # tool use the offered schemas, the calls and the tool results.
    texts = [tokenizer.decode(row["input_ids"]) for row in trainer.train_dataset]
    assert len(texts) == len(train)
    for text, row in zip(texts, train, strict=True):
        assert text.count("<start_of_turn>model") == sum(m["role"] == "assistant" for m in row["messages"])
        assert row["messages"][-1]["content"] in text
        if kind == "tool_use":
            assert "<start_of_turn>tool" in text and "<tool_call>" in text
            for schema in json.loads(row["tools"]):
                assert json.dumps(schema["function"]["name"]) in text
            for message in row["messages"]:
                for call in message["tool_calls"] or ():
                    assert call["function"]["arguments"] in text
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n{kind}: {len(train)} records, prepared in {prepared - started:.1f}s, {STEPS} steps in "
        f"{finished - prepared:.1f}s, losses {[round(loss, 3) for loss in losses]}, peak RSS {peak:.0f} MiB"
    )
