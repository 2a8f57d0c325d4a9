"""Per-stage sampling temperatures as part of the program, and the `decoding` optimizer that picks them by the pairs
each makes on the train seeds."""

import json
import subprocess
import sys
import threading
from collections import Counter

import dspy
import pytest
from conftest import FieldEchoEngine, assert_corrupt_state_refused

from agentinstruct.optimizers import CompileConfig, compile_program, load_program, program_id, save_program
from agentinstruct.optimizers.budget import BudgetedLM, CallBudget
from agentinstruct.optimizers.compile import as_examples
from agentinstruct.optimizers.decoding import DecodingOptimizer
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.pipeline import STAGE_TEMPERATURES_KEY, StageTemperatures

SKILL = "reading_comprehension"


class HotAnswersLoopEngine(FieldEchoEngine):
    """The echo engine, recording each request's temperature by the stage's output field; an answer sampled above
    0.5 is a repetition loop (the validators reject those pairs as degenerate)."""

    def __init__(self, response_field: str) -> None:
        self.response_field = response_field
        self.local = threading.local()
        self.seen: list[tuple[str, float | None]] = []
        self.lock = threading.Lock()

    def complete(self, request):
        self.local.temperature = request.config.temperature
        return super().complete(request)

    def answers(self, fields, inputs):
        values = super().answers(fields, inputs)
        with self.lock:
            self.seen += [(field, self.local.temperature) for field in fields]
        if self.response_field in fields and (self.local.temperature or 0) > 0.5:
            # The same answer run into a loop: as diverse as the cold one, and rejected as degenerate.
            values[self.response_field] = f"{values[self.response_field]} {'and so on ' * 12}"
        return values


def _engine_lm(temperature=0.7):
    engine = HotAnswersLoopEngine(get_skill(SKILL).wording.response)
    return engine, dspy.LM("echo/fields", engine=engine, cache=False, temperature=temperature)


def test_each_stage_asks_for_its_own_temperature_and_the_others_for_the_lm_s(text_seeds):
    from agentinstruct.seeds import load_seeds

    seed = load_seeds(str(text_seeds)).seeds[0]
    skill = get_skill(SKILL)
    pipeline = AgentInstructPipeline(skill)
    pipeline.stage_temperatures = StageTemperatures({"response": 0.0, "refinement": 0.3})
    engine, lm = _engine_lm(temperature=0.9)
    with dspy.context(lm=lm):
        prediction = pipeline(seed=seed.text, seed_id=seed.seed_id)
    assert prediction.samples
    by_field = {}
    for field, temperature in engine.seen:
        by_field.setdefault(field, set()).add(temperature)
    assert by_field[skill.wording.response] == {0.0}
    assert by_field["suggestions"] == {0.3}  # the Suggester/Editor rounds
    assert by_field["questions"] == {0.9}  # the instruction agents have none of their own: the LM's


def test_stage_temperatures_change_the_program_id_and_load_in_a_fresh_process(tmp_path):
    starter = AgentInstructPipeline(get_skill(SKILL))
    assert STAGE_TEMPERATURES_KEY not in starter.dump_state()  # a program without them keeps its program_id
    program = AgentInstructPipeline(get_skill(SKILL))
    program.stage_temperatures = StageTemperatures({"response": 0.0, "instruction_generation": 0.3})
    assert program_id(program) != program_id(starter)
    path = save_program(program, tmp_path / "program.json")
    code = (
        "import json, sys; from agentinstruct.programs import AgentInstructPipeline, get_skill; "
        "from agentinstruct.optimizers import load_program, program_id; "
        "p = load_program(AgentInstructPipeline(get_skill('reading_comprehension')), sys.argv[1]); "
        "print(json.dumps([program_id(p), p.stage_temperatures.as_state()]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [program_id(program), {"response": 0.0, "instruction_generation": 0.3}]
    load_program(program, save_program(starter, tmp_path / "plain.json"))
    assert program.stage_temperatures == StageTemperatures() and program_id(program) == program_id(starter)


@pytest.mark.parametrize(
    "temperatures, message",
    [({"answering": 0.2}, "lacks"), ({"response": 3.0}, "0 to 2"), ({"response": "cold"}, "0 to 2"), ([0.1], "map")],
)
def test_corrupt_stage_temperatures_are_refused_in_one_line(temperatures, message, tmp_path):
    assert_corrupt_state_refused(tmp_path, SKILL, STAGE_TEMPERATURES_KEY, temperatures, message)


def test_a_greedy_stage_draws_one_sample_because_every_other_would_be_the_same(text_seeds):
    from agentinstruct.seeds import load_seeds

    class EmptyAnswers(FieldEchoEngine):
        def __init__(self, response_field):
            self.response_field, self.calls = response_field, Counter()

        def answers(self, fields, inputs):
            values = super().answers(fields, inputs)
            if self.response_field in fields:
                self.calls[self.response_field] += 1
                values[self.response_field] = ""
            return values

    seed = load_seeds(str(text_seeds)).seeds[0]
    skill = get_skill(SKILL)
    counts = {}
    for temperature in (0.7, 0.0):
        pipeline = AgentInstructPipeline(skill, attempts=3)
        pipeline.stage_temperatures = StageTemperatures({"response": temperature})
        engine = EmptyAnswers(skill.wording.response)
        with dspy.context(lm=dspy.LM("echo/fields", engine=engine, cache=False)):
            prediction = pipeline(seed=seed.text, seed_id=seed.seed_id, refine_rounds=0)
        failed = [f for f in prediction.failures if f.stage == "response" and f.reason == "empty_output"]
        assert failed and not prediction.samples
        counts[temperature] = engine.calls[skill.wording.response] / len(failed)
    assert counts == {0.7: 3, 0.0: 1}


def test_the_decoding_optimizer_cools_the_stage_whose_hot_samples_fail(text_seeds):
    from agentinstruct.metrics import CompositeMetric
    from agentinstruct.seeds import load_seeds

    seeds = load_seeds(str(text_seeds)).seeds
    student = AgentInstructPipeline(get_skill(SKILL))
    _, lm = _engine_lm()
    optimizer = DecodingOptimizer(CompositeMetric(skill=SKILL), draws=1)
    with dspy.context(lm=lm):
        compiled = optimizer.compile(student, trainset=as_examples(seeds, 0, 1))
    assert compiled.stage_temperatures.as_state() == {"response": 0.0}
    assert student.stage_temperatures == StageTemperatures() and program_id(compiled) != program_id(student)
    start, screen, *trials = optimizer.table
    assert start["stage"] == "(start)" and start["train_pairs"] > 0 and start["train_passed"] == 0
    # the screen is tried first; the echo engine's instructions all pass it, so it changes nothing and is not kept
    assert screen["screen_instructions"] and not screen["kept"] and not compiled.screen_instructions
    kept = [row for row in trials if row["kept"]]
    assert [(row["stage"], row["temperature"]) for row in kept] == [("response", 0.0)]
    assert kept[0]["train_passed"] == kept[0]["train_pairs"] > 0
    # every other stage and temperature was tried after it, and none made more passing pairs
    assert {(row["stage"], row["temperature"]) for row in trials} == {
        (stage, t)
        for stage in ("response", "refinement", "instruction_generation", "transformation")
        for t in (0.0, 0.3)
    }


def test_a_budget_that_runs_out_mid_search_keeps_what_was_found(text_seeds):
    from agentinstruct.metrics import CompositeMetric
    from agentinstruct.seeds import load_seeds

    seeds = load_seeds(str(text_seeds)).seeds
    trainset = as_examples(seeds, 0, 1)
    student = AgentInstructPipeline(get_skill(SKILL))
    _, lm = _engine_lm()
    counted = CallBudget(None)
    with dspy.context(lm=BudgetedLM.wrap(lm, counted)):
        DecodingOptimizer(CompositeMetric(skill=SKILL), draws=1).compile(student, trainset=trainset)
    whole_search = counted.spent
    budget = CallBudget(whole_search // 2)  # enough for the start and the response trials, not the whole search
    optimizer = DecodingOptimizer(CompositeMetric(skill=SKILL), draws=1)
    with dspy.context(lm=BudgetedLM.wrap(lm, budget)):
        compiled = optimizer.compile(student, trainset=trainset)
    assert budget.exhausted
    assert compiled.stage_temperatures.as_state() == {"response": 0.0}
    assert len(optimizer.table) < 9


def test_compile_with_the_decoding_optimizer_goes_through_the_gate_and_logs_its_trials(
    text_seeds, tmp_path, mlflow_uri, monkeypatch
):
    import mlflow

    skill = get_skill(SKILL)
    _, lm = _engine_lm()
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    config = CompileConfig(
        skill=SKILL,
        seeds=str(text_seeds),
        optimizer="decoding",
        plan_draws=1,
        out=str(tmp_path / "program.json"),
        model_checks=False,
    )
    result = compile_program(config, show_progress=False)
    saved = load_program(AgentInstructPipeline(skill), result.program_path)
    # every hot answer fails and every greedy one passes: a win the gate can see on the dev seeds
    assert result.kept and result.dev.low > 0, result.reason
    assert saved.stage_temperatures.as_state() == {"response": 0.0}
    assert result.compiled.pass_rate > result.baseline.pass_rate == 0.0
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "decoding")}
    assert "decoding/trials.json" in artifacts


def test_generate_with_the_program_sends_each_stage_s_temperature_to_the_server(
    text_seeds, tmp_path, mlflow_uri, monkeypatch
):
    from stub_server import StubOpenAI

    from agentinstruct.cli import main

    skill = get_skill(SKILL)
    program = AgentInstructPipeline(skill)
    program.stage_temperatures = StageTemperatures({"response": 0.0})
    path = save_program(program, tmp_path / "program.json")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    with StubOpenAI() as server:
        argv = ["generate", "--seeds", str(text_seeds), "--n", "2", "--out", str(tmp_path / "out"), "--quiet"]
        argv += ["--lm", "openai/stub-model", "--api-base", server.base_url, "--program", str(path)]
        assert main(argv) == 0
    by_stage = {}
    for request in server.requests:
        prompt = request["body"]["messages"][-1]["content"]
        stage = "response" if f"[[ ## {skill.wording.response} ## ]]" in prompt.split("Respond with")[-1] else "other"
        by_stage.setdefault(stage, set()).add(request["body"].get("temperature"))
    assert by_stage == {"response": {0.0}, "other": {0.7}}
