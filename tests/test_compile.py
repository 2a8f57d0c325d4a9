"""`compile`: every optimizer end to end on DummyLM-driven pipelines, budgets, program save/load, MLflow."""

import json
import subprocess
import sys
from pathlib import Path

import dspy
import pytest
from conftest import UNIVERSAL_ANSWER
from dspy.utils import DummyLM

from agentinstruct.cli import main
from agentinstruct.errors import UserError
from agentinstruct.optimizers import (
    OPTIMIZERS,
    BudgetedLM,
    BudgetExhausted,
    CallBudget,
    CompileConfig,
    compile_program,
    load_program,
    program_id,
    program_metadata,
    split_seeds,
)
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.seeds import load_seeds

# Besides the pipeline's fields, answers for the optimizers' own prompts (MIPROv2 proposals, SIMBA advice, ...).
OPTIMIZER_ANSWER = {
    **UNIVERSAL_ANSWER,
    "proposed_instruction": "Write one precise question that only the passage can answer.",
    "program_description": "Generates reading-comprehension questions and answers.",
    "module_description": "Writes questions.",
    "dataset_description": "Short factual passages.",
    "observations": "Passages are factual.",
    "summary": "Factual passages.",
    "discussion": "The better trajectory asked about a stated number.",
    "module_advice": "{}",
    "new_instruction": "Ask about a stated fact.",
}


@pytest.fixture
def dummy_everything(monkeypatch):
    """Every LM role is a DummyLM answering every field any prompt asks for."""
    import agentinstruct.optimizers.compile as compile_module

    lm = DummyLM([OPTIMIZER_ANSWER] * 20000)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    return compile_module


def _budget(optimizer: str) -> int:
    """Enough calls for each optimizer to do its work on two train seeds; `decoding` reruns the pipeline for each of
    its nine trials, every call traced in MLflow, so a smaller cap (a search stopped by the budget) keeps it short."""
    return 150 if optimizer == "decoding" else 400


def _config(tmp_path, text_seeds, optimizer, **extra) -> CompileConfig:
    return CompileConfig(
        skill="reading_comprehension",
        seeds=str(text_seeds),
        optimizer=optimizer,
        out=str(tmp_path / "program.json"),
        val_fraction=0.3,
        **{"model_checks": False, **extra},  # the DummyLM stands in for the embedded model, which scores nothing
    )


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_compiles_end_to_end(optimizer, dummy_everything, text_seeds, tmp_path, mlflow_uri):
    result = compile_program(_config(tmp_path, text_seeds, optimizer, budget=_budget(optimizer)), show_progress=False)
    assert (result.train_size, result.val_size) == (2, 1)
    assert result.baseline.pairs > 0 and result.compiled.pairs > 0
    assert 0 <= result.compiled.composite <= 1
    fresh = load_program(AgentInstructPipeline(get_skill("reading_comprehension")), result.program_path)
    assert program_id(fresh) == result.program_id
    assert program_metadata(result.program_path)["compile_run_id"] == result.run_id


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizers_never_see_the_heldout_seeds(
    optimizer, dummy_everything, text_seeds, tmp_path, mlflow_uri, monkeypatch
):
    from agentinstruct.metrics import CompositeMetric

    seen, optimizing = [], []
    evaluate, run_optimizer = CompositeMetric.evaluate, dummy_everything.run_optimizer

    def spying_evaluate(self, example, pred):
        if optimizing:
            seen.append(example.seed_id)
        return evaluate(self, example, pred)

    def flagged_run_optimizer(*args, **kwargs):
        optimizing.append(True)
        try:
            return run_optimizer(*args, **kwargs)
        finally:
            optimizing.clear()

    monkeypatch.setattr(CompositeMetric, "evaluate", spying_evaluate)
    monkeypatch.setattr(dummy_everything, "run_optimizer", flagged_run_optimizer)
    result = compile_program(_config(tmp_path, text_seeds, optimizer, budget=_budget(optimizer)), show_progress=False)
    heldout = set(program_metadata(result.program_path)["heldout_seed_ids"])
    assert seen and heldout and not heldout & set(seen)


def test_every_candidate_an_optimizer_builds_runs_with_the_starter_demos():
    DEMO_PASSAGE = get_skill("reading_comprehension").demo_passage

    # random search and MIPROv2 score candidates built on reset_copy(); BootstrapFewShot replaces `demos`
    candidate = AgentInstructPipeline(get_skill("reading_comprehension")).reset_copy()
    respond = candidate.response.respond
    respond.demos = [dspy.Example(passage="Bees make honey.", question="What do bees make?", answer="Honey.")]
    lm = DummyLM([{"answer": "x"}])
    with dspy.context(lm=lm):
        respond(passage="The Orin bridge is 420 meters long.", question="How long is the bridge?")
    prompt = " ".join(str(message["content"]) for message in lm.history[-1]["messages"])
    assert prompt.index("Bees make honey.") < prompt.index(DEMO_PASSAGE[:60]) < prompt.index("The Orin bridge")
    assert respond.dump_state()["demos"] == [dict(respond.demos[0])]  # the saved state holds only what was found


def test_compile_run_in_mlflow_and_generate_links_back(dummy_everything, text_seeds, tmp_path, mlflow_uri, monkeypatch):
    import mlflow

    result = compile_program(_config(tmp_path, text_seeds, "bootstrap"), show_progress=False)
    client = mlflow.MlflowClient(mlflow_uri)
    run = client.get_run(result.run_id)
    assert run.data.tags["agentinstruct.kind"] == "compile"
    assert run.data.params["optimizer"] == "bootstrap" and run.data.params["train_size"] == "2"
    for name in ("pass_rate", "composite", "mean_novelty", "pairs"):
        assert f"baseline_{name}" in run.data.metrics and f"compiled_{name}" in run.data.metrics
    assert run.data.metrics["lm_calls"] > 0
    assert [a.path for a in client.list_artifacts(result.run_id, "program")] == ["program/program.json"]

    from agentinstruct.runner import GenerateConfig, generate

    summary = generate(
        GenerateConfig(
            skill="reading_comprehension",
            seeds=str(text_seeds),
            n=1,
            out=str(tmp_path / "gen"),
            program=result.program_path,
            min_quality=0.0,
            model_checks=False,
        ),
        show_progress=False,
    )
    generate_run = client.get_run(summary.run_id)
    assert generate_run.data.tags["agentinstruct.compile_run_id"] == result.run_id
    assert generate_run.data.params["program_id"] == result.program_id


def test_bootstrap_traces_every_train_seed_not_just_the_first_successes(dummy_everything, text_seeds):
    import agentinstruct.lm
    from agentinstruct.metrics import CompositeMetric

    tried = []
    optimizer = dummy_everything.build_optimizer(
        "bootstrap",
        CompositeMetric(skill="reading_comprehension"),
        max_demos=1,
        prompt_lm=None,
        task_lm=None,
        budget=None,
        train_size=3,
        seed=0,
    )
    original = optimizer._bootstrap_one_example
    optimizer._bootstrap_one_example = lambda example, round_idx=0: (
        tried.append(example) or original(example, round_idx)
    )
    trainset = dummy_everything.as_examples(load_seeds(text_seeds).seeds, random_seed=0, refine_rounds=1)
    with dspy.context(lm=agentinstruct.lm.build_lm("embedded")):  # the fixture's DummyLM
        compiled = optimizer.compile(AgentInstructPipeline(get_skill("reading_comprehension")), trainset=trainset)
    assert len(tried) == len(trainset) == 3
    assert all(len(predictor.demos) <= 1 for _, predictor in compiled.named_predictors())
    bootstrapped = [demo for _, predictor in compiled.named_predictors() for demo in predictor.demos]
    assert bootstrapped and all("demos" not in demo and "config" not in demo for demo in bootstrapped)


def test_heldout_draws_multiply_the_evaluation(dummy_everything, text_seeds, tmp_path, mlflow_uri):
    import mlflow

    result = compile_program(_config(tmp_path, text_seeds, "bootstrap", val_draws=2), show_progress=False)
    assert result.baseline.seeds == 1
    rows = mlflow.MlflowClient(mlflow_uri).download_artifacts(result.run_id, "heldout/baseline.json", str(tmp_path))
    assert {row["draw"] for row in json.loads(Path(rows).read_text())} == {0, 1}
    heldout = split_seeds(load_seeds(text_seeds).seeds, 0.3, seed=0)[1]
    assert program_metadata(result.program_path)["heldout_seed_ids"] == [seed.seed_id for seed in heldout]


def test_budget_caps_lm_calls_and_the_compile_still_finishes(dummy_everything, text_seeds, tmp_path, mlflow_uri):
    result = compile_program(_config(tmp_path, text_seeds, "bootstrap", budget=1), show_progress=False)
    assert result.lm_calls == 1 and result.budget_exhausted
    assert result.compiled.pairs > 0  # the held-out evaluation is outside the optimizer's budget


def test_a_budget_spent_inside_an_optimizer_keeps_the_uncompiled_program(
    dummy_everything, text_seeds, tmp_path, mlflow_uri
):
    import mlflow

    # MIPROv2's instruction proposer stops on the first refused prompt-model call instead of scoring it 0
    result = compile_program(_config(tmp_path, text_seeds, "mipro", budget=2), show_progress=False)
    assert not result.optimizer_finished and result.budget_exhausted
    assert result.program_id == program_id(AgentInstructPipeline(get_skill("reading_comprehension")))
    assert (
        mlflow.MlflowClient(mlflow_uri).get_run(result.run_id).data.tags["agentinstruct.optimizer_finished"] == "false"
    )
    assert "did not finish" in dummy_everything.format_result(result)


def test_budgeted_lm_refuses_past_the_cap():
    budget = CallBudget(2)
    lm = BudgetedLM.wrap(DummyLM([{"answer": "x"}] * 5), budget)
    with dspy.context(lm=lm):
        for _ in range(2):
            dspy.Predict("question -> answer")(question="q")
        with pytest.raises(BudgetExhausted):
            dspy.Predict("question -> answer")(question="q")
    assert (budget.spent, budget.refused) == (2, 1)


def test_split_is_reproducible_and_disjoint(text_seeds):
    seeds = load_seeds(text_seeds).seeds
    train, val = split_seeds(seeds, 0.3, seed=1)
    assert split_seeds(list(reversed(seeds)), 0.3, seed=1) == (train, val)
    assert not {s.seed_id for s in train} & {s.seed_id for s in val}
    with pytest.raises(UserError, match="train split is empty"):
        split_seeds(seeds[:1], 0.5, seed=0)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--optimizer", "adamw"], "unknown optimizer 'adamw'"),
        (["--optimizer", "bootstrap", "--budget", "0"], "--budget must be at least 1"),
        (["--optimizer", "bootstrap", "--val-fraction", "1.5"], "--val-fraction must be between 0 and 1"),
        (["--optimizer", "bootstrap", "--max-seeds", "1"], "train split is empty"),
    ],
)
def test_compile_bad_input(extra, expected, tmp_path, mlflow_uri, capsys):
    assert main(["compile", "--out", str(tmp_path / "p.json"), *extra]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and expected in err


def test_saved_program_loads_identically_in_a_fresh_process(tmp_path):
    from agentinstruct.optimizers import save_program

    program = AgentInstructPipeline(get_skill("reading_comprehension"))
    predictor = program.instruction_generation.agents["inference"]
    predictor.demos = [dspy.Example(passage="p", questions="Why?"), *predictor.demos]
    predictor.signature = predictor.signature.with_instructions("Ask why, citing the passage.")
    path = save_program(program, tmp_path / "program.json", metadata={"compile_run_id": "abc"})
    code = (
        "import json, sys; from agentinstruct.programs import AgentInstructPipeline, get_skill; "
        "from agentinstruct.optimizers import load_program, program_id; "
        "p = load_program(AgentInstructPipeline(get_skill('reading_comprehension')), sys.argv[1]); "
        "a = p.instruction_generation.agents['inference']; "
        "print(json.dumps([program_id(p), a.signature.instructions, len(a.demos)]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [program_id(program), "Ask why, citing the passage.", len(predictor.demos)]


@pytest.mark.slow
def test_bootstrap_compiles_on_the_embedded_model_within_a_tiny_budget(tmp_path, mlflow_uri, capsys):
    out = tmp_path / "rc.json"
    assert (
        main(
            [
                "compile",
                "--optimizer",
                "bootstrap",
                "--out",
                str(out),
                "--max-seeds",
                "3",
                "--budget",
                "8",
                "--max-demos",
                "1",
                "--val-draws",
                "1",
                "--quiet",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "validator pass rate" in printed and "of a 8 budget" in printed
    assert "kept                    the " in printed  # the never-worse decision, whichever way it went
    program = load_program(AgentInstructPipeline(get_skill("reading_comprehension")), out)
    assert program_metadata(out)["optimizer"] == "bootstrap"
    assert f"(program_id {program_id(program)})" in printed


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_compiles_through_an_openai_compatible_server(
    optimizer, text_seeds, tmp_path, mlflow_uri, monkeypatch, capsys
):
    from stub_server import StubOpenAI

    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    out = tmp_path / "rc.json"
    with StubOpenAI() as server:
        argv = ["compile", "--optimizer", optimizer, "--seeds", str(text_seeds), "--out", str(out)]
        argv += ["--lm", "openai/stub-model", "--api-base", server.base_url, "--budget", "200", "--quiet"]
        assert main(argv) == 0
    assert server.requests and all(r["path"] == "/v1/chat/completions" for r in server.requests)
    printed = capsys.readouterr()
    assert "validator pass rate" in printed.out
    assert "%|" not in printed.err and "it/s" not in printed.err  # --quiet: not even the optimizers' own bars
    assert program_metadata(out)["optimizer"] == optimizer
    load_program(AgentInstructPipeline(get_skill("reading_comprehension")), out)
