"""One contract every registered skill keeps: its data file loads and is complete, its validators exist and judge, and
the generic pipeline runs it end to end into records of the shape its user turn promises."""

import pytest
from conftest import TEXT_SEEDS

from agentinstruct.metrics import PairView, validate
from agentinstruct.optimizers import program_id
from agentinstruct.programs import AgentInstructPipeline, get_skill, skill_names
from agentinstruct.signatures.agents import IDENTITY
from agentinstruct.signatures.skill_data import SkillDataError, available_skills, data_path, load_skill_data

TEXT_SKILLS = [
    "reading_comprehension",
    "text_modification",
    "open_domain_qa",
    "multiple_choice",
    "brain_teaser",
    "analytical_reasoning",
    "fermi",
    "few_shot_reasoning",
    "data_to_text",
    "text_extraction",
    "text_classification",
    "creative_content",
]


def test_every_text_skill_is_registered():
    assert set(TEXT_SKILLS) <= set(skill_names())
    assert set(skill_names()) <= set(available_skills())


@pytest.mark.parametrize("name", skill_names())
def test_the_skill_data_is_complete(name):
    skill = get_skill(name)
    assert skill.data.digest and skill.description and skill.demo_passage
    assert len(skill.transformations) >= 3
    assert len(skill.instruction_types) >= (43 if name == "reading_comprehension" else 10)
    assert len(skill.refinement_goals) >= 2
    assert skill.response_demos and skill.response_instruction
    for agent in skill.transformations:
        assert agent.name == IDENTITY or agent.demo_output.strip() != skill.demo_passage.strip()
    for kind in skill.instruction_types:
        assert kind.demo_instructions.strip() and "Answer format: TODO" not in kind.instruction
    for transformation in skill.transformations:
        assert skill.eligible_types(transformation.name), f"nothing is eligible after {transformation.name}"


@pytest.mark.parametrize("name", skill_names())
def test_the_skill_has_its_own_validators_and_they_judge(name):
    skill = get_skill(name)
    assert skill.validators, f"metrics/skills/{name}.py has no VALIDATORS"
    names = [validator.name for validator in skill.validators]
    assert len(names) == len(set(names))
    garbage = PairView(skill.demo_passage, "Tell.", "the the the the the the the the the the the the the")
    assert validate(garbage, name)


@pytest.mark.parametrize("name", TEXT_SKILLS)  # single-turn; each agentic skill's own test runs its conversations
def test_the_generic_pipeline_runs_the_skill(name, echo_lm):
    skill = get_skill(name)
    pipeline = AgentInstructPipeline(skill)
    produced = []
    for draw in range(6):
        prediction = pipeline(seed=TEXT_SEEDS["rivers"], seed_id="rivers", draw=draw)
        produced += prediction.samples
        assert all(failure.reason for failure in prediction.failures)
    assert produced, "six draws produced no sample"
    sample = produced[0]
    assert sample.instruction_type in {kind.name for kind in skill.instruction_types}
    assert [m["role"] for m in sample.messages] == ["user", "assistant"]
    # The source is in the user turn, or else in the sample's context: the view finds it either way.
    assert (sample.context is None) == skill.user_turn.carries_source
    view = skill.view(sample.messages, sample.context)
    assert view.passage and view.instruction and view.response
    assert skill.user_turn.build(view.passage, view.instruction) == sample.messages[0]["content"]


def test_a_data_file_that_breaks_the_schema_is_refused_with_its_place(tmp_path):
    source = data_path("reading_comprehension").read_text()
    broken = tmp_path / "reading_comprehension.yaml"
    broken.write_text(source.replace("eligible_after: all", "eligible_after: [no_such_transformation]", 1))
    with pytest.raises(SkillDataError, match="eligible_after names no transformation: no_such_transformation"):
        load_skill_data(broken)
    typo = tmp_path / "reading_comprehension.yaml"
    typo.write_text(source.replace("demo_instructions:", "demo_instruction:", 1))
    load_skill_data.cache_clear()
    with pytest.raises(SkillDataError, match="missing demo_instructions"):
        load_skill_data(typo)


def test_editing_a_prompt_changes_the_program_id(tmp_path, monkeypatch):
    import agentinstruct.signatures.skill_data as skill_data
    from agentinstruct.programs import skills

    before = program_id(AgentInstructPipeline(get_skill("reading_comprehension")))
    folder = tmp_path / "skills"
    folder.mkdir()
    for name in TEXT_SKILLS:
        (folder / f"{name}.yaml").write_text(data_path(name).read_text())
    edited = folder / "reading_comprehension.yaml"
    edited.write_text(edited.read_text().replace("Rewrite the text as", "Rewrite the whole text as", 1))
    monkeypatch.setattr(skill_data, "SKILLS_DIR", folder)
    skills.get_skill.cache_clear()
    try:
        after = program_id(AgentInstructPipeline(skills.get_skill("reading_comprehension")))
    finally:
        skills.get_skill.cache_clear()
    assert after != before
