"""Reading every published chat format into canonical turns, writing each back, and the files they live in."""

import json

import pytest
from fixtures.format_cases import (
    ALPACA_HISTORY_ROW,
    ALPACA_ROW,
    ENDS_ON_USER,
    MULTI_TURN,
    OPENAI_ROW,
    ORCA_SAMPLE_ROWS,
    PARALLEL_CALLS,
    SHAREGPT_PLAIN_ROW,
    SHAREGPT_ROW,
    SINGLE,
    TEXT_BESIDE_CALL,
    WEATHER_TOOL,
    WEATHER_TURNS,
)

from agentinstruct.errors import UserError
from agentinstruct.formats import (
    FORMATS,
    Chat,
    UnreadableRow,
    UnsupportedRecord,
    chat_text,
    detect_format,
    load_rows,
    read_chat,
    read_dataset,
    resolve_format,
    write_chat,
    write_rows,
)

WEATHER_TOOLS = [{"type": "function", "function": WEATHER_TOOL}]


def test_the_public_sample_shape_reads_with_its_empty_system_turn_dropped():
    chat = read_chat(ORCA_SAMPLE_ROWS[0], "messages")
    turns = json.loads(ORCA_SAMPLE_ROWS[0]["messages"])
    assert chat.messages == turns[1:]
    assert chat.empty_system_turns == 1 and chat.tools is None


@pytest.mark.parametrize(
    ("row", "fmt", "messages", "tools"),
    [
        (OPENAI_ROW, "openai", WEATHER_TURNS, WEATHER_TOOLS),
        (OPENAI_ROW, "messages", WEATHER_TURNS, WEATHER_TOOLS),
        (
            SHAREGPT_ROW,
            "sharegpt",
            # ShareGPT carries no call ids: calls are numbered, and each observation answers the call before it.
            [
                WEATHER_TURNS[0],
                WEATHER_TURNS[1],
                {**WEATHER_TURNS[2], "tool_calls": [{**WEATHER_TURNS[2]["tool_calls"][0], "id": "call_0"}]},
                {**WEATHER_TURNS[3], "tool_call_id": "call_0"},
                WEATHER_TURNS[4],
            ],
            WEATHER_TOOLS,
        ),
        (
            SHAREGPT_PLAIN_ROW,
            "sharegpt",
            [
                {"role": "user", "content": "Name a prime number above 10."},
                {"role": "assistant", "content": "11."},
                {"role": "user", "content": "And one above 20?"},
                {"role": "assistant", "content": "23."},
            ],
            None,
        ),
        (
            ALPACA_ROW,
            "alpaca",
            [
                {"role": "user", "content": f"{ALPACA_ROW['input']}\n\n{ALPACA_ROW['instruction']}"},
                {"role": "assistant", "content": "Lyon."},
            ],
            None,
        ),
        (
            ALPACA_HISTORY_ROW,
            "alpaca",
            [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "How much rain does Lyon get?"},
                {"role": "assistant", "content": "830 mm a year."},
                {"role": "user", "content": "And in Marseille?"},
                {"role": "assistant", "content": "515 mm a year."},
            ],
            None,
        ),
    ],
)
def test_each_published_shape_reads_into_canonical_turns(row, fmt, messages, tools):
    chat = read_chat(row, fmt)
    assert chat.messages == messages
    assert chat.tools == tools


def test_formats_are_detected_from_the_columns():
    assert detect_format(["messages"]) == "messages"
    assert detect_format(["conversations", "system", "tools"]) == "sharegpt"
    assert detect_format(["instruction", "input", "output"]) == "alpaca"
    assert detect_format(["text"]) is None
    assert detect_format(["messages", "conversations"]) == "messages"
    with pytest.raises(UserError, match="no 'messages', 'conversations' .* column \\(columns: text\\)"):
        resolve_format(["text"], "auto", "f.jsonl")
    with pytest.raises(UserError, match="no 'output' column for the alpaca format"):
        resolve_format(["instruction", "input"], "alpaca", "f.jsonl")
    assert resolve_format(["conversations", "messages"], "sharegpt", "f.jsonl") == "sharegpt"


TURN = {"role": "user", "content": "Hi."}


@pytest.mark.parametrize(
    ("row", "fmt", "reason"),
    [
        ({"messages": '[{"role": "user"'}, "messages", "messages is a string but not valid JSON"),
        ({"messages": None}, "messages", "messages is empty (null)"),
        ({"messages": []}, "messages", "messages has no turns"),
        ({"messages": {"role": "user"}}, "messages", "messages is a dict, not a list of turns"),
        ({"messages": ["Hi."]}, "messages", "turn 1 is a str, not an object"),
        ({"messages": [{"role": "narrator", "content": "x"}]}, "messages", "turn 1 has an unknown role 'narrator'"),
        ({"messages": [{"content": "x"}]}, "messages", "turn 1 has an unknown role None"),
        ({"messages": [{"role": "user", "content": 7}]}, "messages", "turn 1 content is a int, not text"),
        (
            {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]},
            "messages",
            "turn 1 has non-text content (image_url)",
        ),
        ({"messages": [{"role": "system", "content": "Be brief."}]}, "messages", "no user or assistant turn"),
        ({"messages": [TURN], "tools": "{not json"}, "messages", "tools is a string but not valid JSON"),
        ({"messages": [TURN], "tools": [{"description": "x"}]}, "messages", "tools entry 1 is not a function"),
        (
            {"messages": [TURN, {"role": "assistant", "tool_calls": [{"function": {"arguments": "{}"}}]}]},
            "messages",
            "turn 2 has a tool call without a function name",
        ),
        (
            {"messages": [{**TURN, "tool_calls": [{"function": {"name": "f"}}]}]},
            "messages",
            "turn 1 is a user turn with tool calls",
        ),
        ({"conversations": "Hi."}, "sharegpt", "conversations is a string but not valid JSON"),
        (
            {"conversations": [{"from": "human", "value": "Hi"}, {"from": "function_call", "value": "weather(Lyon)"}]},
            "sharegpt",
            "turn 2 is a function_call whose value is not JSON",
        ),
        ({"conversations": [{"from": "human", "value": "Hi"}], "system": ["x"]}, "sharegpt", "system is a list"),
        ({"instruction": "Say hi."}, "alpaca", "no output"),
        ({"instruction": 5, "output": "y"}, "alpaca", "instruction is a int, not text"),
        ({"instruction": "x", "output": "y", "history": [["only one"]]}, "alpaca", "history entry 1 is not an"),
        ({"instruction": "x", "output": "y", "history": "earlier"}, "alpaca", "history is not a list"),
    ],
)
def test_malformed_rows_are_unreadable_with_a_reason(row, fmt, reason):
    with pytest.raises(UnreadableRow) as raised:
        read_chat(row, fmt)
    assert str(raised.value).startswith(reason)


def test_a_function_call_value_may_be_the_object_itself():
    row = {**SHAREGPT_ROW, "conversations": list(SHAREGPT_ROW["conversations"])}
    row["conversations"][1] = {"from": "function_call", "value": {"name": "get_weather", "arguments": {"city": "Lyon"}}}
    assert read_chat(row, "sharegpt").messages == read_chat(SHAREGPT_ROW, "sharegpt").messages


def test_content_parts_and_developer_turns_read_as_text():
    chat = read_chat(
        {
            "messages": [
                {"role": "developer", "content": "Be brief."},
                {"role": "user", "content": [{"type": "text", "text": "Hi"}, {"type": "text", "text": "there"}]},
                {"role": "assistant", "content": "Hello."},
            ]
        },
        "messages",
    )
    assert chat.messages[0] == {"role": "system", "content": "Be brief."}
    assert chat.messages[1] == {"role": "user", "content": "Hi\nthere"}


def _comparable(chat: Chat, fmt: str) -> tuple:
    """A conversation as a format that renumbers call ids (ShareGPT) must keep it: roles, texts, calls by value."""
    turns = []
    for turn in chat.messages:
        calls = [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in turn.get("tool_calls", [])]
        kept = {k: v for k, v in turn.items() if k != "tool_calls"}
        if fmt == "sharegpt":
            kept.pop("tool_call_id", None)
        turns.append((kept, calls))
    return turns, chat.tools


UNSUPPORTED = {
    ("PARALLEL_CALLS", "sharegpt"): "turns that do not alternate between user/tool and assistant",
    ("PARALLEL_CALLS", "alpaca"): "tools, tool calls or tool turns",
    ("TEXT_BESIDE_CALL", "sharegpt"): "assistant text beside tool calls",
    ("TEXT_BESIDE_CALL", "alpaca"): "tools, tool calls or tool turns",
    ("WEATHER", "alpaca"): "tools, tool calls or tool turns",
    ("ENDS_ON_USER", "sharegpt"): "no assistant turn at the end",
    ("ENDS_ON_USER", "alpaca"): "no assistant turn at the end",
    ("USER_ONLY", "openai"): "no assistant turn",
    ("USER_ONLY", "sharegpt"): "no assistant turn at the end",
    ("USER_ONLY", "alpaca"): "no assistant turn at the end",
    ("LATE_SYSTEM", "sharegpt"): "a system turn after the first turn",
    ("LATE_SYSTEM", "alpaca"): "a system turn after the first turn",
    ("TWO_USERS", "alpaca"): "turns that do not alternate between user and assistant",
    ("TWO_USERS", "sharegpt"): "turns that do not alternate between user/tool and assistant",
    ("NAMED", "sharegpt"): "turns with a name",
    ("NAMED", "alpaca"): "turns with a name",
}
CONVERSATIONS = {
    "SINGLE": Chat(SINGLE),
    "MULTI_TURN": Chat(MULTI_TURN),
    "WEATHER": Chat(WEATHER_TURNS, tools=WEATHER_TOOLS),
    "PARALLEL_CALLS": Chat(PARALLEL_CALLS, tools=WEATHER_TOOLS),
    "TEXT_BESIDE_CALL": Chat(TEXT_BESIDE_CALL),
    "ENDS_ON_USER": Chat(ENDS_ON_USER),
    "USER_ONLY": Chat([{"role": "user", "content": "Hi."}]),
    "LATE_SYSTEM": Chat([*SINGLE, {"role": "system", "content": "Now in French."}, *SINGLE]),
    "TWO_USERS": Chat([SINGLE[0], SINGLE[0], SINGLE[1]]),
    "NAMED": Chat([{**SINGLE[0], "name": "ana"}, SINGLE[1]]),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", CONVERSATIONS)
def test_every_format_writes_back_what_it_reads_or_refuses_with_a_category(name, fmt):
    chat = CONVERSATIONS[name]
    expected = UNSUPPORTED.get((name, fmt))
    if expected:
        with pytest.raises(UnsupportedRecord) as raised:
            write_chat(chat, fmt)
        assert str(raised.value) == expected
        return
    row = json.loads(json.dumps(write_chat(chat, fmt)))  # as it comes back from a JSONL file
    again = read_chat(row, fmt)
    assert _comparable(again, fmt) == _comparable(chat, fmt)
    if fmt in ("messages", "openai"):
        assert again.messages == chat.messages and again.tools == chat.tools  # lossless, call ids included
    for turn in again.messages:  # every tool result still names the call it answers
        if turn["role"] == "tool":
            ids = {c["id"] for t in again.messages for c in t.get("tool_calls", [])}
            assert turn["tool_call_id"] in ids


def test_written_shapes_are_the_documented_ones():
    weather = Chat(WEATHER_TURNS, tools=WEATHER_TOOLS)
    sharegpt = write_chat(weather, "sharegpt")
    assert [t["from"] for t in sharegpt["conversations"]] == ["human", "function_call", "observation", "gpt"]
    assert json.loads(sharegpt["conversations"][1]["value"]) == {"name": "get_weather", "arguments": {"city": "Lyon"}}
    assert sharegpt["system"] == "You are a weather assistant." and json.loads(sharegpt["tools"]) == [WEATHER_TOOL]
    assert set(write_chat(weather, "openai")) == {"messages", "tools"}
    assert write_chat(Chat(SINGLE), "openai") == {"messages": SINGLE}
    assert json.loads(write_chat(weather, "messages", tools_as_json=True)["tools"]) == WEATHER_TOOLS
    alpaca = write_chat(Chat(MULTI_TURN), "alpaca")
    assert alpaca == {
        "instruction": "And Marseille?",
        "input": "",
        "output": "515 mm.",
        "system": "Answer briefly.",
        "history": [["How much rain does Lyon get?", "830 mm a year."]],
    }


def test_chat_text_is_the_prose_of_user_assistant_and_tool_turns():
    text = chat_text(Chat(WEATHER_TURNS))
    assert text == "\n\n".join(["Is it raining in Lyon?", '{"rain": true, "mm": 4}', WEATHER_TURNS[4]["content"]])


def test_jsonl_rows_that_are_not_objects_are_counted_by_line(tmp_path):
    source = tmp_path / "rows.jsonl"
    lines = [json.dumps(ORCA_SAMPLE_ROWS[0]), "", "{broken", "[1, 2]", json.dumps(ALPACA_ROW)]
    source.write_bytes("\n".join(lines).encode() + b"\n\xff\xfe\n")
    rows = load_rows(source)
    assert rows.count == 5 and rows.columns == ["messages", "instruction", "input", "output"]
    assert rows.errors == {
        1: "line 3, column 2: invalid JSON (Expecting property name enclosed in double quotes)",
        2: "line 4: a JSON list, not an object",
        4: "line 6: not UTF-8 text",
    }
    dataset = read_dataset(source)
    assert dataset.format == "messages" and dataset.readable == [0]
    assert [u["index"] for u in dataset.unreadable] == [1, 2, 3, 4]
    assert dataset.unreadable[2] == {"index": 3, "reason": "messages is empty (null)"}  # the Alpaca row


def test_a_column_mixing_types_is_kept_as_json_text(tmp_path):
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in [{"messages": SINGLE}, ORCA_SAMPLE_ROWS[0], {"other": 1}]))
    table = load_rows(source).arrow()
    assert table.column("messages").to_pylist() == [
        json.dumps(SINGLE),
        json.dumps(ORCA_SAMPLE_ROWS[0]["messages"]),
        None,
    ]
    assert read_dataset(source).readable == [0, 1]


def test_json_arrays_parquet_and_saved_datasets(tmp_path):
    import datasets

    (tmp_path / "alpaca.json").write_text(json.dumps([ALPACA_ROW, ALPACA_HISTORY_ROW, "stray"], indent=2))
    dataset = read_dataset(tmp_path / "alpaca.json")
    assert dataset.format == "alpaca" and dataset.readable == [0, 1]
    assert dataset.unreadable == [{"index": 2, "reason": "element 2 is a str, not a JSON object"}]

    datasets.Dataset.from_list([SHAREGPT_PLAIN_ROW] * 2).to_parquet(str(tmp_path / "sharegpt.parquet"))
    assert read_dataset(tmp_path / "sharegpt.parquet").format == "sharegpt"

    both = datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list(ORCA_SAMPLE_ROWS),
            "test": datasets.Dataset.from_list(ORCA_SAMPLE_ROWS[:1]),
        }
    )
    both.save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(UserError, match="has splits train, test; choose one with --split"):
        read_dataset(tmp_path / "hf")
    with pytest.raises(UserError, match="has no split 'dev'"):
        read_dataset(tmp_path / "hf", split="dev")
    assert len(read_dataset(tmp_path / "hf", split="test").readable) == 1


def test_files_that_cannot_be_read_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="dataset path does not exist"):
        load_rows(tmp_path / "missing.jsonl")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="expected a folder, a .jsonl, .json or .parquet file"):
        load_rows(tmp_path / "notes.txt")
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="cannot read .*bad.parquet"):
        load_rows(tmp_path / "bad.parquet")
    (tmp_path / "empty.jsonl").write_text("\n")
    with pytest.raises(UserError, match="has no rows"):
        read_dataset(tmp_path / "empty.jsonl")
    (tmp_path / "junk.jsonl").write_text('{"messages": "nope"}\n{"messages": []}\n')
    with pytest.raises(UserError, match="no row of .* could be read as messages \\(row 0: messages is a string"):
        read_dataset(tmp_path / "junk.jsonl")


def test_a_failed_write_leaves_the_previous_file_untouched(tmp_path):
    import pyarrow as pa

    out = tmp_path / "out.jsonl"
    out.write_text("previous\n")
    with pytest.raises(ValueError):
        write_rows([{"a": 1}, {"a": 2}], out, passthrough=pa.table({"b": [1]}))  # one passthrough row short
    assert out.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]
