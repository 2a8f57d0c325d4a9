"""Pictures in MLflow: each plot is a valid PNG, empty runs draw an empty state, generate/mix/compile runs log them,
and a plot that fails is a note, never a failed run."""

import json

import mlflow
import numpy as np
import pytest
from matplotlib.image import imread
from test_compile import _config, dummy_everything  # noqa: F401  (a fixture)
from test_mix import MIX, _generate, echo_everywhere  # noqa: F401  (a fixture)

from agentinstruct.optimizers import compile_program
from agentinstruct.plots import compile_plot, embedding_map, novelty_plot, pass_rate_plot

PNG = b"\x89PNG\r\n\x1a\n"


def _valid_png(path) -> None:
    assert path.read_bytes()[:8] == PNG
    pixels = imread(str(path))
    assert pixels.shape[0] > 50 and pixels.shape[1] > 50
    assert pixels.std() > 0  # something is drawn, not a blank canvas


def test_each_plot_is_a_valid_png_and_empty_inputs_draw_an_empty_state(tmp_path):
    scored = [
        {"skill": skill, "type": f"type_{i % 5}", "passed": i % 3 != 0}
        for skill in ("reading_comprehension", "fermi")
        for i in range(40)
    ]
    rng = np.random.default_rng(0)
    drawn = [
        pass_rate_plot(scored, tmp_path / "pass.png"),
        novelty_plot(list(rng.random(50)), list(rng.random(10) * 0.1), 0.9, tmp_path / "novelty.png"),
        embedding_map(rng.normal(size=(60, 384)), ["a"] * 30 + ["b"] * 30, tmp_path / "map.png"),
        compile_plot(
            {"pass_rate": 0.4, "judge_overall": None},
            {"pass_rate": 0.5, "judge_overall": None},
            tmp_path / "compile.png",
        ),
        pass_rate_plot([], tmp_path / "pass-empty.png"),
        novelty_plot([], [], 0.9, tmp_path / "novelty-empty.png"),
        embedding_map(np.zeros((0, 0)), [], tmp_path / "map-empty.png"),
        embedding_map(np.ones((3, 8)), ["a", "a", "b"], tmp_path / "map-degenerate.png"),
    ]
    for path in drawn:
        _valid_png(path)


def _artifacts(run_id: str, folder, tmp_path) -> list:
    client = mlflow.MlflowClient()
    names = sorted(a.path for a in client.list_artifacts(run_id, "plots"))
    local = client.download_artifacts(run_id, "plots", str(tmp_path / run_id))
    return names, local


def test_a_generate_run_logs_its_plots(echo_everywhere, text_seeds, tmp_path, mlflow_uri):  # noqa: F811
    from pathlib import Path

    out = tmp_path / "rc"
    assert _generate(out, text_seeds, "--n", "3", "--skill", "reading_comprehension", "--min-quality", "0") == 0
    run_id = json.loads((out / "summary.json").read_text())["run_id"]
    names, local = _artifacts(run_id, out, tmp_path)
    assert names == ["plots/embedding_map.png", "plots/novelty.png", "plots/pass_rate.png"]
    for name in names:
        _valid_png(Path(local) / Path(name).name)
        assert (out / name).exists()


def test_a_mix_logs_combined_plots_on_the_parent_and_each_skills_on_its_own_run(
    echo_everywhere,  # noqa: F811
    text_seeds,
    tmp_path,
    mlflow_uri,
):
    out = tmp_path / "mix"
    assert _generate(out, text_seeds, "--n", "3", "--skill", ",".join(MIX), "--min-quality", "0") in (0, 1)
    summary = json.loads((out / "summary.json").read_text())
    assert len(_artifacts(summary["run_id"], out, tmp_path)[0]) == 3
    for name in MIX:
        assert len(_artifacts(summary["skills"][name]["run_id"], out, tmp_path)[0]) == 3


def test_a_compile_run_logs_its_before_after_chart(dummy_everything, text_seeds, tmp_path, mlflow_uri):  # noqa: F811
    from pathlib import Path

    result = compile_program(_config(tmp_path, text_seeds, "bootstrap"), show_progress=False)
    names, local = _artifacts(result.run_id, None, tmp_path)
    assert names == ["plots/compile.png"]
    _valid_png(Path(local) / "compile.png")


def test_a_plot_that_fails_is_a_note_not_a_failed_run(echo_everywhere, text_seeds, tmp_path, mlflow_uri, monkeypatch):  # noqa: F811
    def broken(*args, **kwargs):
        raise RuntimeError("no fonts here")

    monkeypatch.setattr("agentinstruct.runner.generate_plots", broken)
    out = tmp_path / "rc"
    assert _generate(out, text_seeds, "--n", "1", "--skill", "reading_comprehension", "--min-quality", "0") == 0
    assert "plots not drawn: RuntimeError: no fonts here" in json.loads((out / "summary.json").read_text())["notes"]


@pytest.mark.parametrize("threshold", [0.9, 0.75])
def test_the_novelty_plot_marks_the_near_duplicate_line(threshold, tmp_path):
    path = novelty_plot([0.5, 0.6], [0.01], threshold, tmp_path / "n.png")
    _valid_png(path)
