import json

import pytest

from agentinstruct.errors import UserError
from agentinstruct.seeds import BUNDLED_CORPUS, chunk_text, load_seeds, seed_id_of


def test_bundled_corpus_has_twenty_texts_and_some_code():
    loaded = load_seeds(BUNDLED_CORPUS)
    assert len([s for s in loaded.seeds if s.kind == "text"]) >= 20
    assert len([s for s in loaded.seeds if s.kind == "code"]) >= 3


SAME = "The same content appears twice in this folder, word for word, on purpose, to test de-duplication."


def test_seed_ids_are_content_hashes_and_duplicates_are_skipped(tmp_path):
    (tmp_path / "a.txt").write_text(SAME)
    (tmp_path / "b.md").write_text(SAME)
    loaded = load_seeds(tmp_path)
    assert len(loaded.seeds) == 1
    assert loaded.seeds[0].seed_id == seed_id_of(loaded.seeds[0].text)
    assert [s.reason for s in loaded.skipped] == [f"duplicate of {tmp_path / 'a.txt'}"]


def test_unreadable_files_are_skipped_with_reasons(tmp_path):
    (tmp_path / "good.txt").write_text(
        "A usable passage about tides, which rise and fall twice a day near the coast of the northern bay."
    )
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 50)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 ".encode("latin-1") * 40)
    (tmp_path / "empty.md").write_text("   \n")
    loaded = load_seeds(tmp_path)
    reasons = {s.source.rsplit("/", 1)[-1]: s.reason for s in loaded.skipped}
    assert reasons == {"blob.bin": "binary file", "latin1.txt": "not UTF-8 text", "empty.md": "empty"}
    assert len(loaded.seeds) == 1


def test_jsonl_parquet_and_saved_hf_dataset(tmp_path):
    import datasets

    rows = [
        {"text": f"Row {i}: the harbor of Tolvik handled {i * 1000} containers in its busiest month of the year."}
        for i in range(3)
    ]
    (tmp_path / "rows.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + '\n{not json}\n{"other": 1}\n')
    jsonl = load_seeds(tmp_path / "rows.jsonl")
    assert len(jsonl.seeds) == 3
    assert sorted(s.reason for s in jsonl.skipped)[0].startswith("invalid JSON")

    datasets.Dataset.from_list(rows).to_parquet(str(tmp_path / "rows.parquet"))
    assert [s.text for s in load_seeds(tmp_path / "rows.parquet").seeds] == [r["text"] for r in rows]

    datasets.Dataset.from_list([{"body": r["text"]} for r in rows]).save_to_disk(str(tmp_path / "hf"))
    assert len(load_seeds(tmp_path / "hf", text_field="body").seeds) == 3
    with pytest.raises(UserError, match="no usable seeds"):
        load_seeds(tmp_path / "hf", text_field="text")


def test_missing_path_and_nothing_usable_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_seeds(tmp_path / "nope")
    (tmp_path / "tiny.txt").write_text("too short")
    with pytest.raises(UserError, match="no usable seeds"):
        load_seeds(tmp_path)


def test_chunks_respect_the_maximum_and_keep_all_text():
    paragraphs = [" ".join(f"Sentence {p}.{s} has several words in it." for s in range(12)) for p in range(5)]
    text = "\n\n".join(paragraphs)
    chunks = chunk_text(text, 300)
    assert all(len(chunk) <= 300 for chunk in chunks)
    assert len(chunks) > 5
    assert "".join(chunks).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")


def test_code_seeds_can_be_excluded_by_kind():
    loaded = load_seeds(BUNDLED_CORPUS, kinds=("text",))
    assert all(seed.kind == "text" for seed in loaded.seeds)
    assert any(skipped.reason == "code seeds are not used by this skill" for skipped in loaded.skipped)


def test_chat_datasets_give_the_text_of_their_turns(tmp_path):
    """A seed table without the text column but in a chat format: each conversation's prose is one seed."""
    import datasets
    from fixtures.format_cases import ALPACA_ROW, ORCA_SAMPLE_ROWS, SHAREGPT_ROW

    lines = [json.dumps(r) for r in ORCA_SAMPLE_ROWS[:2]] + ['{"messages": "[oops"}', "{broken"]
    (tmp_path / "sample.jsonl").write_text("\n".join(lines) + "\n")
    loaded = load_seeds(tmp_path / "sample.jsonl")
    turns = [json.loads(r["messages"]) for r in ORCA_SAMPLE_ROWS[:2]]
    assert [s.text for s in loaded.seeds] == [f"{t[1]['content']}\n\n{t[2]['content']}" for t in turns]
    assert [s.source.rsplit("#", 1)[1] for s in loaded.seeds] == ["row=1", "row=2"]
    assert [s.reason for s in loaded.skipped] == [
        "invalid JSON: Expecting property name enclosed in double quotes",
        "unreadable messages row: messages is a string but not valid JSON (character 2: Expecting value)",
    ]

    datasets.Dataset.from_list([SHAREGPT_ROW]).to_parquet(str(tmp_path / "sharegpt.parquet"))
    (seed,) = load_seeds(tmp_path / "sharegpt.parquet").seeds
    assert seed.text.startswith("Is it raining in Lyon?\n\n") and "You are a weather assistant" not in seed.text
    assert "get_weather" not in seed.text  # tool-call arguments are not prose

    long_input = {**ALPACA_ROW, "input": ALPACA_ROW["input"] * 3}
    datasets.DatasetDict({"train": datasets.Dataset.from_list([long_input])}).save_to_disk(str(tmp_path / "hf"))
    (seed,) = load_seeds(tmp_path / "hf").seeds
    assert seed.text == f"{long_input['input']}\n\n{long_input['instruction']}\n\n{long_input['output']}"
    assert seed.source.endswith("hf#split=train#row=1")


def test_the_text_column_wins_over_a_chat_format(tmp_path):
    text = "The text column is what --text-field names, so it is used even when the row also has messages."
    row = {"text": text, "messages": [{"role": "user", "content": "Something else entirely, and long enough."}]}
    (tmp_path / "both.jsonl").write_text(json.dumps(row) + "\n")
    assert [s.text for s in load_seeds(tmp_path / "both.jsonl").seeds] == [text]
