"""The two backends: the same outputs from threads and from a Ray Data actor pool (one local Ray instance for the
test session), and a run killed with SIGKILL at any moment resumes to exactly --n records without redoing work."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import datasets
import pandas as pd
import pytest
from stub_server import StubOpenAI

from agentinstruct.cli import main
from agentinstruct.seeds import load_seeds

LINEAGE = ["record_id", "seed_id", "instruction_type", "transformation", "refinement_goals", "messages", "novelty"]


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    """A key in the environment, as for a real server (DSPy's own client refuses to call without one)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.fixture(scope="session")
def ray_address():
    """One small local Ray instance for the whole session; subprocess runs join it with --ray-address."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


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
        "--max-inflight",
        "4",
        *extra,
    ]


def _finished_units(out: Path) -> list[tuple]:
    lines = (out / ".progress" / "units.jsonl").read_bytes().split(b"\n")
    return [tuple(json.loads(line)["unit"]) for line in lines if line.strip()]


def _plan_position(seeds: Path):
    order = {s.seed_id: i for i, s in enumerate(load_seeds(str(seeds)).seeds)}
    return lambda draw, seed_id: draw * len(order) + order[seed_id]


def _admitted_up_to(out: Path, position, cut: int) -> tuple[list, list]:
    failures = pd.read_parquet(out / "failures" / "failures.parquet")
    rejects = pd.read_parquet(out / "rejects" / "rejects.parquet")
    failed = sorted(
        (f.seed_id, f.draw, f.stage, f.reason, f.detail)
        for f in failures.itertuples()
        if position(f.draw, f.seed_id) <= cut
    )
    rejected = sorted(
        (r.record_id, r.rejection)
        for r in rejects.itertuples()
        if position(int(r.record_id.split("-")[1]), r.seed_id) <= cut
    )
    return failed, rejected


def test_threads_and_ray_give_the_same_outputs(ray_address, text_seeds, tmp_path, mlflow_uri):
    import mlflow

    with StubOpenAI() as stub:
        assert main(_args(stub.base_url, tmp_path / "threads", 10, text_seeds)) == 0
        assert (
            main(
                _args(stub.base_url, tmp_path / "ray", 10, text_seeds, "--backend", "ray", "--ray-address", ray_address)
            )
            == 0
        )
    threads, ray_ = (datasets.load_from_disk(str(tmp_path / name))["train"] for name in ("threads", "ray"))
    assert len(threads) == len(ray_) == 10
    for column in LINEAGE:
        assert threads[column] == ray_[column], column
    # Everything admitted up to the unit that gave the 10th record is the same: failures, rejects and their reasons.
    position = _plan_position(text_seeds)
    cut = max(position(int(r.split("-")[1]), s) for r, s in zip(threads["record_id"], threads["seed_id"], strict=True))
    assert _admitted_up_to(tmp_path / "threads", position, cut) == _admitted_up_to(tmp_path / "ray", position, cut)

    summaries = [json.loads((tmp_path / name / "summary.json").read_text()) for name in ("threads", "ray")]
    assert [s["backend"] for s in summaries] == ["threads", "ray"]
    client = mlflow.MlflowClient(mlflow_uri)
    runs = [client.get_run(s["run_id"]) for s in summaries]
    assert runs[0].data.params.keys() == runs[1].data.params.keys()
    assert {"pairs", "failures", "rejected", "lm_calls", "traces_logged"} <= runs[1].data.metrics.keys()
    for summary, run in zip(summaries, runs, strict=True):
        assert summary["traces_logged"] == summary["units_run"] == run.data.metrics["traces_logged"]
        traces = mlflow.search_traces(locations=[run.info.experiment_id], run_id=run.info.run_id, return_type="list")
        assert len(traces) == summary["units_run"]


def test_a_ray_run_stopped_early_leaves_no_ray_data_thread_behind(
    ray_address, text_seeds, tmp_path, mlflow_uri, monkeypatch
):
    """The driver stops reading once it has --n records while units are still in flight; Ray Data's threads must have
    ended when the backend closes, since one still calling into Ray after `ray.shutdown()` makes Ray exit the process
    with code 1 (it did in CI: a rerun that had written everything came back with exit 1)."""
    import threading

    from agentinstruct import backends

    before = set(threading.enumerate())
    alive_at_close = []
    close = backends.RayBackend.close

    def recording_close(self):
        alive_at_close.extend(t.name for t in set(threading.enumerate()) - before if t.is_alive())
        close(self)

    monkeypatch.setattr(backends.RayBackend, "close", recording_close)
    with StubOpenAI(latency=0.3) as stub:
        args = _args(stub.base_url, tmp_path / "out", 2, text_seeds, "--backend", "ray", "--ray-address", ray_address)
        assert main(args) == 0
    assert alive_at_close and not [name for name in alive_at_close if name.startswith(backends.RAY_DATA_THREADS)]
    assert len(datasets.load_from_disk(str(tmp_path / "out"))["train"]) == 2


def test_ray_backend_without_ray_is_one_line(text_seeds, tmp_path):
    script = "import sys; sys.modules['ray'] = None; from agentinstruct.cli import main; sys.exit(main(sys.argv[1:]))"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            script,
            *_args("http://127.0.0.1:9/v1", tmp_path / "out", 2, text_seeds, "--backend", "ray"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'm.db'}"},
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [lines[-1]] and lines[-1].startswith("agentinstruct: error: --backend ray needs Ray"), lines


def _kill_and_resume(tmp_path: Path, text_seeds: Path, mlflow_uri: str, after_units: int | None, *extra: str) -> None:
    """Kill -9 once `after_units` units are finished (None: once the outputs are being written), rerun, check."""
    out = tmp_path / "out"
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_uri, "OPENAI_API_KEY": "sk-test"}
    with StubOpenAI(latency=0.05) as stub:
        command = [sys.executable, "-m", "agentinstruct.cli", *_args(stub.base_url, out, 24, text_seeds, *extra)]
        process = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        log = out / ".progress" / "units.jsonl"
        deadline = time.time() + 180
        while time.time() < deadline and process.poll() is None:
            if after_units is None and (out / ".progress" / "staging").exists():
                break
            if after_units is not None and log.exists() and log.read_bytes().count(b"\n") >= after_units:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        finished = _finished_units(out) if log.exists() else []
        result = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    units = _finished_units(out)
    assert units[: len(finished)] == finished and len(units) == len(set(units)), "finished work was redone"
    dataset = datasets.load_from_disk(str(out))["train"]
    assert len(dataset) == 24 and len(set(dataset["record_id"])) == 24
    assert len({json.dumps(m) for m in dataset["messages"]}) == 24
    assert datasets.load_dataset("parquet", data_dir=str(out))["train"]["record_id"] == dataset["record_id"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"] == 24 and summary["units_resumed"] >= len(finished)


@pytest.mark.parametrize("after_units", [0, 1, 4, None])
def test_kill_9_then_rerun_threads(after_units, text_seeds, tmp_path, mlflow_uri):
    """SIGKILL at start-up, after the first unit, mid-run, and while the outputs are written; the same command then
    delivers exactly --n records."""
    _kill_and_resume(tmp_path, text_seeds, mlflow_uri, after_units)


@pytest.mark.parametrize("after_units", [1, 4])
def test_kill_9_then_rerun_ray(after_units, ray_address, text_seeds, tmp_path, mlflow_uri):
    _kill_and_resume(tmp_path, text_seeds, mlflow_uri, after_units, "--backend", "ray", "--ray-address", ray_address)
