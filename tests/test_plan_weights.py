"""The generation plan as part of the program: draw weights per transformation and instruction type, saved with the
program, and the `plan` optimizer that learns them from validator pass rates."""

import json
import math
import subprocess
import sys
import threading
from collections import Counter

import dspy
import pytest
from conftest import FieldEchoEngine, assert_corrupt_state_refused

from agentinstruct.optimizers import CompileConfig, compile_program, load_program, program_id, save_program
from agentinstruct.optimizers.plan import ENTROPY_SHARE, FLOOR, PlanOptimizer, entropy, learned_weights
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.pipeline import PLAN_WEIGHTS_KEY, PlanWeights

SKILL = "reading_comprehension"


def _pipeline(**weights) -> AgentInstructPipeline:
    pipeline = AgentInstructPipeline(get_skill(SKILL))
    pipeline.plan_weights = PlanWeights(**weights)
    return pipeline


def _plans(pipeline, count=600):
    return [pipeline.plan(f"seed-{i}", draw=i % 3, random_seed=5) for i in range(count)]


def test_weights_change_how_often_the_plan_draws_each_transformation_and_type():
    skill = get_skill(SKILL)
    favoured = skill.transformations[0].name
    eligible = [kind.name for kind in skill.eligible_types(favoured)]
    favoured_type = eligible[-1]
    uniform = _plans(_pipeline())
    weighted = _plans(
        _pipeline(transformations={favoured: 9.0}, instruction_types={favoured_type: 20.0}),
    )
    share = lambda plans: sum(p.transformation == favoured for p in plans) / len(plans)  # noqa: E731
    assert share(uniform) < 0.2 < 0.4 < share(weighted)  # 1/9 of the draws vs 9/17
    with_type = lambda plans: sum(favoured_type in p.instruction_types for p in plans)  # noqa: E731
    assert with_type(weighted) > 3 * with_type(uniform)
    # Reproducible, and the weights leave the rest of the plan alone: the same goals and sampling seeds.
    assert weighted == _plans(_pipeline(transformations={favoured: 9.0}, instruction_types={favoured_type: 20.0}))
    assert [(p.refinement_goals, p.sampling_seed) for p in uniform] == [
        (p.refinement_goals, p.sampling_seed) for p in weighted
    ]


def test_a_uniform_plan_draws_every_transformation_about_equally():
    counts = Counter(plan.transformation for plan in _plans(_pipeline(), 900))
    names = [agent.name for agent in get_skill(SKILL).transformations]
    assert set(counts) == set(names) and min(counts.values()) > 0.6 * 900 / len(names)


def test_uniform_weights_keep_the_starter_program_id_and_others_change_it():
    plain = AgentInstructPipeline(get_skill(SKILL))
    assert PLAN_WEIGHTS_KEY not in plain.dump_state()
    all_ones = _pipeline(instruction_types={"inference": 1.0})
    assert program_id(all_ones) == program_id(plain)
    weighted = _pipeline(instruction_types={"inference": 2.0})
    assert program_id(weighted) != program_id(plain)
    assert weighted.dump_state()[PLAN_WEIGHTS_KEY]["instruction_types"] == {"inference": 2.0}


def test_plan_weights_load_in_a_fresh_process(tmp_path):
    program = _pipeline(transformations={"poem": 0.5}, instruction_types={"inference": 3.0, "main_idea": 0.25})
    path = save_program(program, tmp_path / "program.json")
    code = (
        "import json, sys; from agentinstruct.programs import AgentInstructPipeline, get_skill; "
        "from agentinstruct.optimizers import load_program, program_id; "
        "p = load_program(AgentInstructPipeline(get_skill('reading_comprehension')), sys.argv[1]); "
        "plan = p.plan('s', 1, 3); "
        "print(json.dumps([program_id(p), p.plan_weights.as_state(), plan.transformation, plan.instruction_types]))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    plan = program.plan("s", 1, 3)
    expected = [program_id(program), program.plan_weights.as_state(), plan.transformation, list(plan.instruction_types)]
    assert json.loads(out.stdout) == expected
    # Loading a program without weights into a weighted pipeline makes it uniform again.
    load_program(program, save_program(AgentInstructPipeline(get_skill(SKILL)), tmp_path / "plain.json"))
    assert program.plan_weights.uniform


@pytest.mark.parametrize(
    "weights, message",
    [
        ({"instruction_types": {"no_such_type": 2.0}}, "lacks"),
        ({"transformations": {"poem": 0}}, "positive"),
        ({"transformations": {"poem": "heavy"}}, "positive"),
        ({"colours": {}}, "must map"),
    ],
)
def test_corrupt_plan_weights_are_refused_in_one_line(weights, message, tmp_path):
    assert_corrupt_state_refused(tmp_path, SKILL, PLAN_WEIGHTS_KEY, weights, message)


def test_the_floor_keeps_every_type_in_the_mix_and_the_entropy_up():
    rates = {f"type-{i}": 0.6 for i in range(40)} | {"never-passes": 0.0, "always-passes": 1.0}
    weights = learned_weights(rates)
    shares = [w / sum(weights.values()) for w in weights.values()]
    assert min(weights.values()) >= FLOOR - 1e-3 and weights["never-passes"] == min(weights.values())
    assert weights["always-passes"] == max(weights.values()) > 1
    assert entropy(shares) >= ENTROPY_SHARE * math.log(len(rates)) - 1e-3  # weights are saved to 4 decimals
    assert learned_weights({"a": 0.3, "b": 0.3}) == {"a": 1.0, "b": 1.0}


class OneTypeFailsEngine(FieldEchoEngine):
    """The echo engine, except that the agent of one instruction type writes a repetition loop (the validators reject
    those pairs as degenerate)."""

    def __init__(self, failing_instruction: str) -> None:
        self.failing_instruction = failing_instruction
        self.prompt = threading.local()

    def complete(self, request):
        self.prompt.text = str(request.system)  # where the agent's instructions are
        return super().complete(request)

    def answers(self, fields, inputs):
        values = super().answers(fields, inputs)
        if "questions" in fields and self.failing_instruction in self.prompt.text:
            values["questions"] = "Why river river river river river river river river river river?"
        return values


def test_the_plan_optimizer_draws_a_type_that_always_fails_less_often(text_seeds):
    from agentinstruct.metrics import CompositeMetric
    from agentinstruct.optimizers.compile import as_examples
    from agentinstruct.seeds import load_seeds

    skill = get_skill(SKILL)
    seeds = load_seeds(str(text_seeds)).seeds
    student = AgentInstructPipeline(skill)
    drawn = Counter(t for s in seeds for d in range(6) for t in student.plan(s.seed_id, d, 0).instruction_types)
    failing = drawn.most_common(1)[0][0]
    instruction = next(kind.instruction for kind in skill.instruction_types if kind.name == failing)
    lm = dspy.LM("echo/fields", engine=OneTypeFailsEngine(instruction), cache=False)
    optimizer = PlanOptimizer(CompositeMetric(skill=SKILL), draws=6)
    with dspy.context(lm=lm):
        compiled = optimizer.compile(student, trainset=as_examples(seeds, 0, 1))
    rows = {row["name"]: row for row in optimizer.table if row["group"] == "instruction_type"}
    assert rows[failing]["train_pairs"] > 0 and rows[failing]["train_passed"] == 0
    passing = [name for name, row in rows.items() if row["train_passed"] > 0]
    assert passing, "the other types' pairs pass"
    weights = compiled.plan_weights.instruction_types
    assert weights[failing] == min(weights.values()) < 1 < min(weights[name] for name in passing)
    assert student.plan_weights.uniform and program_id(compiled) != program_id(student)


def test_compile_with_the_plan_optimizer_goes_through_the_never_worse_gate(
    text_seeds, tmp_path, mlflow_uri, monkeypatch
):
    import mlflow

    skill = get_skill(SKILL)
    failing = skill.instruction_types[0]
    lm = dspy.LM("echo/fields", engine=OneTypeFailsEngine(failing.instruction), cache=False)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    config = CompileConfig(
        skill=SKILL, seeds=str(text_seeds), optimizer="plan", out=str(tmp_path / "program.json"), model_checks=False
    )
    result = compile_program(config, show_progress=False)
    uniform_id = program_id(AgentInstructPipeline(skill))
    saved = load_program(AgentInstructPipeline(skill), result.program_path)
    assert result.dev is not None and result.heldout is not None
    if result.kept:
        assert result.dev.low > 0 and not saved.plan_weights.uniform
    else:  # the uncompiled program is what --out gets; the weighted candidate lies beside it
        assert program_id(saved) == uniform_id == result.program_id
        candidate = load_program(AgentInstructPipeline(skill), result.candidate_path)
        assert not candidate.plan_weights.uniform
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "plan")}
    artifacts |= {a.path for a in mlflow.MlflowClient().list_artifacts(result.run_id, "heldout")}
    assert {"plan/weights.json", "heldout/pass_rates.json"} <= artifacts
