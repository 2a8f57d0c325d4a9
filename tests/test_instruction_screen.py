"""Screening instructions (best-of-N with the skill's instruction-only validators) as part of the program, and the
`decoding` optimizer's trial of it."""

import threading

import dspy
from conftest import FieldEchoEngine, assert_corrupt_state_refused

from agentinstruct.metrics import CompositeMetric
from agentinstruct.optimizers import load_program, program_id, save_program
from agentinstruct.optimizers.compile import as_examples
from agentinstruct.optimizers.decoding import DecodingOptimizer
from agentinstruct.programs import AgentInstructPipeline, get_skill, skill_names
from agentinstruct.programs.pipeline import SCREEN_KEY
from agentinstruct.seeds import load_seeds

SKILL = "reading_comprehension"
OFF_TOPIC = "Which Florentine painter finished the Mona Lisa portrait during the Renaissance period?"


class OffTopicEngine(FieldEchoEngine):
    """The echo engine, whose instruction agents also write an off-topic question; the first `all_off_topic` agent
    outputs hold nothing else. Its revised instructions are off topic when `revise_off_topic`."""

    def __init__(self, all_off_topic: int = 0, revise_off_topic: bool = False) -> None:
        self.all_off_topic = all_off_topic
        self.revise_off_topic = revise_off_topic
        self.lock = threading.Lock()
        self.instruction_outputs = 0

    def answers(self, fields, inputs):
        values = super().answers(fields, inputs)
        for field in fields:
            if field.endswith("s") and field != "suggestions":
                with self.lock:
                    self.instruction_outputs += 1
                    alone = self.instruction_outputs <= self.all_off_topic
                values[field] = OFF_TOPIC if alone else f"{OFF_TOPIC}\n{values[field]}"
            if field == "revised_question" and self.revise_off_topic:
                values[field] = OFF_TOPIC
        return values


def _run(text_seeds, engine, screen: bool, refine_rounds: int = 0):
    seed = load_seeds(str(text_seeds)).seeds[0]
    pipeline = AgentInstructPipeline(get_skill(SKILL))
    pipeline.screen_instructions = screen
    with dspy.context(lm=dspy.LM("echo/fields", engine=engine, cache=False)):
        return pipeline(seed=seed.text, seed_id=seed.seed_id, refine_rounds=refine_rounds)


def _questions(prediction) -> list[str]:
    return [sample.messages[0]["content"].rsplit("\n\n", 1)[-1] for sample in prediction.samples]


def test_every_instruction_only_validator_ignores_the_response():
    """What the screen runs before any answer exists must judge a pair the same whatever its answer is."""
    from agentinstruct.metrics.text import PairView

    screened = 0
    for name in skill_names():
        skill = get_skill(name)
        checks = [v for v in skill.validators if v.instruction_only]
        instructions = [line for kind in skill.instruction_types for line in kind.demo_instructions.splitlines()]
        instructions += [OFF_TOPIC, "- note to the writer: add a question here", "What is {name}?"]
        responses = ["", "Yes.", *(answer for _, answer in skill.response_demos)]
        for validator in checks:
            for instruction in instructions:
                verdicts = {validator.check(PairView(skill.demo_passage, instruction, r)) for r in responses}
                assert len(verdicts) == 1, (name, validator.name, instruction, verdicts)
                screened += 1
    assert screened > 0 and {v.name for v in get_skill(SKILL).validators if v.instruction_only} >= {
        "malformed_instruction",
        "off_topic",
    }


def test_a_screening_program_drops_off_topic_instructions_and_a_plain_one_answers_them(text_seeds):
    metric = CompositeMetric(skill=SKILL)
    plain = _run(text_seeds, OffTopicEngine(), screen=False)
    assert OFF_TOPIC in _questions(plain)
    metric(dspy.Example(seed_id="s"), plain)
    assert any("off_topic" in s.validator_failures for s in metric.last_details[0])
    screened = _run(text_seeds, OffTopicEngine(), screen=True)
    questions = _questions(screened)
    assert questions and OFF_TOPIC not in questions
    # every dropped instruction is counted, none silently
    assert screened.resampled["screened_instruction"] == len(screened.plan.instruction_types)
    metric(dspy.Example(seed_id="s"), screened)
    assert metric.last_details[0] and not any("off_topic" in s.validator_failures for s in metric.last_details[0])


def test_an_agent_output_whose_every_instruction_fails_the_screen_is_sampled_again(text_seeds):
    engine = OffTopicEngine(all_off_topic=1)
    prediction = _run(text_seeds, engine, screen=True)
    assert prediction.resampled["invalid_output"] == 1
    assert not [f for f in prediction.failures if f.stage == "instruction_generation"]
    assert prediction.samples and OFF_TOPIC not in _questions(prediction)


def test_a_refinement_whose_edit_fails_the_screen_is_undone(text_seeds):
    prediction = _run(text_seeds, OffTopicEngine(revise_off_topic=True), screen=True, refine_rounds=1)
    undone = [f for f in prediction.failures if f.stage == "refinement"]
    assert undone and all(f.reason == "invalid_output" and f.detail.startswith("off_topic") for f in undone)
    assert prediction.samples and OFF_TOPIC not in _questions(prediction)
    kept = _run(text_seeds, OffTopicEngine(revise_off_topic=True), screen=False, refine_rounds=1)
    assert OFF_TOPIC in _questions(kept)


def test_the_screen_is_saved_with_the_program_and_changes_its_id(tmp_path):
    skill = get_skill(SKILL)
    plain = AgentInstructPipeline(skill)
    assert SCREEN_KEY not in plain.dump_state()
    screening = AgentInstructPipeline(skill)
    screening.screen_instructions = True
    assert program_id(screening) != program_id(plain)
    path = save_program(screening, tmp_path / "p.json")
    assert load_program(AgentInstructPipeline(skill), path).screen_instructions is True
    assert_corrupt_state_refused(tmp_path, SKILL, SCREEN_KEY, "yes", SCREEN_KEY)


def test_the_decoding_optimizer_tries_the_screen_first_and_keeps_it_when_it_makes_more_passing_pairs(text_seeds):
    seeds = load_seeds(str(text_seeds)).seeds
    student = AgentInstructPipeline(get_skill(SKILL))
    optimizer = DecodingOptimizer(CompositeMetric(skill=SKILL), draws=1, temperatures=())
    with dspy.context(lm=dspy.LM("echo/fields", engine=OffTopicEngine(all_off_topic=2), cache=False)):
        compiled = optimizer.compile(student, trainset=as_examples(seeds, 0, 1))
    start, screen = optimizer.table
    assert (screen["stage"], screen["screen_instructions"], screen["kept"]) == ("instruction_generation", True, True)
    assert screen["train_passed"] > start["train_passed"] and screen["pass_rate"] > start["pass_rate"]
    assert compiled.screen_instructions and not student.screen_instructions
