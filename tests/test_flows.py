import dspy
import pytest
from conftest import UNIVERSAL_ANSWER

from agentinstruct.metrics import view_of
from agentinstruct.programs import AgentInstructPipeline, get_skill, split_instructions
from agentinstruct.signatures.agents import IDENTITY

SEED = "The river Alder floods every spring. In 1998 the town of Fenwick built a 3 km levee, and floods stopped."


@pytest.fixture
def pipeline():
    return AgentInstructPipeline(get_skill("reading_comprehension"))


def test_reading_comprehension_registry_entry_is_complete():
    skill = get_skill("reading_comprehension")
    names = {t.name for t in skill.transformations}
    assert names == {
        "argument_passage",
        "debate_passage",
        "conversation_passage",
        "meeting_transcript",
        "poem",
        "satirical_passage",
        "instructional_passage",
        "long_text_expansion",
        IDENTITY,
    }
    assert len(skill.instruction_types) >= 20
    assert {
        "literal_short_answer",
        "numerical_discrete_reasoning",
        "critical_true_false",
        "lsat_strengthen",
        "lsat_weaken",
        "lsat_flaw",
        "sequencing_events",
        "relationship_matching",
    } <= {t.name for t in skill.instruction_types}
    assert {g.name for g in skill.refinement_goals} == {"unanswerable", "answer_flip", "harder"}
    for transformation in names:
        assert len(skill.eligible_types(transformation)) >= 6


def test_eligibility_depends_on_the_transformation():
    skill = get_skill("reading_comprehension")
    assert "speaker_viewpoint" in {t.name for t in skill.eligible_types("debate_passage")}
    assert "speaker_viewpoint" not in {t.name for t in skill.eligible_types("poem")}
    assert "lsat_flaw" not in {t.name for t in skill.eligible_types("poem")}


def test_plans_are_reproducible_and_respect_eligibility(pipeline):
    skill = pipeline.skill
    plans = [pipeline.plan(f"seed-{i}", draw=0, random_seed=7, refine_rounds=2) for i in range(40)]
    assert plans == [pipeline.plan(f"seed-{i}", draw=0, random_seed=7, refine_rounds=2) for i in range(40)]
    assert plans != [pipeline.plan(f"seed-{i}", draw=0, random_seed=8, refine_rounds=2) for i in range(40)]
    assert len({p.transformation for p in plans}) >= 6
    for plan in plans:
        eligible = {t.name for t in skill.eligible_types(plan.transformation)}
        assert set(plan.instruction_types) <= eligible
        assert len(plan.refinement_goals) == 2


def test_every_predictor_starts_with_a_demo(pipeline):
    predictors = pipeline.named_predictors()
    # 8 LM transformation agents (identity needs none) + every question type + suggester/editor per goal + responder
    assert len(predictors) == 8 + len(pipeline.skill.instruction_types) + 2 * 3 + 1
    assert all(predictor.starter_demos and not predictor.demos for _, predictor in predictors)


def test_pipeline_produces_pairs_with_lineage(pipeline, dummy_lm):
    prediction = pipeline(seed=SEED, seed_id="abc", draw=0, random_seed=1, refine_rounds=1)
    assert prediction.samples
    for sample in prediction.samples:
        view = view_of(sample.messages, sample.context)
        assert view.response == UNIVERSAL_ANSWER["answer"]
        assert sample.context is None  # reading comprehension's user turn carries the passage
        assert sample.transformation == prediction.plan.transformation
        assert sample.instruction_type in prediction.plan.instruction_types
        assert sample.refinement_rounds == 1
        if sample.refinement_goals == ["answer_flip"]:
            assert view.passage == UNIVERSAL_ANSWER["revised_passage"]
        else:
            assert view.instruction == UNIVERSAL_ANSWER["revised_question"]
    # identical refined pairs of one seed are reported, not kept twice
    assert len({sample.messages[0]["content"] for sample in prediction.samples}) == len(prediction.samples)
    assert all(f.reason == "duplicate" for f in prediction.failures)
    # a duplicate is caught before its answer is generated
    answered = [call for call in dummy_lm.history if "[[ ## answer ## ]]" in str(call["messages"][-1]["content"])]
    assert prediction.failures and len(answered) == len(prediction.samples)


def test_identity_transformation_makes_no_lm_call(pipeline, dummy_lm):
    result = pipeline.transformation(text=SEED, transformation=IDENTITY)
    assert result.transformed == SEED
    assert dummy_lm.history == []


def test_zero_refinement_rounds_answers_the_generated_instructions(pipeline, dummy_lm):
    prediction = pipeline(seed=SEED, seed_id="abc", refine_rounds=0)
    assert {view_of(s.messages).instruction for s in prediction.samples} <= {
        "How many apple trees did Brook plant in 2020?",
        "Why did the harvest double by 2023?",
    }
    assert all(s.refinement_rounds == 0 for s in prediction.samples)


def test_failed_stages_are_reported_not_raised(pipeline):
    from dspy.utils import DummyLM

    empty = {key: "" for key in UNIVERSAL_ANSWER}
    with dspy.context(lm=DummyLM([empty] * 50), trace=[]):
        prediction = pipeline(seed=SEED, seed_id="x", refine_rounds=1)
        traced = list(dspy.settings.trace)
    assert traced == []  # discarded outputs must not become an optimizer's demonstrations
    assert prediction.samples == []
    assert prediction.failures
    assert {f.reason for f in prediction.failures} <= {"empty_output", "parse_failure"}
    assert prediction.failures[0].stage in {"transformation", "instruction_generation"}


def test_split_instructions_strips_list_markers_and_fragments():
    text = (
        "1. What year was the levee built?\n- Why did floods stop after 1998?\nok\nQ3: What year was the levee built?"
    )
    assert split_instructions(text, limit=5) == ["What year was the levee built?", "Why did floods stop after 1998?"]
    assert split_instructions(text, limit=1) == ["What year was the levee built?"]


def test_a_refinement_that_breaks_the_instruction_is_reported_and_undone(pipeline):
    from dspy.utils import DummyLM

    broken = {**UNIVERSAL_ANSWER, "revised_question": "This is a question that asks:", "revised_passage": "Short."}
    with dspy.context(lm=DummyLM([broken] * 100), trace=[]):
        prediction = pipeline(seed=SEED, seed_id="abc", refine_rounds=1)
        traced = {id(predictor) for predictor, _, _ in dspy.settings.trace}
    predictors = dict(pipeline.named_predictors())
    assert id(predictors["response.respond"]) in traced
    assert not traced & {id(p) for name, p in predictors.items() if name.startswith("refinement.")}
    assert prediction.samples
    assert all(sample.refinement_rounds == 0 for sample in prediction.samples)
    assert {view_of(s.messages).instruction for s in prediction.samples} <= {
        "How many apple trees did Brook plant in 2020?",
        "Why did the harvest double by 2023?",
    }
    invalid = [f for f in prediction.failures if f.reason == "invalid_output"]
    assert invalid and all(f.stage == "refinement" for f in invalid)


def test_docstring_quotes_comment_marks_and_wrapping_quotes_are_not_part_of_an_instruction():
    text = (
        '"""Translate scale_quantity to JavaScript.\n# Write tests for the edge cases of average.\n'
        '"Why does the wing stall?"\n"Hello" is which word of the greeting?'
    )
    assert split_instructions(text, limit=5) == [
        "Translate scale_quantity to JavaScript.",
        "Write tests for the edge cases of average.",
        "Why does the wing stall?",
        '"Hello" is which word of the greeting?',
    ]


def test_lines_that_ask_nothing_are_not_instructions():
    text = "This is a question that asks:\n(B) The wing stalls at high angles of attack.\nWhy does the wing stall?"
    assert split_instructions(text, limit=5) == ["Why does the wing stall?"]


class _FirstInstructionsUnusable:
    """An engine (on the echo engine's answers) whose first `bad` instruction outputs ask nothing, as the embedded
    model's often do, and whose later ones are usable."""

    def __init__(self, bad: int) -> None:
        import threading

        from conftest import FieldEchoEngine

        self.echo, self.bad, self.lock, self.instruction_calls = FieldEchoEngine(), bad, threading.Lock(), []

    def engine(self):
        outer = self

        class Engine(type(self.echo)):
            def answers(self, fields, inputs):
                values = outer.echo.answers(fields, inputs)
                if "questions" in fields:
                    with outer.lock:
                        outer.instruction_calls.append(fields)
                        if len(outer.instruction_calls) <= outer.bad:
                            values["questions"] = "The passage is about a river.\nNo question here"
                return values

        return Engine()


def _traced_predictors(pipeline, trace) -> set[str]:
    names = {id(p): name for name, p in pipeline.named_predictors()}
    return {names[id(predictor)] for predictor, _, _ in trace}


def test_an_unusable_instruction_output_is_sampled_again_with_a_new_seed(pipeline):
    lm_engine = _FirstInstructionsUnusable(bad=2)
    with dspy.context(lm=dspy.LM("echo/retry", engine=lm_engine.engine(), cache=False), trace=[]):
        prediction = pipeline(seed=SEED, seed_id="abc", refine_rounds=0)
        traced = list(dspy.settings.trace)
    assert not [f for f in prediction.failures if f.stage == "instruction_generation"]
    assert prediction.samples
    # two agents, each sampled a second time after its unusable first output
    assert len(lm_engine.instruction_calls) == 4
    assert prediction.resampled == {"empty_output": 2}
    instruction_outputs = [out for p, _, out in traced if "questions" in out]
    assert len(instruction_outputs) == 2 and all("?" in out.questions for out in instruction_outputs)


def test_an_agent_unusable_in_every_sample_fails_with_what_it_wrote(pipeline):
    lm_engine = _FirstInstructionsUnusable(bad=10**6)
    with dspy.context(lm=dspy.LM("echo/retry", engine=lm_engine.engine(), cache=False), trace=[]):
        prediction = pipeline(seed=SEED, seed_id="abc", refine_rounds=0)
        traced = _traced_predictors(pipeline, dspy.settings.trace)
    failures = [f for f in prediction.failures if f.stage == "instruction_generation"]
    assert prediction.samples == [] and len(failures) == len(prediction.plan.instruction_types)
    assert len(lm_engine.instruction_calls) == 3 * len(failures)
    assert prediction.resampled == {"empty_output": 2 * len(failures)}
    for failure in failures:
        assert failure.reason == "empty_output"
        assert "'The passage is about a river. No question here'" in failure.detail
        assert failure.detail.endswith("(after 3 samples)")
    assert not any(name.startswith("instruction_generation.") for name in traced)


def test_each_attempt_samples_with_its_own_seed_and_the_first_is_the_plan_s():
    from agentinstruct.programs.pipeline import attempt_config

    config = {"seed": 12345}
    assert attempt_config(config, 0) is config
    seeds = {attempt_config(config, k)["seed"] for k in range(5)}
    assert len(seeds) == 5 and all(0 <= s < 2**31 for s in seeds)
    assert attempt_config({}, 0) == {} and attempt_config({}, 1)["seed"] != attempt_config({}, 2)["seed"]
    # a responder's retry inside a stage's later sample is a sample of its own
    assert attempt_config(attempt_config(config, 1), 1)["seed"] not in seeds


def test_one_attempt_means_no_second_sample():
    lm_engine = _FirstInstructionsUnusable(bad=10**6)
    single = AgentInstructPipeline(get_skill("reading_comprehension"), attempts=1)
    with dspy.context(lm=dspy.LM("echo/retry", engine=lm_engine.engine(), cache=False)):
        prediction = single(seed=SEED, seed_id="abc", refine_rounds=0)
    assert len(lm_engine.instruction_calls) == len(prediction.plan.instruction_types)
    assert all("after" not in f.detail for f in prediction.failures)


def test_an_instruction_agent_s_worked_example_starts_from_the_transformation_the_source_went_through():
    from dspy.utils import DummyLM

    from agentinstruct.programs.instruction import InstructionGeneration

    skill = get_skill("web_agent")
    page = next(agent for agent in skill.transformations if agent.name != IDENTITY)
    kind = next(k for k in skill.instruction_types if k.eligible_after(page.name))
    flow = InstructionGeneration(
        skill.instruction_types, skill.demo_passage, skill.wording, transformations=skill.transformations
    )
    source, output = skill.wording.source, flow._output
    lm = DummyLM([{output: "Find the opening hours on the page?"}] * 4)
    with dspy.context(lm=lm):
        flow(passage="A page about a museum.", instruction_type=kind.name, transformation=page.name)
        flow(passage="A text about a museum.", instruction_type=kind.name, transformation=IDENTITY)
        flow(passage="A text about a museum.", instruction_type=kind.name)
    prompts = [" ".join(str(m["content"]) for m in entry["messages"]) for entry in lm.history]
    assert page.demo_output.splitlines()[0] in prompts[0] and skill.demo_passage.splitlines()[0] not in prompts[0]
    assert all(skill.demo_passage.splitlines()[0] in prompt for prompt in prompts[1:])
    assert all(kind.demo_instructions.splitlines()[0] in prompt for prompt in prompts)
    # an optimizer's demos still come first, the starter nearest the input
    flow.agents[kind.name].demos = [dspy.Example(**{source: "Set by an optimizer.", output: "Which one is it?"})]
    with dspy.context(lm=lm):
        flow(passage="A page about a museum.", instruction_type=kind.name, transformation=page.name)
    prompt = " ".join(str(m["content"]) for m in lm.history[-1]["messages"])
    assert prompt.index("Set by an optimizer.") < prompt.index(page.demo_output.splitlines()[0])
