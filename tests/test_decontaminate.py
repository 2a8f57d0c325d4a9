"""Benchmark decontamination: planted overlaps are caught, near-misses are not, every source format is read."""

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

import agentinstruct
from agentinstruct.cli import main
from agentinstruct.decontaminate import (
    BenchmarkIndex,
    DecontaminateConfig,
    decontaminate_dataset,
    format_report,
    normalise,
)
from agentinstruct.errors import UserError

# 30 distinct words: any 13 consecutive ones are a window no unrelated text shares.
LONG_ITEM = (
    "Which of the following best explains why the migratory herons abandoned the northern marsh after the drought "
    "of the previous summer had lowered the water table by nearly two meters?"
)
SHORT_ITEM = "Name the largest moon orbiting the ringed planet"  # 8 words: below n, matched whole
FILLER = "Here is a question about something else entirely and the reply that a model gave"


def _chat(user: str, assistant: str = "A plain answer with nothing special in it at all.", **extra) -> dict:
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}], **extra}


def _window(text: str, start: int, length: int = 13) -> str:
    return " ".join(text.split()[start : start + length])


@pytest.fixture
def index(tmp_path):
    bench = tmp_path / "mmlu.jsonl"
    bench.write_text(
        json.dumps({"question": LONG_ITEM, "choices": ["the drought", "a predator"], "answer": 0})
        + "\n"
        + json.dumps({"question": SHORT_ITEM, "choices": ["Titan", "Io"], "answer": 0})
        + "\n"
    )
    return BenchmarkIndex.build([str(bench)])


def test_normalise_folds_case_width_punctuation_and_spacing():
    assert normalise("  Ｔhe  QUICK,\tbrown—fox's\n\ntail!  ") == "the quick brown fox s tail"


@pytest.mark.parametrize(
    "text",
    [
        LONG_ITEM,  # exact copy
        LONG_ITEM.upper(),  # re-cased
        "  ".join(LONG_ITEM.replace(",", "").split()).replace("?", " ? ! "),  # re-spaced, re-punctuated
        f"{FILLER}: {_window(LONG_ITEM, 9)} -- and then more of my own words.",  # one 13-word window, embedded
        f"{FILLER}. By the way, name the LARGEST moon orbiting the ringed-planet, please.",  # short item, whole
    ],
    ids=["exact", "recased", "respaced", "partial-window", "short-item"],
)
def test_planted_overlaps_are_caught(index, text):
    (reason,) = index.check([[FILLER, text]])
    assert reason is not None and reason.startswith("contaminated:mmlu:")
    matched = reason.split(":", 2)[2]
    assert matched in normalise(LONG_ITEM) or matched == normalise(SHORT_ITEM)


def test_the_reason_names_the_first_matched_ngram(index):
    (reason,) = index.check([[f"{FILLER} {_window(LONG_ITEM, 4)} tail"]])
    assert reason == f"contaminated:mmlu:{normalise(_window(LONG_ITEM, 4))}"


@pytest.mark.parametrize(
    "text",
    [
        _window(LONG_ITEM, 3, 12),  # 12 consecutive shared words
        " ".join(w if i != 6 else "egrets" for i, w in enumerate(_window(LONG_ITEM, 3).split())),  # one word changed
        " ".join(reversed(LONG_ITEM.split())),  # the same words in another order
        "name the largest moon orbiting the ringed",  # 7 of the short item's 8 words
        "Titan",  # a choice too short to index (under the minimum), not a match
    ],
    ids=["12-words", "one-word-changed", "reordered", "short-item-cut", "tiny-choice"],
)
def test_near_misses_are_not_matched(index, text):
    assert index.check([[FILLER, text]]) == [None]


def test_a_window_never_spans_two_turns(index):
    words = _window(LONG_ITEM, 0).split()
    assert index.check([[" ".join(words[:7]), " ".join(words[7:])]]) == [None]


def test_sources_of_every_kind_with_field(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    items = {name: f"{name} " + _window(LONG_ITEM, 0, 20) for name in ("gsm", "arc", "txt", "hf")}
    (tmp_path / "gsm.jsonl").write_text(json.dumps({"problem": items["gsm"], "solution": "42"}) + "\n")
    pq.write_table(pa.table({"problem": [items["arc"]], "id": ["a1"]}), tmp_path / "arc.parquet")
    (tmp_path / "lines.txt").write_text(f"\n{items['txt']}\n\n")
    datasets.DatasetDict(
        {
            "test": datasets.Dataset.from_dict({"problem": [items["hf"]]}),
            "validation": datasets.Dataset.from_dict({"problem": ["another item entirely " + FILLER]}),
        }
    ).save_to_disk(str(tmp_path / "hfbench"))
    for name, path in (
        ("gsm", "gsm.jsonl"),
        ("arc", "arc.parquet"),
        ("lines", "lines.txt"),
        ("hfbench", "hfbench"),
    ):
        fields = None if path.endswith(".txt") else ["problem"]
        index = BenchmarkIndex.build([str(tmp_path / path)], fields=fields)
        key = {"gsm": "gsm", "arc": "arc", "lines": "txt", "hfbench": "hf"}[name]
        (reason,) = index.check([[items[key]]])
        assert reason is not None and reason.split(":")[1] == name
    hf = BenchmarkIndex.build([str(tmp_path / "hfbench")], fields=["problem"])
    assert hf.sources["hfbench"].items == 2  # every split is read
    # A folder of benchmarks: each file is its own source.
    folder = BenchmarkIndex.build([str(tmp_path)], fields=None)
    assert set(folder.names) == {"gsm", "arc", "lines", "hfbench"}


def test_bad_benchmarks_are_one_line_user_errors(tmp_path):
    (tmp_path / "b.jsonl").write_text(json.dumps({"question": LONG_ITEM}) + "\n")
    (tmp_path / "b.csv").write_text("question\nx\n")
    (tmp_path / "empty").mkdir()
    for paths, fields, expected in (
        ([str(tmp_path / "missing.jsonl")], None, "does not exist"),
        ([str(tmp_path / "b.jsonl")], ["nope"], "has no field 'nope'"),
        ([str(tmp_path / "b.csv")], None, "cannot read benchmark"),
        ([str(tmp_path / "empty")], None, "holds no"),
    ):
        with pytest.raises(UserError, match=expected) as caught:
            BenchmarkIndex.build(paths, fields=fields)
        assert "\n" not in str(caught.value)


def _dataset(tmp_path: Path) -> Path:
    rows = [
        _chat("What is two plus two?", "Four."),
        _chat(f"{FILLER}. {LONG_ITEM}"),  # contaminated by the user turn
        _chat("Summarise the passage.", "A summary.", context=f"Passage: {_window(LONG_ITEM, 2, 16)}."),  # by context
        _chat(_window(LONG_ITEM, 3, 12), "Twelve shared words are not enough."),
        _chat("A clean question about rivers and their deltas?", f"Unrelated: {SHORT_ITEM.upper()}!"),  # short item
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({**r, "context": r.get("context", "")}) + "\n" for r in rows))
    return path


def test_decontaminate_dataset_writes_clean_rows_rejects_and_report(tmp_path):
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "mmlu.jsonl").write_text(json.dumps({"question": LONG_ITEM}) + "\n")
    (bench / "trivia.txt").write_text(SHORT_ITEM + "\n")
    out = tmp_path / "clean"
    report = decontaminate_dataset(
        DecontaminateConfig(dataset=str(_dataset(tmp_path)), against=[str(bench)], out=str(out)), show_progress=False
    )
    assert (report.records, report.contaminated, report.kept) == (5, 3, 2)
    assert report.contaminated_by_source == {"mmlu": 2, "trivia": 1}
    assert report.sources["mmlu"]["items"] == 1 and report.sources["trivia"]["short_texts"] == 1
    clean = datasets.load_from_disk(str(out))["train"]
    assert [row["messages"][0]["content"] for row in clean] == ["What is two plus two?", _window(LONG_ITEM, 3, 12)]
    assert len(datasets.load_dataset("parquet", data_dir=str(out / "data"))["train"]) == 2
    rejects = pd.read_parquet(out / "rejects" / "contaminated.parquet")
    assert len(rejects) == 3 and all(r.startswith("contaminated:") for r in rejects["rejection"])
    assert json.loads((out / "report.json").read_text())["contaminated_by_source"] == {"mmlu": 2, "trivia": 1}
    assert "contaminated    3  (mmlu 2, trivia 1)" in format_report(report)
    # The Python API takes the same options as keywords.
    again = agentinstruct.decontaminate(
        str(out), against=[str(bench)], out=str(tmp_path / "again"), show_progress=False
    )
    assert (again.records, again.contaminated) == (2, 0)


def test_cli_end_to_end_and_bad_input(tmp_path, capsys):
    bench = tmp_path / "mmlu.jsonl"
    bench.write_text(json.dumps({"question": LONG_ITEM, "answer": "B"}) + "\n")
    data, out = _dataset(tmp_path), tmp_path / "out"
    argv = ["decontaminate", str(data), "--against", str(bench), "--out", str(out), "--field", "question", "--quiet"]
    assert main(argv) == 0
    assert "contaminated    2  (mmlu 2)" in capsys.readouterr().out
    assert len(datasets.load_from_disk(str(out))["train"]) == 3
    # The output is a dataset `score` and `decontaminate` read again: nothing left to remove.
    assert main(["decontaminate", str(out), "--against", str(bench), "--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert json.loads((tmp_path / "again" / "report.json").read_text())["contaminated"] == 0
    capsys.readouterr()
    assert main([*argv[:-3], "--field", "nope", "--quiet"]) == 2
    assert main(["decontaminate", str(data), "--against", str(tmp_path / "gone.txt"), "--out", str(out)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2 and "has no field 'nope'" in errors[0] and "does not exist" in errors[1]


def test_generate_refuses_a_missing_benchmark_before_running(tmp_path, mlflow_uri, capsys):
    command = ["generate", "--n", "1", "--out", str(tmp_path / "out"), "--lm", "openai/x", "--quiet"]
    assert main([*command, "--decontaminate", str(tmp_path / "gone.jsonl")]) == 2
    assert main([*command, "--decontaminate-field", "question"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert "--decontaminate path does not exist" in errors[0] and "gone.jsonl" in errors[0]
    assert "applies to --decontaminate" in errors[1] and not (tmp_path / "out").exists()


@pytest.fixture
def stub(monkeypatch):
    from stub_server import StubOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-decontaminate-test")
    with StubOpenAI() as server:
        yield server


def test_generate_rejects_pairs_that_quote_a_benchmark(stub, text_seeds, tmp_path, mlflow_uri, capsys):
    import mlflow
    from conftest import TEXT_SEEDS

    # The stub's pairs quote their seed's passage: every pair made from the rivers seed is contaminated.
    bench = tmp_path / "rivers_bench.txt"
    bench.write_text(TEXT_SEEDS["rivers"] + "\n")
    out = tmp_path / "out"
    command = ["generate", "--skill", "reading_comprehension", "--seeds", str(text_seeds), "--out", str(out)]
    command += ["--lm", "openai/stub-model", "--api-base", stub.base_url, "--no-model-checks", "--quiet"]
    assert main([*command, "--n", "4", "--decontaminate", str(bench)]) == 0
    printed = capsys.readouterr().out
    rejects = pd.read_parquet(out / "rejects" / "rejects.parquet")
    contaminated = rejects[rejects["rejection"].str.startswith("contaminated:rivers_bench:")]
    assert len(contaminated) > 0 and all("rivers.txt" in source for source in contaminated["seed_source"])
    kept = datasets.load_from_disk(str(out))["train"]
    assert len(kept) == 4 and not any("rivers.txt" in source for source in kept["seed_source"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["decontamination"] == {"ngram": 13, "contaminated": {"rivers_bench": len(contaminated)}}
    assert summary["rejected_by_reason"]["contaminated"] == len(contaminated)
    count = len(contaminated)
    assert f"contaminated    {count} rejected, 13-gram overlap (rivers_bench {count})" in printed
    assert f"Decontamination against benchmark items: rivers_bench ({count})" in (out / "README.md").read_text()
    metrics = mlflow.MlflowClient(mlflow_uri).get_run(summary["run_id"]).data.metrics
    assert metrics["contaminated_rivers_bench"] == len(contaminated)
    # A contaminated pair never joins the kept set, so no kept pair is a near-duplicate of one.
    near = rejects[rejects["rejection"].str.startswith("near_duplicate_of:")]
    assert not set(near["rejection"].str.split(":").str[1]) & set(contaminated["record_id"])

    # Resuming against other benchmarks is refused like any changed option.
    other = tmp_path / "other.txt"
    other.write_text(TEXT_SEEDS["deserts"] + "\n")
    assert main([*command, "--n", "5", "--decontaminate", str(other)]) == 2
    assert "changed: decontaminate" in capsys.readouterr().err


def test_a_mix_passes_decontamination_to_every_skill_and_sums_the_counts(text_seeds, tmp_path, mlflow_uri, monkeypatch):
    import dspy
    from conftest import TEXT_SEEDS, FieldEchoEngine

    lm = dspy.LM("echo/fields", engine=FieldEchoEngine(), cache=False)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.runner.check_lms", lambda *args, **kwargs: None)
    bench = tmp_path / "glaciers.txt"
    bench.write_text(TEXT_SEEDS["glaciers"] + "\n")
    out = tmp_path / "mix"
    command = ["generate", "--skill", "reading_comprehension,text_extraction", "--n", "4", "--seeds", str(text_seeds)]
    command += ["--out", str(out), "--lm", "openai/echo", "--api-base", "http://127.0.0.1:9/v1", "--no-model-checks"]
    assert main([*command, "--quiet", "--decontaminate", str(bench)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    per_skill = {
        name: json.loads((Path(figures["out"]) / "summary.json").read_text())["decontamination"]["contaminated"]
        for name, figures in summary["skills"].items()
    }
    assert all(set(counts) == {"glaciers"} for counts in per_skill.values())
    assert summary["decontamination"]["contaminated"]["glaciers"] == sum(c["glaciers"] for c in per_skill.values()) > 0
    rejects = pd.read_parquet(out / "rejects" / "rejects.parquet")
    assert rejects["rejection"].str.startswith("contaminated:glaciers:").sum() == sum(
        c["glaciers"] for c in per_skill.values()
    )


def test_a_contaminated_pair_never_joins_the_set_later_pairs_are_deduplicated_against(
    stub, text_seeds, tmp_path, mlflow_uri
):
    from agentinstruct.seeds import load_seeds

    # Every seed but the last one planned is a benchmark; with a near-duplicate threshold this low every pair is a
    # near-duplicate of any pair in the kept set, so the first clean pair is kept only if no contaminated pair got in.
    seeds = load_seeds(str(text_seeds)).seeds
    bench = tmp_path / "bench.txt"
    bench.write_text("".join(" ".join(seed.text.split()) + "\n" for seed in seeds[:-1]))
    out = tmp_path / "out"
    command = ["generate", "--seeds", str(text_seeds), "--out", str(out), "--n", "1", "--dedup-threshold", "0.05"]
    command += ["--lm", "openai/stub-model", "--api-base", stub.base_url, "--no-model-checks", "--quiet"]
    assert main([*command, "--decontaminate", str(bench)]) == 0
    kept = datasets.load_from_disk(str(out))["train"]
    assert len(kept) == 1 and kept[0]["seed_id"] == seeds[-1].seed_id
    rejects = pd.read_parquet(out / "rejects" / "rejects.parquet")
    assert rejects["rejection"].str.startswith("contaminated:bench:").sum() >= len(seeds) - 1
    near = rejects[rejects["rejection"].str.startswith("near_duplicate_of:")]
    assert set(near["rejection"].str.split(":").str[1]) <= set(kept["record_id"])
