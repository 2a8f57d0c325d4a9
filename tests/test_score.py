"""`agentinstruct score` on real embeddings (all-MiniLM-L6-v2), a real faiss index and a real MLflow sqlite store."""

import json
import random
from pathlib import Path

import pandas as pd
import pytest
from fixtures.format_cases import ORCA_SAMPLE_ROWS, SHAREGPT_PLAIN_ROW, SHAREGPT_ROW
from fixtures.score_cases import DISTINCT, PARAPHRASES

from agentinstruct.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def _row(passage: str, question: str, answer: str, kind: str) -> dict:
    return {
        "messages": [{"role": "user", "content": f"{passage}\n\n{question}"}, {"role": "assistant", "content": answer}],
        "kind": kind,
    }


def _twenty_rows() -> list[dict]:
    rows = [_row(*case, kind="distinct") for case in DISTINCT]
    rows += [_row(*DISTINCT[i], kind="repeat") for i in (0, 2, 4, 6, 8)]
    rows += [_row(DISTINCT[i][0], question, answer, kind="paraphrase") for i, question, answer in PARAPHRASES]
    degenerate = json.loads((FIXTURES / "embedded_degenerate.json").read_text())["outputs"]
    rows += [
        _row(DISTINCT[i][0], DISTINCT[i][1], degenerate[j]["output"], kind="degenerate")
        for j, i in enumerate((1, 3, 5))
    ]
    random.Random(3).shuffle(rows)
    # A repeat must come after its original to be the flagged one: move every original to the front.
    return sorted(rows, key=lambda r: r["kind"] != "distinct")


@pytest.mark.slow
def test_score_flags_repeats_degenerate_pairs_and_paraphrases(tmp_path, mlflow_uri, capsys):
    rows = _twenty_rows()
    source = tmp_path / "pairs.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows))
    assert main(["score", str(source), "--out", str(tmp_path / "scored"), "--no-model-checks", "--quiet"]) == 0
    assert "pass rate" in capsys.readouterr().out

    scored = pd.read_parquet(tmp_path / "scored" / "records.parquet")
    assert list(scored["kind"]) == [r["kind"] for r in rows]  # input order and original columns kept
    flagged = scored["near_duplicate_of"].notna() | scored["validator_failures"].map(len).gt(0)
    by_kind = scored.assign(flagged=flagged).groupby("kind")["flagged"]
    assert by_kind.sum()["repeat"] == 5
    assert by_kind.sum()["degenerate"] == 3
    assert by_kind.sum()["paraphrase"] >= 1
    assert by_kind.sum()["distinct"] <= 1
    for _, repeat in scored[scored["kind"] == "repeat"].iterrows():
        original = scored.loc[int(repeat["near_duplicate_of"])]
        assert original["messages"][0]["content"] == repeat["messages"][0]["content"]
        assert original["kind"] == "distinct"
    assert scored[scored["kind"] == "degenerate"]["validator_failures"].map(lambda v: "degenerate" in v).all()

    report = json.loads((tmp_path / "scored" / "report.json").read_text())
    assert {"pass_rate", "vendi_score", "mean_pairwise_distance", "near_duplicate_rate"} <= set(report)
    assert report["near_duplicate_rate"] >= 5 / 20


@pytest.mark.slow
def test_vendi_of_ten_identical_rows_is_one_and_the_run_is_in_mlflow(tmp_path, mlflow_uri):
    import mlflow

    source = tmp_path / "same.parquet"
    pd.DataFrame([_row(*DISTINCT[0], kind="same")] * 10).to_parquet(source)
    assert main(["score", str(source), "--out", str(tmp_path / "scored"), "--no-model-checks", "--quiet"]) == 0
    report = json.loads((tmp_path / "scored" / "report.json").read_text())
    assert report["vendi_score"] == pytest.approx(1.0, abs=1e-3)
    assert report["near_duplicate_rate"] == pytest.approx(0.9)

    run = mlflow.MlflowClient(mlflow_uri).get_run(report["mlflow_run_id"])
    assert run.data.tags["agentinstruct.kind"] == "score"
    assert run.data.metrics["vendi_score"] == pytest.approx(1.0, abs=1e-3)
    assert "report.json" in {a.path for a in mlflow.MlflowClient(mlflow_uri).list_artifacts(run.info.run_id)}


@pytest.mark.slow
def test_score_reads_a_generated_folder_and_a_saved_hf_dataset(tmp_path, mlflow_uri):
    import datasets

    rows = [_row(*case, kind="distinct") for case in DISTINCT[:4]]
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "hf"))
    assert main(["score", str(tmp_path / "hf"), "--out", str(tmp_path / "a"), "--no-model-checks", "--quiet"]) == 0
    assert len(pd.read_parquet(tmp_path / "a" / "records.parquet")) == 4


def test_score_bad_input(tmp_path, mlflow_uri, capsys):
    assert main(["score", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o"), "--no-model-checks"]) == 2
    assert "dataset path does not exist" in capsys.readouterr().err
    (tmp_path / "nomsg.jsonl").write_text(json.dumps({"text": "hello"}) + "\n")
    assert main(["score", str(tmp_path / "nomsg.jsonl"), "--out", str(tmp_path / "o"), "--no-model-checks"]) == 2
    assert "no 'messages', 'conversations' (ShareGPT) or 'instruction'/'output' (Alpaca) column" in _error(capsys)
    assert main(["score", str(tmp_path / "nomsg.jsonl"), "--out", str(tmp_path / "o"), "--format", "alpaca"]) == 2
    assert "no 'instruction' or 'output' column for the alpaca format" in _error(capsys)


def test_a_file_where_no_row_can_be_read_is_one_line_and_exit_2(tmp_path, mlflow_uri, capsys):
    source = tmp_path / "broken.jsonl"
    source.write_text('{"messages": "[{\\"role\\": \\"user\\""}\n{not json}\n')
    assert main(["score", str(source), "--out", str(tmp_path / "o"), "--no-model-checks", "--quiet"]) == 2
    assert _error(capsys) == (
        f"agentinstruct: error: no row of {source} could be read as messages (row 0: messages is a string but not "
        "valid JSON (character 17: Expecting ',' delimiter); row 1: line 2, column 2: invalid JSON "
        "(Expecting property name enclosed in double quotes))"
    )
    assert not (tmp_path / "o").exists()


def _error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    return err[0]


def test_score_reads_the_public_sample_shape(tmp_path, mlflow_uri, capsys):
    """orca-agentinstruct-1M-v1's own shape: `messages` as a JSON string, an empty system turn first."""
    rows = [*ORCA_SAMPLE_ROWS, ORCA_SAMPLE_ROWS[0]]  # the last row repeats the first
    source = tmp_path / "sample.jsonl"
    source.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    assert main(["score", str(source), "--out", str(tmp_path / "scored"), "--no-model-checks", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "rows                 4 (messages format, 4 scored)" in printed
    assert "empty system turns   4 dropped" in printed and "unreadable" not in printed

    report = json.loads((tmp_path / "scored" / "report.json").read_text())
    assert report["pass_rate"] == 1.0
    assert report["near_duplicate_rate"] == 0.25
    assert report["vendi_score"] > 2 and report["mean_pairwise_distance"] > 0.3
    assert report["unreadable_rows"] == 0 and report["unreadable"] == []
    scored = pd.read_parquet(tmp_path / "scored" / "records.parquet")
    assert list(scored["messages"]) == [r["messages"] for r in rows]  # original column, as it was
    assert scored["near_duplicate_of"].tolist()[3] == 0 and scored["read_error"].isna().all()


def test_unreadable_rows_are_counted_with_index_and_reason_and_kept_in_place(tmp_path, mlflow_uri, capsys):
    lines = [
        json.dumps(SHAREGPT_PLAIN_ROW),
        '{"conversations": [{"from": "narrator", "value": "Once upon a time."}]}',
        "{cut short",
        json.dumps(SHAREGPT_ROW),
        json.dumps(SHAREGPT_PLAIN_ROW),
    ]
    source = tmp_path / "sharegpt.jsonl"
    source.write_text("\n".join(lines) + "\n")
    command = [
        "score",
        str(source),
        "--out",
        str(tmp_path / "scored"),
        "--no-model-checks",
        "--quiet",
        "--format",
        "sharegpt",
    ]
    assert main(command) == 0
    printed = capsys.readouterr().out
    assert "rows                 5 (sharegpt format, 3 scored)" in printed
    assert (
        "unreadable rows      2, left out of every figure below (row 1: turn 1 has an unknown role 'narrator'; "
        "row 2: line 3, column 2: invalid JSON (Expecting property name enclosed in double quotes))"
    ) in printed

    report = json.loads((tmp_path / "scored" / "report.json").read_text())
    assert report["rows"] == 5 and report["scored_rows"] == 3 and report["unreadable_rows"] == 2
    assert [u["index"] for u in report["unreadable"]] == [1, 2]
    assert report["near_duplicate_rate"] == pytest.approx(1 / 3)  # of the rows scored
    scored = pd.read_parquet(tmp_path / "scored" / "records.parquet")
    assert len(scored) == 5
    assert scored["read_error"].notna().tolist() == [False, True, True, False, False]
    assert scored["quality"].isna().tolist() == [False, True, True, False, False]
    assert scored["near_duplicate_of"].tolist()[4] == 0  # the index of the earlier row in the input
    assert scored["system"].tolist()[3] == SHAREGPT_ROW["system"]
