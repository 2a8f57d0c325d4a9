"""`generate` against a real OpenAI-compatible HTTP server on localhost, tracked in a real MLflow sqlite store."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pytest
from stub_server import StubOpenAI

from agentinstruct.cli import main

FAKE_KEY = "sk-fake-agentinstruct-test-key-0123456789"


@pytest.fixture
def stub(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    with StubOpenAI() as server:
        yield server


def _generate(stub, out: Path, n: int, *extra: str) -> int:
    return main(
        [
            "generate",
            "--skill",
            "reading_comprehension",
            "--n",
            str(n),
            "--out",
            str(out),
            "--lm",
            "openai/stub-model",
            "--api-base",
            stub.base_url,
            "--quiet",
            *extra,
        ]
    )


def test_generate_through_an_openai_compatible_server(stub, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    assert _generate(stub, out, 3, "--seeds", str(text_seeds), "--concurrency", "2") == 0
    printed = capsys.readouterr().out
    assert "pairs written   3 of 3" in printed and "LM calls" in printed and "pairs/s" in printed

    assert stub.requests and all(r["path"] == "/v1/chat/completions" for r in stub.requests)
    assert all(r["auth"] == f"Bearer {FAKE_KEY}" for r in stub.requests)  # the key reaches the server only

    dataset = datasets.load_from_disk(str(out))["train"]
    assert len(dataset) == 3
    assert set(dataset.column_names) >= {
        "messages",
        "skill",
        "instruction_type",
        "transformation",
        "refinement_rounds",
        "seed_id",
        "seed_source",
        "program_id",
        "generator_lm",
        "run_id",
        "created_at",
    }
    for row in dataset:
        user, assistant = row["messages"]
        assert user["role"] == "user" and assistant["role"] == "assistant"
        assert assistant["content"].strip()
        assert row["generator_lm"] == "openai/stub-model"
    for row in dataset:
        assert row["scores"]["validator_failures"] == [] and row["scores"]["quality"] >= 0.5
        assert 0.0 <= row["novelty"] <= 1.0
    assert (out / "rejects" / "rejects.parquet").exists() and (out / "failures" / "failures.parquet").exists()
    parquet = datasets.load_dataset("parquet", data_dir=str(out))["train"]
    assert parquet["seed_id"] == dataset["seed_id"]
    # The passage is in the user turn: the seed text or its transformation (here, the stub's canned text)
    assert all(len(row["messages"][0]["content"]) > 100 for row in dataset)

    _assert_mlflow_generate_run(mlflow_uri, dataset["run_id"][0])
    _assert_secret_absent(tmp_path)


def _assert_mlflow_generate_run(uri: str, run_id: str) -> None:
    import mlflow

    mlflow.flush_trace_async_logging()
    client = mlflow.MlflowClient(uri)
    run = client.get_run(run_id)
    assert run.data.tags["agentinstruct.kind"] == "generate"
    params = run.data.params
    assert params["skill"] == "reading_comprehension" and params["n"] == "3" and params["refine_rounds"] == "1"
    assert params["lm"] == "openai/stub-model" and params["program_id"]
    metrics = run.data.metrics
    assert metrics["pairs"] == 3 and metrics["lm_calls"] > 0 and metrics["tokens_in"] > 0
    assert {
        "failures",
        "parse_failure_rate",
        "wall_seconds",
        "pairs_per_second",
        "pass_rate",
        "rejected",
        "vendi_score",
        "mean_pairwise_distance",
        "mean_novelty",
        "instruction_type_entropy",
    } <= set(metrics)
    contexts = {d.tags[0].value for d in run.inputs.dataset_inputs}
    assert contexts == {"seeds", "generated"}
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"samples.json", "summary.json", "program.json"} <= artifacts
    traces = mlflow.search_traces(locations=[run.info.experiment_id], run_id=run_id, return_type="list")
    assert traces, "DSPy autolog traces are recorded"


def _assert_secret_absent(root: Path) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            assert FAKE_KEY.encode() not in path.read_bytes(), f"API key leaked into {path}"


def test_rerun_resumes_without_duplicates_and_extends(stub, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    assert _generate(stub, out, 2, "--seeds", str(text_seeds)) == 0
    first = datasets.load_from_disk(str(out))["train"].to_dict()
    calls = len(stub.requests)
    assert _generate(stub, out, 2, "--seeds", str(text_seeds)) == 0
    assert len(stub.requests) == calls, "a finished job reruns without calling the LM"
    assert datasets.load_from_disk(str(out))["train"]["messages"] == first["messages"]

    assert _generate(stub, out, 5, "--seeds", str(text_seeds)) == 0
    extended = datasets.load_from_disk(str(out))["train"]
    assert len(extended) == 5
    assert extended["messages"][:2] == first["messages"]
    units = [json.loads(line)["unit"] for line in (out / ".progress" / "units.jsonl").read_text().splitlines()]
    assert len(units) == len({tuple(u) for u in units})

    assert _generate(stub, out, 5, "--seeds", str(text_seeds), "--seed", "9") == 2
    assert "different job (changed: seed)" in capsys.readouterr().err


def test_killed_run_keeps_finished_units(stub, text_seeds, tmp_path, mlflow_uri):
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "agentinstruct.cli",
        "generate",
        "--n",
        "40",
        "--out",
        str(out),
        "--seeds",
        str(text_seeds),
        "--lm",
        "openai/stub-model",
        "--api-base",
        stub.base_url,
        "--quiet",
    ]
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri}
    process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    units_file = out / ".progress" / "units.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and (not units_file.exists() or len(units_file.read_text().splitlines()) < 2):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = len(units_file.read_text().splitlines())
    assert kept >= 2

    result = subprocess.run(
        [*command[:5], "6", *command[6:]], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units_resumed"] >= kept - 1  # the last line may have been cut by the kill
    assert summary["pairs"] == 6
    units = [json.loads(line)["unit"] for line in units_file.read_text().splitlines() if line.endswith("}")]
    assert len(units) == len({tuple(u) for u in units})


def test_near_duplicates_and_low_quality_pairs_go_to_the_rejects_table(stub, text_seeds, tmp_path, mlflow_uri):
    import pandas as pd

    out = tmp_path / "out"
    assert _generate(stub, out, 4, "--seeds", str(text_seeds), "--dedup-threshold", "0.5") == 0
    kept = datasets.load_from_disk(str(out))["train"]
    rejects = pd.read_parquet(out / "rejects" / "rejects.parquet")
    duplicates = rejects[rejects["rejection"].str.startswith("near_duplicate_of:")]
    assert len(duplicates) > 0
    kept_ids = set(kept["record_id"])
    for rejection in duplicates["rejection"]:
        assert rejection.split(":", 1)[1] in kept_ids | set(rejects["record_id"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rejected"] == len(rejects) and summary["pairs"] == 4


def test_a_units_independent_calls_are_in_flight_together(monkeypatch, text_seeds):
    """A unit's instruction agents, refinement chains and answers run side by side (DSPy's default trace, a list,
    would make `fan_out` run them one after another), and the unit's result does not depend on it."""
    from agentinstruct.lm import LMSpec
    from agentinstruct.metrics.diversity import default_embedding_model_path
    from agentinstruct.units import UnitSpec, UnitTask, UnitWorker

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)
    seed = sorted(text_seeds.iterdir())[0]
    with StubOpenAI(latency=0.3) as server:
        spec = UnitSpec(
            "reading_comprehension",
            LMSpec("openai/stub-model", api_base=server.base_url),
            0,
            1,
            {"program_id": "starter", "generator_lm": "openai/stub-model", "run_id": "test"},
            str(default_embedding_model_path()),
            8,
        )
        worker = UnitWorker(spec)
        outcome = worker(UnitTask(0, seed.stem, seed.read_text(), str(seed)))
        plan = outcome["trace"]["plan"]
        assert len(plan["instruction_types"]) >= 2
        assert server.peak_inflight >= 2, "one unit's independent calls never overlapped"
        assert outcome["records"] and outcome["client"]["attempts"] == len(server.requests) <= outcome["calls"]


def test_identical_requests_in_flight_together_make_one_call_and_count_its_tokens_once(monkeypatch):
    """What DSPy's cache did for a unit's calls run one after another: the same request twice costs one call (and a
    request that differs costs its own). The shared answer's tokens are not counted again, as a cache hit's are not:
    otherwise a run's tokens and cost would depend on whether a repeat overlapped the first call or came after it."""
    import contextvars
    from concurrent.futures import ThreadPoolExecutor

    import dspy

    from agentinstruct.lm import build_lm

    monkeypatch.setenv("OPENAI_API_KEY", FAKE_KEY)

    def tokens_of(prompts: list[str]) -> tuple[list[str], int]:
        with dspy.track_usage() as usage:
            context = contextvars.copy_context()
            with ThreadPoolExecutor(len(prompts)) as pool:
                answers = list(pool.map(lambda prompt: context.copy().run(lambda: lm(prompt)[0]), prompts))
        used = usage.get_total_tokens()[lm.model]
        return answers, used["prompt_tokens"] + used["completion_tokens"]

    with StubOpenAI(latency=0.5) as server:
        lm = build_lm("openai/stub-model", server.base_url, cache=False)
        prompts = ["Summarise: the river froze.", "Summarise: the river froze.", "Summarise: the mill burned."]
        answers, shared = tokens_of(prompts)
        assert answers[0] == answers[1] and answers[2] != answers[0]
        assert len(server.requests) == 2
        _, alone = tokens_of([prompts[0], prompts[2]])
        assert len(server.requests) == 4
        assert shared == alone > 0


def test_calls_run_one_at_a_time_where_the_lm_serves_one_at_a_time():
    import threading

    from agentinstruct.fanout import calls_one_at_a_time, fan_out

    running, most = [0], [0]
    lock = threading.Lock()

    def call() -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return 1

    import dspy

    with dspy.context(trace=None):  # as a unit runs (a DSPy trace, as optimizers keep, runs calls in turn too)
        with calls_one_at_a_time(True):
            assert fan_out([call] * 4) == [1] * 4
        assert most[0] == 1
        fan_out([call] * 4)
    assert most[0] > 1


def test_the_unit_plan_is_every_seed_per_draw_without_holding_the_units():
    import tracemalloc

    from agentinstruct.runner import _UnitPlan
    from agentinstruct.seeds import Seed

    seeds = [Seed(seed_id=name, text=name, source=name) for name in ("a", "b", "c")]
    plan = _UnitPlan(seeds, 7)
    assert list(plan) == [(0, "a"), (0, "b"), (0, "c"), (1, "a"), (1, "b"), (1, "c"), (2, "a")]
    assert len(plan) == 7 and plan[4] == (1, "b") and (2, "b") not in plan
    with pytest.raises(IndexError):
        plan[7]
    # The plan of a 1,000,000-record run (4 units a record) costs no memory per unit.
    tracemalloc.start()
    big = _UnitPlan(seeds, 4_000_000 + len(seeds))
    assert big[3_999_999] == (1_333_333, "a")
    assert tracemalloc.get_traced_memory()[1] < 100_000
    tracemalloc.stop()
