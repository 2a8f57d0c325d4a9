import dspy
import pytest
from conftest import UNIVERSAL_ANSWER, rc_sample
from dspy.utils import DummyLM

from agentinstruct.lm import build_lm
from agentinstruct.metrics import CompositeMetric, Embedder, Judge, Judgement, PairView, Scorer
from agentinstruct.programs import AgentInstructPipeline, get_skill

VIEW = PairView(
    "The Orin bridge opened in 1931. It is 420 meters long.",
    "How long is the Orin bridge?",
    "It is 420 meters long, as the passage says.",
)
RATINGS = {
    "relevance": 5,
    "answerability": 4,
    "clarity": 5,
    "difficulty": 2,
    "helpfulness": 4,
    "rationale": "Easy lookup of one stated number.",
}
SEEDS = [
    "The river Alder floods every spring. In 1998 the town of Fenwick built a 3 km levee, and floods stopped.",
    "The Vatna glacier retreated 300 meters between 1990 and 2020, and a new lake formed at its edge.",
    "The Kesh desert receives 80 mm of rain a year; its dunes move 15 meters a year with the eastern wind.",
]


def test_judge_parses_ratings_with_dummy_lm():
    with dspy.context(lm=DummyLM([RATINGS])):
        judgement = Judge()(VIEW)
    assert judgement == Judgement(5, 4, 5, 2, 4, "Easy lookup of one stated number.")
    assert judgement.overall == pytest.approx(4.0)


def test_judge_parse_failures_are_counted_not_hidden():
    scorer = Scorer(judge_lm=DummyLM([{**RATINGS, "clarity": 9}, {**RATINGS, "relevance": "great"}]), min_quality=None)
    first, second = scorer.assess(VIEW), scorer.assess(VIEW)
    assert first.judgement is None and first.judge_error and second.judgement is None
    assert (scorer.judge_calls, scorer.judge_parse_failures) == (2, 2)
    assert first.quality == 1.0  # validators passed; an unparseable judge does not zero the pair


@pytest.mark.slow
def test_judge_runs_on_the_embedded_model():
    judge_lm = build_lm(temperature=0.0, max_tokens=24, cache=False)
    with dspy.context(lm=judge_lm):
        judgement = Judge()(VIEW)  # greedy decoding: deterministic, so a parse failure here is a regression
    assert all(1 <= getattr(judgement, name) <= 5 for name in ("relevance", "answerability", "clarity"))


def _examples():
    return [dspy.Example(seed=text, seed_id=f"s{i}").with_inputs("seed", "seed_id") for i, text in enumerate(SEEDS)]


@pytest.mark.slow
def test_composite_metric_inside_dspy_evaluate_and_bootstrap():
    metric = CompositeMetric(skill="reading_comprehension", embedder=Embedder())
    pipeline = AgentInstructPipeline(get_skill("reading_comprehension"))
    lm = DummyLM([UNIVERSAL_ANSWER] * 2000)
    with dspy.context(lm=lm):
        result = dspy.Evaluate(devset=_examples(), metric=metric, num_threads=1, display_progress=False)(pipeline)
        assert 0 < result.score <= 100
        # GEPA's form: a score and feedback naming what passed or failed
        prediction = pipeline(**_examples()[0].inputs())
        feedback = metric.feedback(_examples()[0], prediction, None, "response.respond", None)
        assert 0 <= feedback.score <= 1 and "validators" in feedback.feedback
        # bootstrapping calls metric(example, pred, trace) and wants a strict bool
        assert metric(_examples()[0], prediction, trace=[]) in (True, False)
        compiled = dspy.BootstrapFewShot(
            metric=metric, max_bootstrapped_demos=1, max_labeled_demos=0, max_rounds=1
        ).compile(pipeline.deepcopy(), trainset=_examples())
    assert compiled._compiled
    assert any(predictor.demos for _, predictor in compiled.named_predictors())


def test_composite_metric_scores_zero_without_pairs_and_penalises_failed_validators():
    metric = CompositeMetric(skill="reading_comprehension")
    empty = dspy.Prediction(samples=[], failures=[])
    assert metric(_examples()[0], empty) == 0.0
    good = dspy.Prediction(
        samples=[rc_sample(VIEW.passage, VIEW.instruction, VIEW.response, "literal_short_answer", "identity")],
        failures=[],
    )
    bad = dspy.Prediction(
        samples=[rc_sample(VIEW.passage, "The bridge, then.", "Yes.", "literal_short_answer", "identity")], failures=[]
    )
    assert metric(_examples()[0], good) == 1.0
    assert metric(_examples()[1], bad) == 0.0
    assert "no_question" in metric.feedback(_examples()[1], bad).feedback


def test_bootstrap_success_needs_every_pair_to_pass():
    metric = CompositeMetric(skill="reading_comprehension")
    good = rc_sample(VIEW.passage, VIEW.instruction, VIEW.response, "literal_short_answer", "identity")
    bad = rc_sample(VIEW.passage, "The bridge, then.", "Yes.", "literal_short_answer", "identity")
    mostly_good = dspy.Prediction(samples=[good, good, good, bad], failures=[])
    assert metric(_examples()[0], mostly_good) == 0.75  # above the 0.7 threshold as a float...
    assert metric(_examples()[0], mostly_good, trace=[]) is False  # ...but the failing pair's calls would be demos
    grounded = rc_sample(
        VIEW.passage, VIEW.instruction, "It is 420 meters long; it opened in 1931.", "literal_short_answer", "identity"
    )
    assert metric(_examples()[0], dspy.Prediction(samples=[grounded], failures=[]), trace=[]) is True


def test_a_borderline_pair_is_not_a_demonstration():
    from agentinstruct.metrics import validate

    # 4 of the answer's 6 new content words occur in the passage: grounded enough to keep, too loosely to teach
    loose = PairView(VIEW.passage, VIEW.instruction, "Engineers opened it in 1931, spanning 420 meters.")
    assert validate(loose, "reading_comprehension") == {}
    assert "unsupported_statement" in validate(loose, "reading_comprehension", for_demo=True)
    metric = CompositeMetric(skill="reading_comprehension")
    prediction = dspy.Prediction(
        samples=[rc_sample(loose.passage, loose.instruction, loose.response, "literal_short_answer", "identity")],
        failures=[],
    )
    assert metric(_examples()[0], prediction) == 1.0
    assert metric(_examples()[0], prediction, trace=[]) is False


@pytest.mark.slow
def test_model_check_flags_an_answer_that_ignores_the_question_on_the_embedded_model():
    from agentinstruct.lm import shared_embedded_engine
    from agentinstruct.metrics.lm_checks import LMChecks

    checks = LMChecks(shared_embedded_engine())
    passage = (
        "The Orin bridge opened in 1931. It is 420 meters long and carried 9,000 cars a day by 1960. The county "
        "closed it for repairs in 1978, when engineers found rust in two of its steel cables."
    )
    question = "Why did the county close the bridge in 1978?"
    answered = PairView(passage, question, "Because engineers found rust in two of its steel cables.")
    ignored = PairView(passage, question, "The Orin bridge opened in 1931 and is 420 meters long.")
    assert checks.question_gain(answered) > checks.question_gain(ignored)
    assert checks.check(answered) == {}
    assert set(checks.check(ignored)) == {"off_question"}
    assert checks.check(PairView(passage, question, "The passage does not say why.")) == {}
