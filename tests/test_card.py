"""The dataset card every generate output folder gets: front matter `datasets` reads, figures read back from the
folder, rewritten when a run extends, and shown on the MLflow run."""

import json

import datasets
import mlflow
import pytest
import yaml
from test_mix import MIX, _generate, echo_everywhere  # noqa: F401  (a fixture)

from agentinstruct.card import CARD, size_category


def _front_matter(folder) -> tuple[dict, str]:
    text = (folder / CARD).read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front, body = text[4:].split("\n---\n", 1)
    return yaml.safe_load(front), body


def test_a_single_skill_folder_loads_by_skill_name_and_its_card_reports_the_run(
    echo_everywhere,  # noqa: F811
    text_seeds,
    tmp_path,
    mlflow_uri,
):
    out = tmp_path / "rc"
    assert _generate(out, text_seeds, "--n", "3", "--skill", "reading_comprehension", "--min-quality", "0") == 0
    summary = json.loads((out / "summary.json").read_text())
    front, body = _front_matter(out)
    assert front["license"] == "other" and "seed documents" in front["license_details"]
    assert front["size_categories"] == ["n<1K"]
    assert {"text-generation", "question-answering"} <= set(front["task_categories"])
    assert [c["config_name"] for c in front["configs"]] == ["reading_comprehension"]

    by_name = datasets.load_dataset(str(out), name="reading_comprehension")["train"]
    saved = datasets.load_from_disk(str(out))["train"]
    assert by_name["record_id"] == saved["record_id"] and len(by_name) == summary["pairs"] == 3
    assert datasets.load_dataset("parquet", data_dir=str(out))["train"]["record_id"] == saved["record_id"]

    for row in saved:  # every kept row's transformation and type is counted in the card
        assert f"{row['transformation']} (" in body and f"{row['instruction_type']} (" in body
    assert f"| reading_comprehension | 3 | {summary['pass_rate']:.1%} |" in body
    assert "`openai/echo`" in body and "judge: none" in body and "Decontamination: not run" in body

    run = mlflow.tracking.MlflowClient().get_run(summary["run_id"])
    assert run.data.tags["mlflow.note.content"] == (out / CARD).read_text(encoding="utf-8")
    artifacts = [a.path for a in mlflow.tracking.MlflowClient().list_artifacts(summary["run_id"])]
    assert CARD in artifacts


def test_the_card_is_rewritten_when_a_run_extends_and_keeps_the_licence_asked_for(
    echo_everywhere,  # noqa: F811
    text_seeds,
    tmp_path,
    mlflow_uri,
):
    out = tmp_path / "rc"
    extra = ["--skill", "reading_comprehension", "--min-quality", "0", "--license", "cc-by-4.0"]
    assert _generate(out, text_seeds, "--n", "2", *extra) == 0
    assert "| reading_comprehension | 2 |" in _front_matter(out)[1]
    assert _generate(out, text_seeds, "--n", "4", *extra) == 0
    front, body = _front_matter(out)
    assert front["license"] == "cc-by-4.0" and "license_details" not in front
    assert "| reading_comprehension | 4 |" in body
    assert len(datasets.load_dataset(str(out), name="reading_comprehension")["train"]) == 4


def test_a_mix_has_one_config_per_skill_and_one_for_everything(
    echo_everywhere,  # noqa: F811
    text_seeds,
    tmp_path,
    mlflow_uri,
):
    out = tmp_path / "mix"
    assert _generate(out, text_seeds, "--n", "3", "--skill", ",".join(MIX), "--min-quality", "0") in (0, 1)
    summary = json.loads((out / "summary.json").read_text())
    front, body = _front_matter(out)
    names = [c["config_name"] for c in front["configs"]]
    assert names == ["all", *MIX] and front["configs"][0]["default"] is True
    everything = datasets.load_dataset(str(out))["train"]
    assert len(everything) == summary["pairs"]
    for name in MIX:
        rows = datasets.load_dataset(str(out), name=name)["train"]
        assert len(rows) == summary["skills"][name]["pairs"] and set(rows["skill"]) <= {name}
        assert f"| {name} | {summary['skills'][name]['pairs']} |" in body
    parent = mlflow.tracking.MlflowClient().get_run(summary["run_id"])
    assert parent.data.tags["mlflow.note.content"].startswith("---\nlicense: other")


@pytest.mark.parametrize(
    ("rows", "category"),
    [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (99_999, "10K<n<100K"), (250_000, "100K<n<1M")]
    + [(10**7, "10M<n<100M")],
)
def test_size_categories_follow_the_hub_buckets(rows, category):
    assert size_category(rows) == category
