"""The retrieval-augmented generation skill: its validators on hand-written records (each rejection with its reason),
the retriever (the bundled embedding model and faiss) that never returns the unit's own seed, the responder end to end
on DummyLM, and the plumbing that gives every unit the job's other seeds: `generate` through the CLI, and compile."""

import random

import datasets
import dspy
import pytest
from conftest import TEXT_SEEDS, FieldEchoEngine
from dspy.utils import DummyLM

from agentinstruct.cli import main
from agentinstruct.errors import UserError
from agentinstruct.metrics.skills.rag import citations, shown_passages, supports
from agentinstruct.metrics.text import PairView, retrieved_passages, view_of
from agentinstruct.metrics.validators import validate
from agentinstruct.programs import AgentInstructPipeline, get_skill
from agentinstruct.programs.rag import RagResponder, cite, clean_question, demo_numbered, unanswerable_answer
from agentinstruct.programs.retrieval import Retriever, job_corpus, passages_of
from agentinstruct.seeds import Seed, load_seeds, seed_id_of
from agentinstruct.signatures.skill_data import data_path, load_skill_data

SKILL = "rag"
FERRY = (
    "The Skerra Sound ferry links the harbour of Ardlow with Port Annis on the island of Skerra. The crossing is 11 km "
    "long and takes 50 minutes. Since 2009 it has been worked by the MV Lintie, which carries up to 250 passengers "
    "and 38 cars. An adult return ticket costs 9 pounds 40, and island residents get a 40 per cent discount on car "
    "fares."
)
GLACIER, DESERT = TEXT_SEEDS["glaciers"], TEXT_SEEDS["deserts"]
QUESTION = "How long does the Skerra Sound ferry crossing take?"


def record(passages: list[str], question: str, answer: str, context: str = FERRY) -> PairView:
    """A rag record's view as `generate` writes it: numbered passages then the question; the source in `context`."""
    user = "\n\n".join(f"[{n}] {text}" for n, text in enumerate(passages, start=1)) + f"\n\n{question}"
    messages = [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    return view_of(messages, context)


def test_the_data_file_loads_and_the_skill_retrieves():
    data = load_skill_data(data_path(SKILL))
    assert len(data.transformations) >= 3 and len(data.instruction_types) >= 10 and len(data.refinement_goals) >= 2
    skill = get_skill(SKILL)
    assert skill.behaviour.uses_corpus and not skill.user_turn.carries_source
    assert {"unanswerable", "multi_hop"} <= {kind.name for kind in skill.instruction_types}


def test_the_responder_demos_pass_the_validators():
    skill = get_skill(SKILL)
    paragraphs = [line for line in skill.demo_passage.splitlines() if line.strip()]
    assert len(paragraphs) == 2 and demo_numbered(skill.demo_passage).startswith(f"[2] {paragraphs[0]}\n\n[4] ")
    shown = [GLACIER, paragraphs[0], DESERT, paragraphs[1]]  # as the demo numbers them: [2] and [4]
    for question, answer in skill.response_demos:
        failures = validate(record(shown, question, answer, skill.demo_passage), SKILL)
        failures.pop("copies_demo", None)  # the demos are the worked example
        failures.pop("repeats_demo", None)
        assert failures == {}, (question, failures)


def test_the_view_holds_the_question_and_the_validators_read_the_passages():
    view = record([GLACIER, FERRY, DESERT], QUESTION, "The crossing takes 50 minutes [2].")
    assert view.instruction == QUESTION and view.passage == FERRY
    assert shown_passages(view) == ([GLACIER, FERRY, DESERT], {2})
    assert retrieved_passages("Just a question?") is None
    assert retrieved_passages("[2] not numbered from one\n\nQuestion?") is None
    # A record without numbered passages keeps its whole user turn as the instruction.
    assert view_of([{"role": "user", "content": "A\n\nB?"}], "ctx").instruction == "A\n\nB?"


GOOD = [
    ([GLACIER, FERRY, DESERT], QUESTION, "The Skerra Sound ferry crossing takes 50 minutes [2]."),
    (
        [FERRY, DESERT],
        "How many passengers can the MV Lintie carry?",
        "The MV Lintie carries up to 250 passengers [1].",
    ),
    (
        [GLACIER, *passages_of(FERRY, 200), DESERT],
        "How long is the Skerra Sound ferry crossing, and how many cars can the MV Lintie carry?",
        "The crossing is 11 km long [2]. The MV Lintie carries up to 38 cars [3].",
    ),
    ([GLACIER, DESERT], QUESTION, "The passages do not contain the answer: none of them mentions the Skerra Sound."),
]


@pytest.mark.parametrize(("passages", "question", "answer"), GOOD)
def test_good_records_pass_every_validator(passages, question, answer):
    assert validate(record(passages, question, answer), SKILL) == {}


BAD = [
    (
        "unsupported_citation",
        [GLACIER, FERRY, DESERT],
        "The Skerra Sound ferry crossing takes 50 minutes [3].",
        "passage [3] does not support",
    ),
    (
        "unsupported_citation",
        [GLACIER, FERRY, DESERT],
        "The Vatna glacier retreated 300 meters between 1990 and 2020 [1].",
        "cites only [1], retrieved from other sources",
    ),
    (
        "citation_out_of_range",
        [GLACIER, FERRY],
        "The crossing takes 50 minutes [3].",
        "cites [3], but there are only 2",
    ),
    ("uncited", [GLACIER, FERRY], "The crossing takes 50 minutes.", "cites no passage"),
    ("uncited", [GLACIER, FERRY], "The passages do not contain the answer.", "passage [2] holds the answer, yet"),
    ("unanswerable_answered", [GLACIER, DESERT], "The crossing takes 50 minutes.", "does not say that the passages"),
    (
        "unanswerable_answered",
        [GLACIER, DESERT],
        "The passages do not contain the answer [1].",
        "no passage holds the answer, yet the answer cites [1]",
    ),
    ("invented_details", [GLACIER, FERRY], "The crossing takes 50 minutes with Captain Morven [2].", "morven"),
]


@pytest.mark.parametrize(("validator", "passages", "answer", "reason"), BAD)
def test_each_validator_rejects_its_bad_record(validator, passages, answer, reason):
    failures = validate(record(passages, QUESTION, answer), SKILL)
    assert validator in failures, failures
    assert reason in failures[validator].lower() if reason.islower() else reason in failures[validator]


def test_a_question_without_a_referent_and_a_passage_carrying_the_demo_are_rejected():
    failures = validate(
        record([GLACIER, FERRY], "How long does this crossing take?", "It takes 50 minutes [2]."), SKILL
    )
    assert "'this crossing' without naming it" in failures["unnamed_subject"]
    demo_sentence = get_skill(SKILL).demo_passage.split(". ")[0] + "."
    leaked = f"{FERRY} {demo_sentence}"
    failures = validate(record([GLACIER, leaked], QUESTION, "The crossing takes 50 minutes [2].", leaked), SKILL)
    assert "repeats the skill's worked example" in failures["repeats_demo"]


def test_an_unanswerable_item_whose_distractor_holds_the_answer_is_rejected():
    twin = FERRY.replace("The Skerra Sound ferry links", "Every day the Skerra Sound ferry crossing links")
    failures = validate(record([GLACIER, twin[:200]], QUESTION, "The passages do not contain the answer."), SKILL)
    # The twin passage is not the record's source, yet it covers the question: the item may not be unanswerable.
    assert "may: it covers the question" in failures.get("unanswerable_answered", ""), failures


def test_a_record_without_passages_is_rejected():
    assert "no_passages" in validate(PairView(FERRY, QUESTION, "50 minutes [1]."), SKILL)


def test_citations_and_support():
    assert citations("A [2]. B [1, 3][4].") == [2, 1, 3, 4]
    assert supports(FERRY, "The crossing takes 50 minutes.") and not supports(GLACIER, "The crossing takes 50 minutes.")
    assert supports(GLACIER, "Yes.")  # nothing to check


def test_cite_keeps_good_citations_and_repairs_the_rest():
    held = {2: FERRY, 4: "The operator plans to add a second vessel in 2027."}
    assert cite("The crossing takes 50 minutes [2].", held) == "The crossing takes 50 minutes [2]."
    assert cite("The crossing takes 50 minutes.", held) == "The crossing takes 50 minutes [2]."
    assert cite("The crossing takes 50 minutes [3].", held) == "The crossing takes 50 minutes [2]."
    two = cite("The crossing takes 50 minutes. A second vessel comes in 2027.", held)
    assert two == "The crossing takes 50 minutes [2]. A second vessel comes in 2027 [4]."
    assert cite("Bananas are yellow.", held) == "Bananas are yellow."  # nothing supports it: the validators say so
    # What a small model adds after answering (invented, a heading, a new question) is cut.
    rambling = "Answer: The crossing takes 50 minutes [2]. It was built by Romans in 1200.\n\n## Fares\nWhy? [2]"
    assert cite(rambling, held) == "The crossing takes 50 minutes [2]."
    assert cite("- The crossing takes 50 minutes\n- A second vessel comes in 2027", held) == (
        "- The crossing takes 50 minutes [2]\n- A second vessel comes in 2027 [4]"
    )


def test_questions_are_asked_of_the_passages_and_unanswerable_answers_name_what_is_missing():
    assert clean_question("What does the passage say about\nthe ferry?") == "What do the passages say about the ferry?"
    assert clean_question("# Question 3: How long is the crossing?") == "How long is the crossing?"
    answer = unanswerable_answer(QUESTION, [GLACIER, DESERT], random.Random(0))
    assert "Skerra Sound" in answer and not citations(answer)


@pytest.fixture(scope="module")
def embedder():
    from agentinstruct.metrics import Embedder

    return Embedder()  # the bundled all-MiniLM-L6-v2, offline


@pytest.fixture(scope="module")
def corpus():
    return [[seed_id_of(text), text] for text in (FERRY, GLACIER, DESERT, TEXT_SEEDS["rivers"])]


def test_the_retriever_returns_other_seeds_passages_never_the_seeds_own(embedder, corpus):
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return embedder.embed(texts)

    retriever = Retriever(corpus, embed, passage_chars=200)
    ferry_id, glacier_id = corpus[0][0], corpus[1][0]
    assert sum(p.seed_id == ferry_id for p in retriever.passages) >= 2  # the ferry text is cut into passages
    found = retriever.search("When did the glacier retreat and who measures its edge?", 3, exclude_seed=ferry_id)
    assert len(found) == 3 and all(p.seed_id != ferry_id for p in found)
    assert found[0].seed_id == glacier_id and found[0].score >= found[-1].score
    own = retriever.search(QUESTION, 50, exclude_seed=ferry_id)
    assert own and all(p.seed_id != ferry_id for p in own)
    assert len(own) == len(retriever) - sum(p.seed_id == ferry_id for p in retriever.passages)
    assert not retriever.search("glacier", 3, exclude_seed=ferry_id, avoid=[GLACIER]) or all(
        p.seed_id != glacier_id for p in retriever.search("glacier", 3, exclude_seed=ferry_id, avoid=[GLACIER])
    )
    # The corpus was embedded once (the first search); every later search embeds only its query.
    assert calls[0] == len(retriever) and calls[1:] == [1] * (len(calls) - 1)


def test_a_job_needs_two_seeds_to_retrieve_from():
    one = [Seed(seed_id_of(FERRY), FERRY, "ferry.txt")]
    with pytest.raises(UserError, match="needs at least 2 seeds"):
        job_corpus(get_skill(SKILL), one)
    assert job_corpus(get_skill("reading_comprehension"), one) is None
    two = [*one, Seed(seed_id_of(GLACIER), GLACIER, "glacier.txt")]
    assert job_corpus(get_skill(SKILL), two) == [[s.seed_id, s.text] for s in two]


ANSWERS = {
    "transformed": FERRY,
    "questions": f"{QUESTION}\nWhich ship works the Skerra Sound ferry?",
    "suggestions": "- Name the ferry in full.",
    "revised_question": QUESTION,
    "answer": "The Skerra Sound ferry crossing takes 50 minutes [9].",
}


def test_the_responder_end_to_end_with_dummy_lm(embedder, corpus):
    skill = get_skill(SKILL)
    retriever = Retriever(corpus, embedder.embed)
    ferry_id = corpus[0][0]
    others = [text for seed_id, text in corpus if seed_id != ferry_id]
    responder = RagResponder(skill)
    with dspy.context(lm=DummyLM([ANSWERS] * 20)):
        answered = responder(
            passage=FERRY,
            instruction=QUESTION,
            config={"seed": 3},
            retriever=retriever,
            seed_id=ferry_id,
            instruction_type="numeric_lookup",
        )
        hop = responder(
            passage=FERRY,
            instruction=QUESTION,
            config={"seed": 3},
            retriever=retriever,
            seed_id=ferry_id,
            instruction_type="multi_hop",
        )
        withheld = responder(
            passage=FERRY,
            instruction=QUESTION,
            config={"seed": 3},
            retriever=retriever,
            seed_id=ferry_id,
            instruction_type="unanswerable",
        )
    user, assistant = answered.messages
    passages, question = retrieved_passages(user["content"])
    assert question == QUESTION and len(passages) == 4
    relevant = [n for n, text in enumerate(passages, start=1) if text in FERRY]
    assert len(relevant) == 1
    assert all(any(text in other for other in others) for n, text in enumerate(passages, start=1) if n not in relevant)
    # The model cited [9] (no such passage): the answer cites the passage holding it instead.
    assert (
        assistant["content"] == answered.answer == f"The Skerra Sound ferry crossing takes 50 minutes [{relevant[0]}]."
    )
    assert validate(view_of(answered.messages, FERRY), SKILL) == {}

    hop_passages = retrieved_passages(hop.messages[0]["content"])[0]
    assert sum(text in FERRY for text in hop_passages) == 2  # the one passage shown as two

    withheld_passages = retrieved_passages(withheld.messages[0]["content"])[0]
    assert not any(text in FERRY for text in withheld_passages) and len(withheld_passages) >= 3
    assert not citations(withheld.answer) and "do not contain" in withheld.answer
    assert validate(view_of(withheld.messages, FERRY), SKILL) == {}


def test_the_pipeline_passes_the_corpus_and_fails_clearly_without_one(embedder, corpus):
    skill = get_skill(SKILL)
    pipeline = AgentInstructPipeline(skill)
    with dspy.context(lm=DummyLM([ANSWERS] * 200)):
        bare = pipeline(seed=FERRY, seed_id=corpus[0][0])
        assert not bare.samples and {f.stage for f in bare.failures} == {"response"}
        errors = [f for f in bare.failures if f.reason != "duplicate"]
        assert errors and all(f.reason == "error" and "got no corpus" in f.detail for f in errors)
        pipeline.corpus = Retriever(corpus, embedder.embed)
        # Copies (optimizers' candidates) share the corpus.
        assert pipeline.deepcopy().corpus is pipeline.corpus and pipeline.reset_copy().corpus is pipeline.corpus
        samples = [s for draw in range(3) for s in pipeline(seed=FERRY, seed_id=corpus[0][0], draw=draw).samples]
    assert samples
    for sample in samples:
        assert sample.context and [m["role"] for m in sample.messages] == ["user", "assistant"]
        passages = retrieved_passages(sample.messages[0]["content"])[0]
        assert any(text in GLACIER or text in DESERT or text in TEXT_SEEDS["rivers"] for text in passages)


@pytest.fixture
def echo_everywhere(monkeypatch):
    lm = dspy.LM("echo/fields", engine=FieldEchoEngine(), cache=False)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.runner.check_lms", lambda *args, **kwargs: None)
    monkeypatch.setattr("agentinstruct.lm.check_lm", lambda *args, **kwargs: None)
    return lm


def _generate(out, seeds, *extra):
    command = ["generate", "--skill", SKILL, "--seeds", str(seeds), "--out", str(out), "--lm", "openai/echo"]
    return main([*command, "--api-base", "http://127.0.0.1:9/v1", "--no-model-checks", "--quiet", *extra])


def test_generate_gives_every_unit_the_other_seeds(echo_everywhere, text_seeds, tmp_path, mlflow_uri):
    out = tmp_path / "out"
    assert _generate(out, text_seeds, "--n", "3", "--min-quality", "0") == 0
    rows = datasets.load_from_disk(str(out))["train"]
    assert len(rows) == 3 and set(rows["skill"]) == {SKILL}
    texts = {seed.seed_id: seed.text for seed in load_seeds(text_seeds).seeds}
    flat = {seed_id: " ".join(text.split()) for seed_id, text in texts.items()}
    for row in rows:
        passages, question = retrieved_passages(row["messages"][0]["content"])
        assert question and row["context"]
        context = " ".join(row["context"].split())
        distractors = [" ".join(p.split()) for p in passages if " ".join(p.split()) not in context]
        assert distractors, "no passage retrieved from another seed"
        for passage in distractors:
            origins = {seed_id for seed_id, text in flat.items() if passage in text}
            assert origins and row["seed_id"] not in origins, "a distractor from the record's own seed"
        assert view_of(row["messages"], row["context"]).instruction == question


def test_generate_with_one_seed_fails_with_one_line(echo_everywhere, tmp_path, mlflow_uri, capsys):
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "ferry.txt").write_text(FERRY)
    assert _generate(tmp_path / "out", folder, "--n", "1") == 2
    error = capsys.readouterr().err
    assert "needs at least 2 seeds" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists()


def test_the_unit_spec_carries_the_corpus_as_plain_data():
    import json

    from agentinstruct.lm import LMSpec
    from agentinstruct.units import UnitSpec

    spec = UnitSpec(SKILL, LMSpec("openai/x"), 0, 1, {}, "model", 1, corpus=[["a", "text a"], ["b", "text b"]])
    assert UnitSpec.from_dict(json.loads(json.dumps(spec.as_dict()))) == spec


def test_compile_gives_the_pipeline_the_train_seeds(echo_everywhere, text_seeds, tmp_path, mlflow_uri, monkeypatch):
    from agentinstruct.optimizers import CompileConfig, compile_program, program_metadata

    searched = []
    search = Retriever.search

    def spying_search(self, query, k, exclude_seed, avoid=()):
        found = search(self, query, k, exclude_seed, avoid)
        searched.append(({p.seed_id for p in self.passages}, exclude_seed, [p.seed_id for p in found]))
        return found

    monkeypatch.setattr(Retriever, "search", spying_search)
    config = CompileConfig(
        skill=SKILL,
        seeds=str(text_seeds),
        optimizer="bootstrap",
        out=str(tmp_path / "program.json"),
        val_fraction=0.3,
        budget=200,
        model_checks=False,
    )
    result = compile_program(config, show_progress=False)
    assert result.baseline.pairs > 0 and result.compiled.pairs > 0
    heldout = set(program_metadata(result.program_path)["heldout_seed_ids"])
    assert searched
    for corpus_ids, exclude, found in searched:
        assert not corpus_ids & heldout  # distractors come from the train seeds only
        assert found and exclude not in found

    two = tmp_path / "two"
    two.mkdir()
    for name in ("rivers", "glaciers"):
        (two / f"{name}.txt").write_text(TEXT_SEEDS[name])
    with pytest.raises(UserError, match="needs at least 2 seeds"):
        compile_program(
            CompileConfig(**{**config.__dict__, "seeds": str(two), "out": str(tmp_path / "p2.json")}),
            show_progress=False,
        )
