"""End to end on the real embedded model (Gemma 3 270M through llama.cpp), the README's main job in small."""

import datasets
import pytest

from agentinstruct.cli import main


@pytest.mark.slow
def test_generate_with_the_embedded_model_from_bundled_seeds(tmp_path, mlflow_uri, capsys):
    out = tmp_path / "rc"
    assert (
        main(
            [
                "generate",
                "--skill",
                "reading_comprehension",
                "--seeds",
                "bundled",
                "--n",
                "2",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    assert "pairs written   2 of 2" in capsys.readouterr().out
    dataset = datasets.load_from_disk(str(out))["train"]
    assert len(dataset) == 2
    for row in dataset:
        user, assistant = row["messages"]
        assert row["generator_lm"] == "embedded/gemma-3-270m-q4_k_m"
        assert assistant["content"].strip()
        passage, _, instruction = user["content"].rpartition("\n\n")
        assert len(passage) > 100 and instruction.strip()


@pytest.mark.slow
def test_a_build_that_crashes_is_reported_before_a_resumed_run_touches_its_progress(
    tmp_path, mlflow_uri, monkeypatch, capsys
):
    import sys

    out = tmp_path / "rc"
    command = ["generate", "--seeds", "bundled", "--n", "1", "--out", str(out), "--quiet"]
    assert main(command) == 0
    progress = (out / ".progress" / "units.jsonl").read_bytes()
    assert progress
    # As if llama.cpp had been rebuilt with AMX since: the runtime check has not passed for this build yet, and the
    # child it starts dies from SIGILL.
    monkeypatch.setattr("agentinstruct.health.checks_dir", lambda: tmp_path / "fresh-checks")
    crash = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGILL)"]
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: crash)
    capsys.readouterr()
    # More than the first run kept, surplus units included: this run has pairs to generate, so it needs the model.
    assert main(["generate", "--seeds", "bundled", "--n", "50", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("agentinstruct: error: the embedded model crashed with an illegal instruction")
    assert "Traceback" not in "\n".join(err)
    assert (out / ".progress" / "units.jsonl").read_bytes() == progress
    assert len(datasets.load_from_disk(str(out))["train"]) == 1
