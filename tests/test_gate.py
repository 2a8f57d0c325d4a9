"""Never worse: a compiled program replaces the uncompiled one only on a measured win on dev seeds; a teacher LM's
traces become the demos the student generates with."""

import json
from pathlib import Path

import mlflow
import pytest
from conftest import UNIVERSAL_ANSWER
from dspy.utils import DummyLM
from test_compile import OPTIMIZER_ANSWER, _config, dummy_everything  # noqa: F401  (a fixture)

from agentinstruct.optimizers import (
    Evaluation,
    compile_program,
    load_program,
    program_id,
    program_metadata,
)
from agentinstruct.optimizers.compile import format_result
from agentinstruct.optimizers.gate import compare, decide
from agentinstruct.programs import AgentInstructPipeline, get_skill


def _rows(passes: list[list[bool]], types=("a", "b")) -> list[dict]:
    """One row per pair: example i (a seed and draw) wrote len(passes[i]) pairs, passing as given."""
    return [
        {"seed_id": f"s{i}", "draw": 0, "passed": ok, "instruction_type": types[j % len(types)]}
        for i, example in enumerate(passes)
        for j, ok in enumerate(example)
    ]


def _evaluation(passes: list[list[bool]], vendi: float = 2.0, entropy: float = 1.0) -> Evaluation:
    rows = _rows(passes)
    passed = sum(r["passed"] for r in rows)
    return Evaluation(
        seeds=len(passes),
        pairs=len(rows),
        failures=0,
        pass_rate=passed / len(rows),
        mean_novelty=0.5,
        composite=0.5,
        vendi_score=vendi,
        instruction_type_entropy=entropy,
        rows=rows,
    )


def test_the_paired_interval_measures_the_pass_rate_difference():
    before = _rows([[True, False]] * 30)
    after = _rows([[True, True]] * 30)
    comparison = compare(before, after)
    assert (comparison.baseline, comparison.compiled, comparison.difference) == (0.5, 1.0, 0.5)
    assert comparison.low == comparison.high == 0.5  # every example moved the same way: no spread
    noisy = compare(_rows([[True], [False]] * 15), _rows([[False], [True]] * 15))
    assert noisy.difference == 0 and noisy.low < 0 < noisy.high
    # A failed stage writes no pair: it lowers neither pass rate, but the example is still paired.
    with_failure = compare(before + [{"seed_id": "s99", "draw": 0, "failed_stage": "response"}], after)
    assert with_failure.examples == 31 and with_failure.baseline_pairs == 60


@pytest.mark.parametrize(
    ("before", "after", "changed", "finished", "kept", "reason"),
    [
        (_evaluation([[True, False]] * 20), _evaluation([[True, True]] * 20), True, True, True, "it wins"),
        (_evaluation([[True, False]] * 20), _evaluation([[True, False]] * 20), True, True, False, "no measurable win"),
        # +25 points on 4 seed-draws: one example moved, which noise can do
        (
            _evaluation([[True], [False], [True], [False]]),
            _evaluation([[True], [True], [True], [False]]),
            True,
            True,
            False,
            "no measurable win",
        ),
        (
            _evaluation([[True, False]] * 20),
            _evaluation([[True, True]] * 20, vendi=1.5),
            True,
            True,
            False,
            "lost diversity: vendi_score 1.50 < 0.9 x 2.00",
        ),
        (
            _evaluation([[True, False]] * 20),
            _evaluation([[True, True]] * 20, entropy=0.5),
            True,
            True,
            False,
            "instruction_type_entropy",
        ),
        (_evaluation([[True]]), _evaluation([[True]]), False, True, False, "changed nothing"),
        (_evaluation([[True]]), _evaluation([[True]]), True, False, False, "did not finish"),
    ],
)
def test_a_compiled_program_is_kept_only_on_a_measured_win_that_keeps_diversity(
    before, after, changed, finished, kept, reason
):
    decision = decide(before, after, changed=changed, finished=finished)
    assert decision.kept is kept and reason in decision.reason


def test_when_no_candidate_wins_compile_keeps_the_uncompiled_program_and_says_so(
    dummy_everything,  # noqa: F811
    text_seeds,
    tmp_path,
    mlflow_uri,
):
    # The DummyLM answers the same with demos or without: the compiled candidate cannot win.
    result = compile_program(_config(tmp_path, text_seeds, "bootstrap"), show_progress=False)
    uncompiled = AgentInstructPipeline(get_skill("reading_comprehension"))
    assert not result.kept and "no measurable win" in result.reason
    assert result.program_id == program_id(uncompiled) == program_id(load_program(uncompiled, result.program_path))
    assert program_metadata(result.program_path)["kept"] is False
    candidate = load_program(AgentInstructPipeline(get_skill("reading_comprehension")), result.candidate_path)
    assert program_id(candidate) != result.program_id and any(p.demos for _, p in candidate.named_predictors())
    printed = format_result(result)
    assert "kept                    the uncompiled program: no measurable win" in printed
    assert "held-out difference" in printed and "95% interval" in printed

    run = mlflow.MlflowClient(mlflow_uri).get_run(result.run_id)
    assert run.data.tags["agentinstruct.compiled_kept"] == "false"
    for name in ("dev_difference", "dev_low", "dev_high", "heldout_difference", "heldout_low", "heldout_high"):
        assert name in run.data.metrics
    assert {"baseline_vendi_score", "compiled_vendi_score", "kept"} <= set(run.data.metrics)


def test_a_teachers_traces_become_the_demos_the_student_generates_with(text_seeds, tmp_path, mlflow_uri, monkeypatch):
    from stub_server import StubOpenAI

    import agentinstruct.lm

    real_build_lm = agentinstruct.lm.build_lm
    student = DummyLM([OPTIMIZER_ANSWER] * 20000)

    def build(model, *args, **kwargs):  # the teacher is a real endpoint over HTTP; the student a DummyLM
        return real_build_lm(model, *args, **kwargs) if model == "openai/teacher" else student

    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    monkeypatch.setattr("agentinstruct.lm.build_lm", build)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    with StubOpenAI() as teacher:
        config = _config(tmp_path, text_seeds, "bootstrap", teacher_lm="openai/teacher", api_base=teacher.base_url)
        result = compile_program(config, show_progress=False)
    assert teacher.requests  # the demos were bootstrapped on the teacher
    program_file = result.program_path if result.kept else result.candidate_path
    state = json.loads(Path(program_file).read_text())
    demos = [demo for value in state.values() if isinstance(value, dict) for demo in value.get("demos", [])]
    taught = [demo for demo in demos if "The passage states:" in json.dumps(demo)]  # the stub teacher's answers
    assert taught and not any(UNIVERSAL_ANSWER["answer"] in json.dumps(demo) for demo in demos)
    # The student, not the teacher, ran the compiled candidate on the held-out seeds, with the teacher's demos.
    prompts = [json.dumps(entry["messages"]) for entry in student.history]
    assert any("The passage states:" in prompt for prompt in prompts)
    assert program_metadata(program_file)["teacher_lm"] == "openai/teacher"


class _OneHotEmbedder:
    """Each distinct text its own orthogonal unit vector: n distinct pairs have a Vendi score of n."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}

    def embed(self, texts):
        import numpy as np

        for text in texts:
            self.index.setdefault(text, len(self.index))
        vectors = np.zeros((len(texts), 512), dtype=np.float32)
        for row, text in enumerate(texts):
            vectors[row, self.index[text]] = 1.0
        return vectors


def _pairs(texts: list[str]) -> list[dict]:
    return [
        {
            "seed_id": f"s{i}",
            "draw": 0,
            "passed": True,
            "instruction_type": "ab"[i % 2],
            "instruction": t,
            "response": "",
        }
        for i, t in enumerate(texts)
    ]


def _measured(texts: list[str]) -> Evaluation:
    from agentinstruct.optimizers.compile import _diversity

    rows = _pairs(texts)
    figures = _diversity(rows, _OneHotEmbedder())
    return Evaluation(
        seeds=len(rows),
        pairs=len(rows),
        failures=0,
        pass_rate=1.0,
        mean_novelty=1.0,
        composite=1.0,
        vendi_score=figures["vendi_score"],
        instruction_type_entropy=figures["instruction_type_entropy"],
        rows=rows,
    )


def test_diversity_is_compared_at_the_same_number_of_pairs():
    """A program that makes fewer pairs, all distinct, is as diverse as one that makes more: measured as they stand,
    its Vendi score is lower for the count alone (a Vendi score is at most the number of pairs), and the gate refused
    such a program on the embedded model. Fewer pairs that are copies of one another still count as less diverse."""
    from agentinstruct.optimizers.compile import at_equal_size

    embedder = _OneHotEmbedder()
    many, fewer = _measured([f"pair {i}" for i in range(20)]), _measured([f"other {i}" for i in range(10)])
    assert fewer.vendi_score < 0.9 * many.vendi_score  # as they stand
    before, after = at_equal_size(many, fewer, embedder)
    assert before.vendi_score == pytest.approx(after.vendi_score) == pytest.approx(10.0)
    assert after.instruction_type_entropy >= 0.9 * before.instruction_type_entropy
    assert (before.pass_rate, before.rows, after.pairs) == (many.pass_rate, many.rows, fewer.pairs)

    copies = _measured(["the same pair"] * 10)
    before, after = at_equal_size(many, copies, embedder)
    assert after.vendi_score == pytest.approx(1.0) and before.vendi_score == pytest.approx(10.0)
