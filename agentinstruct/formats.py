"""The chat dataset formats the field publishes: reading each into canonical turns, and writing each back.

This module is the one place that knows them; `score`, `export` and the seed loaders go through it.

Canonical shape of one conversation (`Chat`): `messages`, a list of turns `{"role", "content"}` with `role` one of
system, user, assistant, tool and `content` a string; an assistant turn may carry `tool_calls` (OpenAI's shape:
`[{"id", "type": "function", "function": {"name", "arguments": JSON text}}]`), a tool turn `tool_call_id`, any turn
`name`. `tools`, when the conversation offers functions, is a list of `{"type": "function", "function": {...}}`.

Formats (named by `--format`, or detected from the columns by `detect_format`):

- `messages`: a `messages` column holding the list of turns, or that list as a JSON string (orca-agentinstruct-1M
  stores it so); optional `tools`. The shape TRL's SFT trainer reads.
- `openai`: OpenAI's chat fine-tuning JSONL, `{"messages": [...], "tools": [...]}` per line. It reads exactly as
  `messages`; written, it holds nothing but those two keys.
- `sharegpt`: a `conversations` column of `{"from", "value"}` turns, with LLaMA-Factory's optional top-level
  `system` and `tools` (a JSON string of function definitions). Speakers: system; human (or user); gpt (or assistant,
  chatgpt); function_call (the value is a JSON object `{"name", "arguments"}`, or a list of them); observation (or
  tool).
- `alpaca`: `instruction`, `input`, `output`, with LLaMA-Factory's optional `system` and `history` (a list of
  `[instruction, response]` pairs of earlier turns).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentinstruct.errors import UserError

FORMATS = ("messages", "openai", "sharegpt", "alpaca")
ROLES = ("system", "user", "assistant", "tool")

FORMAT_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": ("messages", "tools"),
    "openai": ("messages", "tools"),
    "sharegpt": ("conversations", "system", "tools"),
    "alpaca": ("instruction", "input", "output", "system", "history"),
}
"""Every column a format owns (read from, written to); the rest of a row is the record's own data."""

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "messages": ("messages",),
    "openai": ("messages",),
    "sharegpt": ("conversations",),
    "alpaca": ("instruction", "output"),
}

# Speaker names as datasets write them, mapped to canonical roles. `function_call` is handled on its own: its value
# is a tool call, not text.
_SPEAKERS = {
    "system": "system",
    "developer": "system",  # OpenAI's newer name for the system role
    "user": "user",
    "human": "user",
    "assistant": "assistant",
    "gpt": "assistant",
    "chatgpt": "assistant",
    "tool": "tool",
    "observation": "tool",
}
_FUNCTION_CALL = "function_call"
_SHAREGPT_SPEAKER = {"user": "human", "assistant": "gpt", "tool": "observation"}


class UnreadableRow(ValueError):
    """A row that holds no conversation in the expected format; the message says why."""


class UnsupportedRecord(ValueError):
    """A conversation a format cannot carry; the message is a short category, the same for every such record."""


@dataclass
class Chat:
    """One conversation in canonical form.

    Attributes:
        messages: The turns, in order.
        tools: Function definitions offered to the model, or None.
        empty_system_turns: System turns with no text, dropped while reading (as the cleaned public copies do).
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] | None = None
    empty_system_turns: int = 0


# ---------------------------------------------------------------------------------------------------------------
# Detecting and reading


def detect_format(columns: Iterable[str]) -> str | None:
    """The format a table's columns show, or None. `messages` wins over `conversations`, which wins over Alpaca."""
    present = set(columns)
    for name in ("messages", "sharegpt", "alpaca"):
        if set(REQUIRED_COLUMNS[name]) <= present:
            return name
    return None


def resolve_format(columns: Sequence[str], requested: str | None, source: str) -> str:
    """The format to read `source` as: `requested` when given (checked against the columns), else the detected one.

    Raises:
        UserError: An unknown format, a named format whose columns are missing, or no recognisable format.
    """
    if requested in (None, "auto"):
        detected = detect_format(columns)
        if detected is None:
            raise UserError(
                f"{source} has no 'messages', 'conversations' (ShareGPT) or 'instruction'/'output' (Alpaca) column "
                f"(columns: {', '.join(columns) or 'none'}); name the format with --format"
            )
        return detected
    if requested not in FORMATS:
        raise UserError(f"unknown format '{requested}' (choose from {', '.join(FORMATS)})")
    missing = [name for name in REQUIRED_COLUMNS[requested] if name not in columns]
    if missing:
        raise UserError(
            f"{source} has no {' or '.join(repr(m) for m in missing)} column for the {requested} format "
            f"(columns: {', '.join(columns) or 'none'})"
        )
    return requested


def read_chat(row: Mapping[str, Any], fmt: str) -> Chat:
    """One row of a table in format `fmt` as a canonical conversation.

    Raises:
        UnreadableRow: The row holds no conversation this format can describe.
    """
    if fmt in ("messages", "openai"):
        chat = _read_turns(_json_list(row.get("messages"), "messages"))
        chat.tools = _read_tools(row.get("tools"))
    elif fmt == "sharegpt":
        chat = _read_turns(_json_list(row.get("conversations"), "conversations"))
        _prepend_system(chat, row.get("system"))
        chat.tools = _read_tools(row.get("tools"))
    elif fmt == "alpaca":
        chat = _read_alpaca(row)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    if not any(turn["role"] in ("user", "assistant") for turn in chat.messages):
        raise UnreadableRow("no user or assistant turn")
    return chat


def chat_text(chat: Chat) -> str:
    """The conversation's prose, for use as seed text: user, assistant and tool turns in order, a blank line apart.

    System turns (instructions to the model) and tool-call arguments (machine-readable) are left out.
    """
    return "\n\n".join(
        turn["content"] for turn in chat.messages if turn["role"] != "system" and turn["content"].strip()
    )


def _json_list(value: Any, column: str) -> list:
    if value is None:
        raise UnreadableRow(f"{column} is empty (null)")
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise UnreadableRow(
                f"{column} is a string but not valid JSON (character {exc.pos + 1}: {exc.msg})"
            ) from None
    if not isinstance(value, list | tuple):
        raise UnreadableRow(f"{column} is a {type(value).__name__}, not a list of turns")
    if not value:
        raise UnreadableRow(f"{column} has no turns")
    return list(value)


def _read_turns(turns: list) -> Chat:
    chat = Chat(messages=[])
    pending_call_ids: list[str] = []  # calls of the last function_call turn, answered by the observations after it
    calls_seen = 0
    for position, turn in enumerate(turns, start=1):
        if not isinstance(turn, Mapping):
            raise UnreadableRow(f"turn {position} is a {type(turn).__name__}, not an object")
        # role/content (OpenAI, TRL) or from/value (ShareGPT); a Parquet column that unites both styles of turn has
        # the other pair as null, hence a fallback on None rather than on a missing key.
        speaker = turn.get("role") if turn.get("role") is not None else turn.get("from")
        raw_content = turn.get("content") if turn.get("content") is not None else turn.get("value")
        if speaker == _FUNCTION_CALL:
            calls = _function_call_value(raw_content, position)
            tool_calls = [_tool_call(call, position, calls_seen + k) for k, call in enumerate(calls)]
            calls_seen += len(tool_calls)
            pending_call_ids = [call["id"] for call in tool_calls]
            chat.messages.append({"role": "assistant", "content": "", "tool_calls": tool_calls})
            continue
        role = _SPEAKERS.get(speaker) if isinstance(speaker, str) else None
        if role is None:
            raise UnreadableRow(f"turn {position} has an unknown role {speaker!r}")
        content = _text(raw_content, position)
        if role == "system" and not content.strip():
            chat.empty_system_turns += 1
            continue
        message: dict[str, Any] = {"role": role, "content": content}
        raw_calls = turn.get("tool_calls")
        if raw_calls:
            if role != "assistant":
                raise UnreadableRow(f"turn {position} is a {role} turn with tool calls")
            if not isinstance(raw_calls, list | tuple):
                raise UnreadableRow(f"turn {position}: tool_calls is not a list")
            message["tool_calls"] = [_tool_call(call, position, calls_seen + k) for k, call in enumerate(raw_calls)]
            calls_seen += len(raw_calls)
            pending_call_ids = [call["id"] for call in message["tool_calls"]]
        if role == "tool":
            call_id = turn.get("tool_call_id")
            if call_id is None and pending_call_ids:
                call_id = pending_call_ids.pop(0)  # ShareGPT carries no ids: answers follow their calls in order
            elif call_id in pending_call_ids:
                pending_call_ids.remove(call_id)
            if call_id is not None:
                message["tool_call_id"] = str(call_id)
        name = turn.get("name")
        if isinstance(name, str) and name:
            message["name"] = name
        chat.messages.append(message)
    return chat


def _text(value: Any, position: int) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple):  # OpenAI/TRL content parts
        texts = []
        for part in value:
            kind = part.get("type") if isinstance(part, Mapping) else None
            if kind != "text" or not isinstance(part.get("text"), str):
                raise UnreadableRow(f"turn {position} has non-text content ({kind or type(part).__name__})")
            texts.append(part["text"])
        return "\n".join(texts)
    raise UnreadableRow(f"turn {position} content is a {type(value).__name__}, not text")


def _function_call_value(value: Any, position: int) -> list:
    """The calls of a ShareGPT function_call turn: JSON text (as LLaMA-Factory writes it) or the object itself."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UnreadableRow(f"turn {position} is a function_call whose value is not JSON") from None
    calls = value if isinstance(value, list) else [value]
    if not calls:
        raise UnreadableRow(f"turn {position} is a function_call with no call")
    return calls


def _tool_call(call: Any, position: int, number: int) -> dict[str, Any]:
    """OpenAI's `{"id", "type", "function": {...}}` or a bare `{"name", "arguments"}` as an OpenAI tool call."""
    if not isinstance(call, Mapping):
        raise UnreadableRow(f"turn {position} has a tool call that is not an object")
    function = call.get("function") if isinstance(call.get("function"), Mapping) else call
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise UnreadableRow(f"turn {position} has a tool call without a function name")
    arguments = function.get("arguments")
    if arguments is None:
        arguments = "{}"
    elif not isinstance(arguments, str):
        arguments = json.dumps(arguments, ensure_ascii=False)
    return {
        "id": str(call.get("id") or f"call_{number}"),
        "type": "function",
        "function": {"name": name, "arguments": arguments},
    }


def _read_tools(value: Any) -> list[dict[str, Any]] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise UnreadableRow("tools is a string but not valid JSON") from None
    if not isinstance(value, list | tuple):
        raise UnreadableRow("tools is not a list of function definitions")
    tools = []
    for number, tool in enumerate(value, start=1):
        if isinstance(tool, Mapping) and isinstance(tool.get("function"), Mapping):
            tools.append({"type": tool.get("type") or "function", "function": dict(tool["function"])})
        elif isinstance(tool, Mapping) and isinstance(tool.get("name"), str):
            tools.append({"type": "function", "function": dict(tool)})  # LLaMA-Factory lists bare definitions
        else:
            raise UnreadableRow(f"tools entry {number} is not a function definition")
    return tools or None


def _prepend_system(chat: Chat, system: Any) -> None:
    if system is None:
        return
    if not isinstance(system, str):
        raise UnreadableRow(f"system is a {type(system).__name__}, not text")
    if system.strip():
        chat.messages.insert(0, {"role": "system", "content": system})


def _read_alpaca(row: Mapping[str, Any]) -> Chat:
    instruction, context, output = row.get("instruction"), row.get("input"), row.get("output")
    for column, value in (("instruction", instruction), ("output", output)):
        if value is None:
            raise UnreadableRow(f"no {column}")
    for column, value in (("instruction", instruction), ("input", context), ("output", output)):
        if value is not None and not isinstance(value, str):
            raise UnreadableRow(f"{column} is a {type(value).__name__}, not text")
    chat = Chat(messages=[])
    history = row.get("history") or []
    if not isinstance(history, list | tuple):
        raise UnreadableRow("history is not a list of [instruction, response] pairs")
    for number, pair in enumerate(history, start=1):
        if not isinstance(pair, list | tuple) or len(pair) != 2 or not all(isinstance(p, str) for p in pair):
            raise UnreadableRow(f"history entry {number} is not an [instruction, response] pair")
        chat.messages += [{"role": "user", "content": pair[0]}, {"role": "assistant", "content": pair[1]}]
    # The context first, then the instruction: the layout of generate's own user turns, whose last paragraph the
    # metrics read as the instruction and the rest as the passage it is about.
    user = "\n\n".join(part for part in (context, instruction) if part)
    chat.messages += [{"role": "user", "content": user}, {"role": "assistant", "content": output}]
    _prepend_system(chat, row.get("system"))
    return chat


# ---------------------------------------------------------------------------------------------------------------
# Writing


def write_chat(chat: Chat, fmt: str, *, tools_as_json: bool = False) -> dict[str, Any]:
    """The format's own columns for one conversation.

    Args:
        tools_as_json: Write `tools` (messages format) as JSON text, for Parquet, where one column has one schema and
            function definitions differ from row to row.

    Raises:
        UnsupportedRecord: The format cannot carry this conversation.
    """
    if fmt == "messages":
        row: dict[str, Any] = {"messages": [dict(turn) for turn in chat.messages]}
        if chat.tools:
            row["tools"] = json.dumps(chat.tools, ensure_ascii=False) if tools_as_json else chat.tools
        return row
    if fmt == "openai":
        if not any(turn["role"] == "assistant" for turn in chat.messages):
            raise UnsupportedRecord("no assistant turn")
        row = {"messages": [dict(turn) for turn in chat.messages]}
        if chat.tools:
            row["tools"] = chat.tools
        return row
    if fmt == "sharegpt":
        return _write_sharegpt(chat)
    if fmt == "alpaca":
        return _write_alpaca(chat)
    raise ValueError(f"unknown format {fmt!r}")


def _split_system(chat: Chat) -> tuple[str, list[dict[str, Any]]]:
    """The leading system turn's text and the turns after it; both formats keep system text beside the turns.

    Neither format has a place for a turn's `name`, so a named turn is refused too.
    """
    if any(turn.get("name") for turn in chat.messages):
        raise UnsupportedRecord("turns with a name")
    turns = list(chat.messages)
    system = ""
    if turns and turns[0]["role"] == "system":
        system = turns.pop(0)["content"]
    if any(turn["role"] == "system" for turn in turns):
        raise UnsupportedRecord("a system turn after the first turn")
    return system, turns


def _write_sharegpt(chat: Chat) -> dict[str, Any]:
    system, turns = _split_system(chat)
    conversations = []
    for turn in turns:
        if turn["role"] == "assistant" and turn.get("tool_calls"):
            if turn["content"]:  # even whitespace: what is not written would be lost
                raise UnsupportedRecord("assistant text beside tool calls")
            calls = [{"name": call["function"]["name"], "arguments": _arguments(call)} for call in turn["tool_calls"]]
            value = json.dumps(calls[0] if len(calls) == 1 else calls, ensure_ascii=False)
            conversations.append({"from": _FUNCTION_CALL, "value": value})
        else:
            conversations.append({"from": _SHAREGPT_SPEAKER[turn["role"]], "value": turn["content"]})
    # LLaMA-Factory's rule: human/observation turns at odd positions, gpt/function_call at even ones, ending on the
    # model. A record that breaks it would be skipped there as "abnormal", so it is refused here.
    for position, turn in enumerate(conversations):
        expected = ("human", "observation") if position % 2 == 0 else ("gpt", _FUNCTION_CALL)
        if turn["from"] not in expected:
            raise UnsupportedRecord("turns that do not alternate between user/tool and assistant")
    if len(conversations) % 2:
        raise UnsupportedRecord("no assistant turn at the end")
    tools = [tool["function"] for tool in chat.tools] if chat.tools else None
    return {
        "conversations": conversations,
        "system": system,
        "tools": json.dumps(tools, ensure_ascii=False) if tools else "",
    }


def _arguments(call: dict[str, Any]) -> Any:
    try:
        return json.loads(call["function"]["arguments"])
    except json.JSONDecodeError:
        raise UnsupportedRecord("tool call arguments that are not JSON") from None


def _write_alpaca(chat: Chat) -> dict[str, Any]:
    if chat.tools or any(turn["role"] == "tool" or turn.get("tool_calls") for turn in chat.messages):
        raise UnsupportedRecord("tools, tool calls or tool turns")
    system, turns = _split_system(chat)
    roles = [turn["role"] for turn in turns]
    if roles[::2] != ["user"] * len(roles[::2]) or roles[1::2] != ["assistant"] * len(roles[1::2]):
        raise UnsupportedRecord("turns that do not alternate between user and assistant")
    if len(turns) % 2:
        raise UnsupportedRecord("no assistant turn at the end")
    pairs = [[turns[i]["content"], turns[i + 1]["content"]] for i in range(0, len(turns), 2)]
    instruction, output = pairs.pop()
    return {"instruction": instruction, "input": "", "output": output, "system": system, "history": pairs}


# ---------------------------------------------------------------------------------------------------------------
# Tables on disk


class SourceRows:
    """The rows of a dataset file or folder, in input order, before any format is applied.

    JSONL/JSON rows are kept as parsed (their values may mix types from row to row); Parquet files and saved
    Hugging Face datasets stay an Arrow table. `errors` holds the rows that are not even a JSON object, by index.
    """

    def __init__(self, path: str, *, rows: list[dict | None] | None = None, errors=None, table=None) -> None:
        self.path = path
        self._rows = rows
        self._table = table
        self.errors: dict[int, str] = errors or {}
        if rows is not None:
            self.columns = list(dict.fromkeys(key for row in rows if row is not None for key in row))
            self.count = len(rows)
        else:
            self.columns = list(table.column_names)
            self.count = table.num_rows

    def values(self, columns: Sequence[str]) -> list[dict[str, Any] | None]:
        """Each row restricted to `columns` (the ones present), None for rows that are not objects."""
        present = [name for name in columns if name in self.columns]
        if self._rows is not None:
            return [None if row is None else {name: row.get(name) for name in present} for row in self._rows]
        return self._table.select(present).to_pylist()

    def column(self, name: str) -> list[Any]:
        """One column's values (None where a row lacks it)."""
        if name not in self.columns:
            return [None] * self.count
        if self._rows is not None:
            return [None if row is None else row.get(name) for row in self._rows]
        return self._table.column(name).to_pylist()

    def arrow(self, indices: Sequence[int] | None = None, columns: Sequence[str] | None = None):
        """The original columns as an Arrow table (optionally some rows and columns), without `datasets` metadata.

        A JSONL column whose values mix types (text in one row, a list in another) becomes JSON text, the one type
        that holds them all.
        """
        import pyarrow as pa

        names = [name for name in (columns if columns is not None else self.columns) if name in self.columns]
        if self._rows is not None:
            rows = self._rows if indices is None else [self._rows[i] for i in indices]
            return pa.table({name: _arrow_column([None if r is None else r.get(name) for r in rows]) for name in names})
        table = self._table.select(names)
        if indices is not None:
            table = table.take(pa.array(indices, type=pa.int64()))
        return table.replace_schema_metadata(None)


def _arrow_column(values: list[Any]):
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else json.dumps(v, ensure_ascii=False) for v in values], pa.string())


def load_rows(path: str | Path, split: str | None = None) -> SourceRows:
    """Read a `.jsonl`, `.json` (an array of rows, or JSON lines) or `.parquet` file, or a folder written by
    `datasets.save_to_disk` (a generate output folder is one).

    Raises:
        UserError: A missing path, an unreadable file, several splits and none chosen, or an unknown split.
    """
    source = Path(path)
    if not source.exists():
        raise UserError(f"dataset path does not exist: {path}")
    suffix = source.suffix.lower()
    if source.is_dir():
        return SourceRows(str(path), table=_load_saved_dataset(source, split))
    if suffix in (".jsonl", ".json"):
        rows, errors = _read_json_rows(source)
        return SourceRows(str(path), rows=rows, errors=errors)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(source)
        except Exception as exc:  # pyarrow raises several unrelated types for a bad file
            raise UserError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc
        return SourceRows(str(path), table=table)
    raise UserError(f"cannot read {path}: expected a folder, a .jsonl, .json or .parquet file")


def _load_saved_dataset(folder: Path, split: str | None):
    import datasets

    try:
        loaded = datasets.load_from_disk(str(folder))
    except Exception as exc:  # datasets raises FileNotFoundError, ValueError, pyarrow errors...
        raise UserError(f"cannot read dataset {folder}: {type(exc).__name__}: {exc}") from exc
    if isinstance(loaded, datasets.DatasetDict):
        if split is None and len(loaded) != 1:
            raise UserError(f"{folder} has splits {', '.join(loaded)}; choose one with --split")
        name = split or next(iter(loaded))
        if name not in loaded:
            raise UserError(f"{folder} has no split '{name}' (splits: {', '.join(loaded)})")
        loaded = loaded[name]
    return loaded.with_format("arrow")[:]


def _read_json_rows(file: Path) -> tuple[list[dict | None], dict[int, str]]:
    """Rows of a JSON array or JSON-lines file; a line that is not a JSON object is a row with an error, not a stop."""
    raw = file.read_bytes()
    if file.suffix.lower() == ".json" and raw.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"["):
        try:
            document = json.loads(raw.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UserError(f"cannot read {file}: not a valid JSON array ({exc})") from exc
        rows: list[dict | None] = []
        errors: dict[int, str] = {}
        for index, item in enumerate(document):
            if not isinstance(item, dict):
                errors[index] = f"element {index} is a {type(item).__name__}, not a JSON object"
            rows.append(item if isinstance(item, dict) else None)
        return rows, errors
    rows, errors = [], {}
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        index = len(rows)
        try:
            value = json.loads(line.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError:
            errors[index], value = f"line {number}: not UTF-8 text", None
        except json.JSONDecodeError as exc:
            errors[index], value = f"line {number}, column {exc.colno}: invalid JSON ({exc.msg})", None
        if value is not None and not isinstance(value, dict):
            errors[index], value = f"line {number}: a JSON {type(value).__name__}, not an object", None
        rows.append(value)
    return rows, errors


@dataclass
class ChatDataset:
    """A dataset read in one format: the raw rows, each row's conversation (None when unreadable) and why not."""

    rows: SourceRows
    format: str
    chats: list[Chat | None]
    unreadable: list[dict[str, Any]]

    @property
    def readable(self) -> list[int]:
        """Indices of the rows that hold a conversation."""
        return [index for index, chat in enumerate(self.chats) if chat is not None]

    @property
    def empty_system_turns(self) -> int:
        return sum(chat.empty_system_turns for chat in self.chats if chat is not None)


def read_dataset(path: str | Path, split: str | None = None, fmt: str | None = None) -> ChatDataset:
    """Read every row of a dataset as a conversation in `fmt` (None or "auto": detected from the columns).

    A row that cannot be read is kept in `unreadable` as `{"index", "reason"}`, never raised.

    Raises:
        UserError: The file cannot be read, has no rows, has no recognisable format, or no row can be read.
    """
    rows = load_rows(path, split)
    if rows.count == 0:
        raise UserError(f"{path} has no rows")
    fmt = resolve_format(rows.columns, fmt, str(path))
    chats: list[Chat | None] = []
    unreadable: list[dict[str, Any]] = []
    for index, row in enumerate(rows.values(FORMAT_COLUMNS[fmt])):
        try:
            if row is None:
                raise UnreadableRow(rows.errors.get(index, "not an object"))
            chats.append(read_chat(row, fmt))
        except UnreadableRow as exc:
            chats.append(None)
            unreadable.append({"index": index, "reason": str(exc)})
    if len(unreadable) == rows.count:
        first = "; ".join(f"row {u['index']}: {u['reason']}" for u in unreadable[:3])
        raise UserError(f"no row of {path} could be read as {fmt} ({first})")
    return ChatDataset(rows, fmt, chats, unreadable)


def write_rows(rows: list[dict[str, Any]], out: Path, passthrough=None) -> None:
    """Write rows to `out` as JSONL or Parquet (by suffix) through a temporary file, so a failure leaves nothing.

    Args:
        passthrough: An Arrow table of further columns, one row per row, appended after the rows' own keys.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out.parent.mkdir(parents=True, exist_ok=True)
    # Beside the target (same file system, so the rename is atomic), created like any file (the umask applies).
    temporary = out.parent / f".{out.name}.{os.getpid()}.tmp"
    try:
        if out.suffix == ".parquet":
            names = list(dict.fromkeys(key for row in rows for key in row))
            table = pa.table({name: _arrow_column([row.get(name) for row in rows]) for name in names})
            if passthrough is not None:
                for name in passthrough.column_names:
                    table = table.append_column(name, passthrough.column(name))
            pq.write_table(table, temporary)
        else:
            extra = passthrough.to_pylist() if passthrough is not None else [{}] * len(rows)
            with temporary.open("w", encoding="utf-8") as lines:
                for row, more in zip(rows, extra, strict=True):
                    lines.write(json.dumps({**row, **more}, ensure_ascii=False, default=str) + "\n")
        os.replace(temporary, out)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
