"""Several skills in one generate run (`--skill a,b` / `all`, `--mix`), score over mixed datasets, and compile for
every skill, on the field-echo LM that answers any skill's fields."""

import json

import datasets
import dspy
import pytest
from conftest import FieldEchoEngine

from agentinstruct.cli import main
from agentinstruct.errors import UserError
from agentinstruct.mix import parse_mix, quotas, resolve_skills
from agentinstruct.programs import skill_names

MIX = ["reading_comprehension", "text_extraction", "open_domain_qa"]


@pytest.fixture
def echo_everywhere(monkeypatch):
    """Every LM role the CLI builds is the field-echo LM (no server, no model)."""
    lm = dspy.LM("echo/fields", engine=FieldEchoEngine(), cache=False)
    calls = []

    def build(*args, **kwargs):
        calls.append(args)
        return lm

    monkeypatch.setattr("agentinstruct.lm.build_lm", build)
    monkeypatch.setattr("agentinstruct.runner.check_lms", lambda *args, **kwargs: None)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    return lm


def _generate(out, seeds, *extra):
    command = ["generate", "--seeds", str(seeds), "--out", str(out), "--lm", "openai/echo", "--quiet"]
    return main([*command, "--api-base", "http://127.0.0.1:9/v1", "--no-model-checks", *extra])


def test_skill_lists_and_all_resolve():
    assert resolve_skills("all") == list(skill_names()) and len(skill_names()) >= 12
    assert resolve_skills(" fermi , brain_teaser") == ["fermi", "brain_teaser"]
    for spec, message in [
        ("fermi,nope", "unknown skill 'nope'"),
        ("fermi,,brain_teaser", "empty name"),
        ("fermi,fermi", "more than once"),
    ]:
        with pytest.raises(UserError, match=message):
            resolve_skills(spec)


def test_mix_weights_split_n_by_largest_remainder():
    assert quotas(3 * len(skill_names()), parse_mix(None, skill_names())) == dict.fromkeys(skill_names(), 3)
    weights = parse_mix("a=2, c=0.5", ["a", "b", "c"])
    assert weights == {"a": 2.0, "b": 1.0, "c": 0.5}
    shares = quotas(10, weights)
    assert shares == {"a": 6, "b": 3, "c": 1} and sum(shares.values()) == 10
    for text, message in [
        ("a=0", "positive number"),
        ("a=-1", "positive number"),
        ("a=nan", "positive number"),
        ("a=two", "positive number"),
        ("d=1", "not among the skills"),
        ("a", "not name=weight"),
    ]:
        with pytest.raises(UserError, match=message):
            parse_mix(text, ["a", "b", "c"])
    with pytest.raises(UserError, match="leaves c no record"):
        quotas(3, {"a": 5.0, "b": 5.0, "c": 1.0})


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--skill", "reading_comprehension,underwater_basket_weaving"], "unknown skill 'underwater_basket_weaving'"),
        (["--skill", "fermi,brain_teaser", "--mix", "fermi=zero"], "must be a positive number, got 'zero'"),
        (["--skill", "fermi,brain_teaser", "--mix", "fermi=-2"], "must be a positive number"),
        (["--skill", "fermi,brain_teaser", "--mix", "multiple_choice=2"], "not among the skills of --skill"),
        (["--skill", "all", "--n", "5"], "no record at its share of the mix"),
    ],
)
def test_bad_mixes_are_one_line_exit_2_and_write_nothing(extra, expected, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    assert _generate(out, text_seeds, "--n", "12", *extra) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("agentinstruct: error: ") and expected in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not out.exists()


def test_a_skill_without_seeds_of_its_kind_is_refused_before_anything_runs(tmp_path, mlflow_uri, capsys):
    seeds = tmp_path / "code-only"
    seeds.mkdir()
    (seeds / "rate.py").write_text("def rate(limit: int) -> int:\n    return limit * 2  # tokens per second\n" * 8)
    out = tmp_path / "out"
    assert _generate(out, seeds, "--n", "4", "--skill", "fermi,brain_teaser") == 2
    assert "skill fermi:" in capsys.readouterr().err
    assert not out.exists()


def test_a_mix_writes_one_dataset_per_skill_figures_and_nested_runs(
    echo_everywhere, text_seeds, tmp_path, mlflow_uri, capsys
):
    import mlflow

    out = tmp_path / "mix"
    extra = ["--n", "4", "--skill", ",".join(MIX), "--mix", "text_extraction=2", "--min-quality", "0"]
    assert _generate(out, text_seeds, *extra) in (0, 1)
    summary = json.loads((out / "summary.json").read_text())
    assert {name: f["requested"] for name, f in summary["skills"].items()} == {
        "reading_comprehension": 1,
        "text_extraction": 2,
        "open_domain_qa": 1,
    }
    rows = datasets.load_from_disk(str(out))["train"]
    assert len(rows) == summary["pairs"] == sum(f["pairs"] for f in summary["skills"].values())
    assert set(rows["skill"]) <= set(MIX)
    for row in rows:
        if row["skill"] == "open_domain_qa":  # the question alone in the user turn; the source kept beside it
            assert row["context"] and row["context"] not in row["messages"][0]["content"]
        else:
            assert row["context"] is None
    for table in ("failures", "rejects", "surplus"):
        assert (out / table / f"{table}.parquet").exists()
    failures = datasets.Dataset.from_parquet(str(out / "failures" / "failures.parquet"))
    assert set(failures["skill"]) <= set(MIX)

    client = mlflow.tracking.MlflowClient()
    parent = client.get_run(summary["run_id"])
    children = client.search_runs(
        [parent.info.experiment_id], filter_string=f"tags.mlflow.parentRunId = '{summary['run_id']}'"
    )
    assert sorted(run.data.params["skill"] for run in children) == sorted(MIX)
    assert {f"{name}/pass_rate" for name in MIX} <= set(parent.data.metrics)

    # The same command again resumes every skill's job: no LM call, the same rows.
    before = len(echo_everywhere.history)
    assert _generate(out, text_seeds, *extra) in (0, 1)
    assert len(echo_everywhere.history) == before
    assert datasets.load_from_disk(str(out))["train"]["record_id"] == rows["record_id"]


def test_a_single_skill_folder_is_not_reused_for_a_mix(echo_everywhere, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "one"
    assert _generate(out, text_seeds, "--n", "1", "--min-quality", "0") in (0, 1)
    capsys.readouterr()
    assert _generate(out, text_seeds, "--n", "4", "--skill", "fermi,brain_teaser") == 2
    assert "holds a single-skill generate job" in capsys.readouterr().err


def test_score_uses_each_rows_skill_and_counts_unknown_ones(tmp_path, mlflow_uri):
    from agentinstruct.score import ScoreConfig, score_dataset

    passage = (
        "The Alder bridge opened in 1931. It is 420 meters long and carries two tram lines across the river Alder."
    )
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"{passage}\n\nHow long is the Alder bridge?"},
                {"role": "assistant", "content": "It is 420 meters long."},
            ],
            "skill": "reading_comprehension",
        },
        {
            "messages": [
                {"role": "user", "content": "How long is the Alder bridge?"},
                {"role": "assistant", "content": "The Alder bridge is 420 meters long."},
            ],
            "context": passage,
            "skill": "open_domain_qa",
        },
        {
            "messages": [
                {"role": "user", "content": "Write a haiku about trams."},
                {
                    "role": "assistant",
                    "content": "Steel wheels hum softly\nacross the old river bridge\nmorning lights the rails",
                },
            ],
            "skill": "haiku_poetry",
        },
    ]
    path = tmp_path / "mixed.jsonl"
    path.write_text("\n".join(json.dumps(row) for row in rows))
    report = score_dataset(
        ScoreConfig(dataset=str(path), out=str(tmp_path / "scored"), model_checks=False), show_progress=False
    )
    assert report["unknown_skill_rows"] == 1 and report["unknown_skills"] == ["haiku_poetry"]
    assert set(report["skills"]) == {"reading_comprehension", "open_domain_qa", "unknown_skill"}
    # The open-domain answer is checked against the row's context, which the user turn does not carry.
    assert report["skills"]["open_domain_qa"]["validator_pass_rate"] == 1.0


@pytest.mark.parametrize("skill", skill_names())
def test_compile_works_for_every_skill(skill, echo_everywhere, text_seeds, tmp_path, mlflow_uri):
    from agentinstruct.optimizers import CompileConfig, compile_program, program_metadata
    from agentinstruct.programs import get_skill
    from agentinstruct.seeds import BUNDLED_CORPUS

    # A skill of code seeds alone (tool use) compiles on the bundled source files.
    seeds = text_seeds if "text" in get_skill(skill).seed_kinds else BUNDLED_CORPUS / "code"
    result = compile_program(
        CompileConfig(
            skill=skill,
            seeds=str(seeds),
            optimizer="bootstrap",
            out=str(tmp_path / "program.json"),
            val_fraction=0.3,
            budget=200,
            model_checks=False,
        ),
        show_progress=False,
    )
    assert result.baseline.pairs + result.baseline.failures > 0
    assert json.loads((tmp_path / "program.json").read_text())["agentinstruct_skill"] == skill
    assert program_metadata(result.program_path)["compile_run_id"] == result.run_id


def test_one_program_file_for_several_skills_drives_a_mixed_run(
    echo_everywhere, text_seeds, tmp_path, mlflow_uri, capsys
):
    from agentinstruct.optimizers import program_metadata, program_skills

    program = tmp_path / "mix-program.json"
    compile_args = ["compile", "--skill", "reading_comprehension,open_domain_qa", "--seeds", str(text_seeds)]
    compile_args += ["--optimizer", "bootstrap", "--out", str(program), "--budget", "200", "--quiet"]
    assert main([*compile_args, "--lm", "openai/echo", "--api-base", "http://127.0.0.1:9/v1", "--no-model-checks"]) == 0
    printed = capsys.readouterr().out
    assert "== reading_comprehension" in printed and "== open_domain_qa" in printed
    assert program_skills(program) == ["reading_comprehension", "open_domain_qa"]
    assert (tmp_path / "mix-program.reading_comprehension.json").exists()  # each skill's own file beside it
    runs = {name: program_metadata(program, name)["compile_run_id"] for name in program_skills(program)}
    assert len(set(runs.values())) == 2

    out = tmp_path / "mixed"
    extra = ["--n", "2", "--skill", "reading_comprehension,open_domain_qa", "--min-quality", "0"]
    assert _generate(out, text_seeds, *extra, "--program", str(program)) in (0, 1)
    summary = json.loads((out / "summary.json").read_text())
    import mlflow

    for name, figures in summary["skills"].items():  # each skill's run links back to its own compile run
        tags = mlflow.tracking.MlflowClient().get_run(figures["run_id"]).data.tags
        assert tags["agentinstruct.compile_run_id"] == runs[name]

    # A mix whose program file lacks one of its skills is refused before anything runs.
    assert (
        _generate(
            tmp_path / "other",
            text_seeds,
            "--n",
            "2",
            "--skill",
            "reading_comprehension,fermi",
            "--program",
            str(program),
        )
        == 2
    )
    assert "holds no program for fermi" in capsys.readouterr().err
    assert not (tmp_path / "other").exists()
    # A single skill the file does not hold: one line too.
    assert _generate(tmp_path / "single", text_seeds, "--n", "1", "--skill", "fermi", "--program", str(program)) == 2
    assert "not for skill 'fermi'" in capsys.readouterr().err
