"""The Python API and the CLI are one set of options: each command's config dataclass declares them once."""

import argparse

import pytest
from test_mix import _generate, echo_everywhere  # noqa: F401  (a fixture)

import agentinstruct
from agentinstruct.cli import build_parser, format_summary, main
from agentinstruct.decontaminate import DecontaminateConfig
from agentinstruct.errors import UserError
from agentinstruct.export import ExportConfig
from agentinstruct.optimizers.compile import CompileConfig
from agentinstruct.options import cli_fields
from agentinstruct.runner import GenerateConfig
from agentinstruct.score import ScoreConfig


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize(
    ("command", "config_class"),
    [
        ("generate", GenerateConfig),
        ("score", ScoreConfig),
        ("compile", CompileConfig),
        ("export", ExportConfig),
        ("decontaminate", DecontaminateConfig),
    ],
)
def test_every_cli_option_is_a_config_field_and_every_field_an_option(command, config_class):
    parser = _subcommands()[command]
    dests = {a.dest for a in parser._actions if a.dest not in ("help", "quiet", "config_class")}
    assert dests == {f.name for f in cli_fields(config_class)}
    for action in parser._actions:
        if action.dest in dests and action.option_strings:
            assert action.help  # declared with its help, once


def test_generate_score_and_export_from_python(echo_everywhere, text_seeds, tmp_path, mlflow_uri):  # noqa: F811
    out = tmp_path / "gen"
    summary = agentinstruct.generate(
        seeds=str(text_seeds),
        n=2,
        out=str(out),
        lm="openai/echo",
        api_base="http://127.0.0.1:9/v1",
        model_checks=False,
        min_quality=0.0,
        show_progress=False,
    )
    assert isinstance(summary, agentinstruct.GenerateSummary) and summary.pairs == 2

    report = agentinstruct.score(str(out), out=str(tmp_path / "scored"), model_checks=False, show_progress=False)
    assert report["rows"] == 2 and (tmp_path / "scored" / "report.json").exists()

    exported = agentinstruct.export(str(out), format="openai", out=str(tmp_path / "train.jsonl"))
    assert exported.written == 2 and (tmp_path / "train.jsonl").read_text().count("\n") == 2

    # A config object with keyword overrides is the same call.
    again = agentinstruct.generate(
        GenerateConfig(n=2, out=str(out)),
        seeds=str(text_seeds),
        lm="openai/echo",
        api_base="http://127.0.0.1:9/v1",
        model_checks=False,
        min_quality=0.0,
        show_progress=False,
    )
    assert again.units_run == 0 and again.pairs == 2  # resumed: nothing new to run


def test_python_api_rejects_unknown_keywords_and_bad_values(tmp_path):
    with pytest.raises(TypeError, match="unknown option\\(s\\) temprature; GenerateConfig takes .*temperature"):
        agentinstruct.generate(n=1, out=str(tmp_path / "x"), temprature=0.5)
    with pytest.raises(UserError, match="--temperature must be between 0 and 2"):
        agentinstruct.generate(n=1, out=str(tmp_path / "x"), temperature=-5)
    with pytest.raises(UserError, match="--concurrency must be at least 1"):
        agentinstruct.score(str(tmp_path), out=str(tmp_path / "s"), concurrency=0)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--temperature", "-5", "--temperature must be between 0 and 2, got -5.0"),
        ("--max-tokens", "0", "--max-tokens must be at least 1, got 0"),
        ("--max-chars", "0", "--max-chars must be at least 1, got 0"),
    ],
)
def test_out_of_range_generation_settings_are_one_line_exit_2(option, value, message, tmp_path, capsys):
    assert main(["generate", "--n", "1", "--out", str(tmp_path / "out"), option, value]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"agentinstruct: error: {message}" and not (tmp_path / "out").exists()


def test_the_open_mlflow_hint_names_the_store_in_use(echo_everywhere, text_seeds, tmp_path, monkeypatch, capsys):  # noqa: F811
    uri = f"sqlite:///{tmp_path / 'elsewhere' / 'runs.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    assert _generate(tmp_path / "out", text_seeds, "--n", "1", "--min-quality", "0") == 0
    printed = capsys.readouterr().out
    assert f"mlflow ui --backend-store-uri {uri}" in printed and "sqlite:///mlflow.db" not in printed
    assert format_summary  # the single-skill summary is the one printed above
