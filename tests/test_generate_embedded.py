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
    dataset = datasets.load_from_disk(str(out))
    assert len(dataset) == 2
    for row in dataset:
        user, assistant = row["messages"]
        assert row["generator_lm"] == "embedded/gemma-3-270m-q4_k_m"
        assert assistant["content"].strip()
        passage, _, instruction = user["content"].rpartition("\n\n")
        assert len(passage) > 100 and instruction.strip()
