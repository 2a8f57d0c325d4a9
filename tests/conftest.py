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
    "revised_passage": "In 2020 the village of Brook planted 150 apple trees. The harvest doubled by 2023 because "
    "bees from two new hives pollinated the orchard.",
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


TEXT_SEEDS = {
    "rivers": "The river Alder floods every spring when snow melts in the Tarn hills. In 1998 the town of Fenwick "
    "built a levee three kilometers long. Since then no flood has reached the market square. Farmers downstream "
    "say their fields now stay wet for weeks longer. The council plans a second levee near the old mill by 2027. "
    "Engineers estimate it will cost four million euros. Anglers report more trout in the slower channels.",
    "glaciers": "The Vatna glacier retreated 300 meters between 1990 and 2020. Researchers from Reykholt measure "
    "its edge every September with drones. Meltwater now forms a lake that did not exist in 1985. Tour operators "
    "run boats on the lake from June to August. Warmer summers are the main cause, the researchers conclude. "
    "Sediment from the ice turns the water a milky blue. A hut built for climbers in 1972 now sits far from the ice.",
    "deserts": "The Kesh desert receives less than 80 millimeters of rain a year. Its dunes move up to 15 meters "
    "annually, pushed by the eastern wind. Nomadic herders follow wells that are spaced a day's walk apart. A solar "
    "farm opened at the desert's edge in 2019 and powers 40,000 homes. Dust storms cut its output by a fifth each "
    "spring. Night temperatures can fall below freezing in January. Rare foxes hunt beetles among the dunes.",
}


@pytest.fixture
def text_seeds(tmp_path):
    folder = tmp_path / "seeds"
    folder.mkdir()
    for topic, text in TEXT_SEEDS.items():
        (folder / f"{topic}.txt").write_text(text)
    return folder
