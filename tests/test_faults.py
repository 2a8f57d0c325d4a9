"""`generate` through faults, against the stub server over real HTTP, a real MLflow sqlite store and real processes.

Each test names the finding of issue #12 it covers: each failed on the code before the fix. Where the in-flight
limit is incidental they spell it `--concurrency`, the name it had before (still accepted), so that they ran there.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pandas as pd
import pytest
from stub_server import Faults, StubOpenAI

from agentinstruct.cli import main

KEY = "sk-fault-test-secret-0123456789"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    """A key in the environment, as for a real server (DSPy's own client refuses to call without one)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _args(url: str, out: Path, n: int, seeds: Path, *extra: str) -> list[str]:
    return [
        "generate",
        "--n",
        str(n),
        "--out",
        str(out),
        "--seeds",
        str(seeds),
        "--lm",
        "openai/stub-model",
        "--api-base",
        url,
        "--quiet",
        *extra,
    ]


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "agentinstruct.cli", *args]


def _env(mlflow_uri: str) -> dict:
    return {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri, "OPENAI_API_KEY": "sk-test"}


def _finished_units(out: Path) -> list[tuple]:
    lines = (out / ".progress" / "units.jsonl").read_bytes().split(b"\n")
    return [tuple(json.loads(line)["unit"]) for line in lines if line.strip()]


def _assert_exact_and_unique(out: Path, n: int) -> datasets.Dataset:
    dataset = datasets.load_from_disk(str(out))["train"]
    assert len(dataset) == n
    assert len(set(dataset["record_id"])) == n
    assert len({json.dumps(m) for m in dataset["messages"]}) == n
    parquet = datasets.load_dataset("parquet", data_dir=str(out))["train"]
    assert parquet["record_id"] == dataset["record_id"] and parquet["messages"] == dataset["messages"]
    units = _finished_units(out)
    assert len(units) == len(set(units)), "a finished unit was run again"
    return dataset


def _wait_for_units(out: Path, count: int, process: subprocess.Popen, deadline: float = 120) -> None:
    units = out / ".progress" / "units.jsonl"
    end = time.time() + deadline
    while time.time() < end and process.poll() is None:
        if units.exists() and units.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {count} finished units within {deadline} s (exit {process.poll()})")


def test_faults_are_retried_counted_and_recorded(text_seeds, tmp_path, mlflow_uri, capsys):
    """10% 429s, 10% 500s, 2% hangs, 10% malformed answers: the run completes, every failure is in the failures table
    with its reason, retries are counted, and the kept dataset has no duplicates."""
    faults = Faults(rate_limited=0.1, server_error=0.1, hang=0.02, malformed=0.1, retry_after=0.05, hang_seconds=60)
    out = tmp_path / "out"
    with StubOpenAI(faults=faults) as stub:
        started = time.time()
        code = main(_args(stub.base_url, out, 12, text_seeds, "--timeout", "1.5", "--max-inflight", "8"))
        took = time.time() - started
        served = dict(stub.faults_served)
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert took < 120, "a hung call stalled the run"
    summary = json.loads((out / "summary.json").read_text())
    retried = {"rate_limited": "rate_limited", "server_error": "http_500", "hang": "timeout"}
    assert {retried[f] for f in served if f in retried} <= set(summary["retries"]), (served, summary["retries"])
    assert sum(summary["retries"].values()) + sum(summary["gave_up"].values()) >= sum(
        served.get(f, 0) for f in retried
    ), "every injected fault is retried or given up, and counted"
    assert "retried:" in printed
    failures = pd.read_parquet(out / "failures" / "failures.parquet")
    assert len(failures) == summary["failures"] > 0
    assert failures["reason"].notna().all() and (failures["reason"] != "").all() and failures["detail"].notna().all()
    if served.get("malformed"):
        # an unparseable answer is sampled again (counted), and only a stage whose every sample is one fails
        unparseable = summary["failures_by_reason"].get("parse_failure", 0) + summary["resampled"].get(
            "parse_failure", 0
        )
        assert unparseable > 0, "malformed answers are counted as unparseable outputs"
    assert sum(summary["failures_by_reason"].values()) == len(failures)
    _assert_exact_and_unique(out, 12)


def test_a_hung_call_is_timed_out_and_retried(text_seeds, tmp_path, mlflow_uri):
    """Finding: a call that hangs is never timed out (10 pairs took 431 s instead of about 40 s)."""
    out = tmp_path / "out"
    with StubOpenAI(faults=Faults(hang=0.15, hang_seconds=120, seed=3)) as stub:
        started = time.time()
        assert main(_args(stub.base_url, out, 3, text_seeds, "--timeout", "1", "--max-inflight", "4")) == 0
        assert time.time() - started < 90
    summary = json.loads((out / "summary.json").read_text())
    assert summary["retries"].get("timeout", 0) > 0


def test_a_second_run_on_the_same_folder_is_refused(text_seeds, tmp_path, mlflow_uri, capsys):
    """Finding: two generate processes on one --out both ran every unit, one died with a FileExistsError, and the
    two copies of the dataset then disagreed."""
    out = tmp_path / "out"
    with StubOpenAI(latency=0.3) as stub:
        first = subprocess.Popen(
            _command(*_args(stub.base_url, out, 12, text_seeds, "--concurrency", "2")),
            env=_env(mlflow_uri),
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            _wait_for_units(out, 1, first)
            assert main(_args(stub.base_url, out, 12, text_seeds)) == 2
            line = capsys.readouterr().err.strip().splitlines()[-1]
            assert line.startswith("agentinstruct: error: ") and "being written by another" in line
        finally:
            _, stderr = first.communicate(timeout=300)
        assert first.returncode == 0, stderr
    _assert_exact_and_unique(out, 12)


def test_two_runs_share_one_new_mlflow_store(text_seeds, tmp_path):
    """Finding: two runs sharing one sqlite store died with a traceback (alembic CommandError on a new store,
    'database is locked' on an existing one)."""
    uri = f"sqlite:///{tmp_path / 'shared.db'}"
    with StubOpenAI(latency=0.05) as stub:
        for round_ in range(2):  # a new store, then the same store once it exists
            processes = [
                subprocess.Popen(
                    _command(*_args(stub.base_url, tmp_path / f"out{round_}{i}", 4, text_seeds, "--concurrency", "4")),
                    env=_env(uri),
                    cwd=tmp_path,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
                for i in range(2)
            ]
            for process in processes:
                _, stderr = process.communicate(timeout=300)
                assert process.returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
    import mlflow

    runs = mlflow.MlflowClient(uri).search_runs(
        [mlflow.MlflowClient(uri).get_experiment_by_name("agentinstruct").experiment_id]
    )
    assert len(runs) == 4 and all(run.info.status == "FINISHED" for run in runs)


def test_a_torn_last_line_costs_only_its_own_unit(text_seeds, tmp_path, mlflow_uri):
    """Finding: a torn last line of units.jsonl got the next line glued onto it, and a finished unit silently
    disappeared after the next rerun."""
    out = tmp_path / "out"
    with StubOpenAI() as stub:
        assert main(_args(stub.base_url, out, 2, text_seeds)) == 0
        log = out / ".progress" / "units.jsonl"
        before = _finished_units(out)
        with log.open("ab") as handle:  # a unit cut short, as after a full disk
            handle.write(b'{"unit": [9, "torn"], "records": [{"mess')
        assert main(_args(stub.base_url, out, 5, text_seeds)) == 0
        after_extend = _finished_units(out)
        assert after_extend[: len(before)] == before and len(after_extend) > len(before)
        calls = len(stub.requests)
        assert main(_args(stub.base_url, out, 5, text_seeds)) == 0
        assert len(stub.requests) == calls, "a finished unit was lost and generated again"
    assert _finished_units(out) == after_extend
    _assert_exact_and_unique(out, 5)


def test_a_run_that_produced_nothing_does_not_claim_the_folder(text_seeds, tmp_path, mlflow_uri, capsys):
    """Finding: a run that failed before producing anything (a wrong --api-base port) left identity.json behind, and
    the corrected command was refused ('changed: api_base')."""
    out = tmp_path / "out"
    wrong = f"http://127.0.0.1:{_free_port()}/v1"
    assert main(_args(wrong, out, 2, text_seeds)) == 2
    assert "cannot use LM" in capsys.readouterr().err
    with StubOpenAI() as stub:
        assert main(_args(stub.base_url, out, 2, text_seeds)) == 0
    _assert_exact_and_unique(out, 2)


@pytest.mark.parametrize(
    "secret_url", ["http://user:{key}@127.0.0.1:{port}/v1", "http://127.0.0.1:{port}/v1?api_key={key}"]
)
def test_a_key_in_the_api_base_is_never_shown_or_stored(secret_url, text_seeds, tmp_path, mlflow_uri, capsys):
    """Finding: an API key written into --api-base was printed in the error line and stored in plain text in
    .progress/identity.json."""
    out = tmp_path / "out"
    assert main(_args(secret_url.format(key=KEY, port=_free_port()), out, 2, text_seeds)) == 2
    error = capsys.readouterr().err
    assert "agentinstruct: error:" in error and KEY not in error
    with StubOpenAI() as stub:
        assert main(_args(secret_url.format(key=KEY, port=stub.port), out, 2, text_seeds)) == 0
        assert stub.requests
    assert KEY not in capsys.readouterr().out
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), f"the key leaked into {path}"


def test_a_killed_run_is_marked_killed_and_surplus_pairs_are_kept_visibly(text_seeds, tmp_path, mlflow_uri):
    """Findings: a killed run stayed RUNNING in MLflow forever; pairs finished after the target was reached were kept
    only in .progress."""
    import mlflow

    out = tmp_path / "out"
    with StubOpenAI(latency=0.2) as stub:
        args = _args(stub.base_url, out, 30, text_seeds, "--concurrency", "4")
        process = subprocess.Popen(
            _command(*args), env=_env(mlflow_uri), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Four finished units hold four or more pairs (each unit of the stub's canned answers makes one or two), so the
        # rerun's --n 2 leaves some of them over whatever the machine's load let finish before the kill.
        _wait_for_units(out, 4, process)
        process.send_signal(signal.SIGKILL)
        process.wait()
        client = mlflow.MlflowClient(mlflow_uri)
        experiment = client.get_experiment_by_name("agentinstruct").experiment_id
        (killed,) = client.search_runs([experiment])
        killed_run = killed.info.run_id
        assert killed.info.status == "RUNNING"
        # The rerun asks for fewer pairs than the killed run finished or has in flight: what is beyond --n is surplus.
        assert main(_args(stub.base_url, out, 2, text_seeds, "--concurrency", "8")) == 0
    assert client.get_run(killed_run).info.status == "KILLED"
    summary = json.loads((out / "summary.json").read_text())
    surplus = pd.read_parquet(out / "surplus" / "surplus.parquet")
    assert summary["surplus"] == len(surplus) > 0
    kept = set(datasets.load_from_disk(str(out))["train"]["record_id"])
    assert not kept & set(surplus["record_id"])
    _assert_exact_and_unique(out, 2)


def test_compile_refuses_an_existing_directory_before_any_lm_call(text_seeds, tmp_path, mlflow_uri, capsys):
    """Finding: compile --out naming an existing directory ran the whole optimization, then died with an
    IsADirectoryError traceback."""
    target = tmp_path / "programs"
    target.mkdir()
    with StubOpenAI() as stub:
        code = main(
            [
                "compile",
                "--optimizer",
                "bootstrap",
                "--seeds",
                str(text_seeds),
                "--out",
                str(target),
                "--lm",
                "openai/stub-model",
                "--api-base",
                stub.base_url,
                "--quiet",
            ]
        )
        assert not stub.requests, "no LM call before the output is known to be writable"
    assert code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert line.startswith("agentinstruct: error: ") and "is a directory" in line


def test_a_down_endpoint_stops_the_run_in_one_line_and_the_rerun_resumes(text_seeds, tmp_path, mlflow_uri):
    """With the endpoint down the run stops within a minute with one line; when it is back, the same command resumes
    cleanly: exactly --n records, none duplicated, no finished unit run again."""
    out = tmp_path / "out"
    port = _free_port()
    stub = StubOpenAI(latency=0.3, port=port).__enter__()
    process = subprocess.Popen(
        _command(*_args(stub.base_url, out, 24, text_seeds, "--concurrency", "2")),
        env=_env(mlflow_uri),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_units(out, 2, process)
        stub.__exit__(None, None, None)
        down_at = time.time()
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
    assert time.time() - down_at < 60
    assert process.returncode == 2
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith("agentinstruct: error: ") and "stopped answering" in lines[-1]
    assert "Traceback" not in stderr
    finished = _finished_units(out)
    with StubOpenAI(latency=0.0, port=port):
        result = subprocess.run(
            _command(*_args(f"http://127.0.0.1:{port}/v1", out, 24, text_seeds, "--concurrency", "2")),
            env=_env(mlflow_uri),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr
    assert _finished_units(out)[: len(finished)] == finished
    _assert_exact_and_unique(out, 24)


def test_a_run_that_kept_no_pair_still_leaves_a_dataset_that_loads(text_seeds, tmp_path, mlflow_uri, capsys):
    """Found on the embedded model: a run whose every pair failed or was rejected wrote a dataset folder with no
    shard, and `datasets.load_from_disk(DIR)` raised IndexError."""
    import datasets

    out = tmp_path / "out"
    with StubOpenAI(faults=Faults(malformed=1.0)) as stub:
        assert main(_args(stub.base_url, out, 2, text_seeds)) == 1
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    # every answer was unparseable: each stage's two re-sampled outputs count, as do its failed last ones
    assert summary["resampled"]["parse_failure"] == 2 * summary["failures_by_reason"]["parse_failure"]
    unparseable = summary["resampled"]["parse_failure"] + summary["failures_by_reason"]["parse_failure"]
    assert summary["parse_failure_rate"] == pytest.approx(unparseable / summary["lm_calls"])
    assert f"outputs sampled again or screened out: parse_failure {summary['resampled']['parse_failure']}" in printed
    rows = datasets.load_from_disk(str(out))["train"]
    assert len(rows) == 0 and "messages" in rows.column_names
    assert len(datasets.load_dataset("parquet", data_dir=str(out / "failures"))["train"]) > 0
