import os
import sys
import tempfile
from pathlib import Path

# Before DSPy is imported: a fresh response cache per test session, so endpoint tests really reach their server.
os.environ["DSPY_CACHEDIR"] = tempfile.mkdtemp(prefix="agentinstruct-dspy-cache-")
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).parent))

import pytest  # noqa: E402

UNIVERSAL_ANSWER = {
    "transformed": "In 2020 the village of Brook planted 120 apple trees. The harvest doubled by 2023 because "
    "bees from two new hives pollinated the orchard.",
    "questions": "1. How many apple trees did Brook plant in 2020?\n2. Why did the harvest double by 2023?\nok",
    "suggestions": "- Ask about something the passage leaves out.",
    "revised_question": "How many apple trees did Brook plant, and what doubled the harvest?",
    "revised_passage": "In 2020 the village of Brook planted 150 apple trees.",
    "answer": "Brook planted 120 apple trees; the harvest doubled because bees pollinated the orchard.",
}


@pytest.fixture
def mlflow_uri(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    return uri


@pytest.fixture
def dummy_lm():
    import dspy
    from dspy.utils import DummyLM

    lm = DummyLM([UNIVERSAL_ANSWER] * 500)
    with dspy.context(lm=lm):
        yield lm


@pytest.fixture
def text_seeds(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for index, topic in enumerate(["rivers", "glaciers", "deserts"]):
        (folder / f"{topic}.txt").write_text(
            f"Document {index} about {topic}. " + f"The {topic} of the region changed over 40 years. " * 5
        )
    return folder
