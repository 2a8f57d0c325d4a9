import numpy as np
import pytest

from agentinstruct.metrics import (
    PairView,
    cluster_count,
    degeneracy,
    distinct_n,
    entropy,
    mean_pairwise_distance,
    validate,
    vendi_score,
    view_of,
)

PASSAGE = "The Orin bridge opened in 1931. It is 420 meters long and carried 9,000 cars a day by 1960."


def test_vendi_of_identical_items_is_one_and_of_orthogonal_items_is_n():
    same = np.tile(np.array([[0.6, 0.8, 0.0]], dtype=np.float32), (10, 1))
    assert vendi_score(same) == pytest.approx(1.0, abs=1e-6)
    assert vendi_score(np.eye(7, dtype=np.float32)) == pytest.approx(7.0, abs=1e-6)
    assert vendi_score(np.eye(7, 32, dtype=np.float32)) == pytest.approx(7.0, abs=1e-6)


def test_mean_pairwise_distance_and_clusters():
    same = np.tile(np.array([[1.0, 0.0]], dtype=np.float32), (4, 1))
    assert mean_pairwise_distance(same) == pytest.approx(0.0, abs=1e-6)
    assert mean_pairwise_distance(np.eye(4, dtype=np.float32)) == pytest.approx(1.0)
    assert cluster_count(same) == 1
    assert cluster_count(np.eye(5, dtype=np.float32)) == 5


def test_distinct_n_and_entropy():
    assert distinct_n(["a b a b"], 1) == 0.5
    assert distinct_n(["x y z", "x y z"], 2) == 0.5
    assert entropy(["a", "a"]) == 0.0
    assert entropy(["a", "b", "c", "d"]) == pytest.approx(2.0)


def test_a_good_pair_passes_every_validator():
    view = PairView(
        PASSAGE,
        "How long is the Orin bridge, and when did it open?",
        "It is 420 meters long and opened in 1931, as the passage states.",
    )
    assert validate(view, "reading_comprehension") == {}


LONG_PASSAGE = (
    "The Orin bridge opened in 1931. It is 420 meters long and carried 9,000 cars a day by 1960. The county "
    "closed it for repairs in 1978, when engineers found rust in two of its steel cables. It reopened in 1980 with "
    "a new deck, and a toll of 50 cents was charged until 1995. Most commuters now cross on the newer Tamsin "
    "tunnel, which opened two kilometers downstream in 2004. Since then, traffic on the bridge has fallen every year."
)


@pytest.mark.parametrize(
    ("view", "failed"),
    [
        (PairView(PASSAGE, "", "x"), "empty_turn"),
        (PairView(PASSAGE, "How long?", "420 meters."), "length"),
        (PairView(PASSAGE, "How long is the bridge?", "the bridge is long " * 20), "degenerate"),
        (
            PairView(PASSAGE, "How long is the bridge?", "It is 420 meters long and it carried nine thousand"),
            "degenerate",
        ),
        (PairView(PASSAGE, "How long is the bridge?", "## Answer"), "degenerate"),
        (PairView(PASSAGE, "How long is the bridge?", "420 420 420 meters meters long long long"), "degenerate"),
        (
            PairView(PASSAGE, "The Orin bridge opened in 1931. It is 420 meters long and carried cars.", "Yes."),
            "copies",
        ),
        (
            PairView(
                LONG_PASSAGE,
                "Why did the county close the bridge? Answer in your own words.",
                "The county closed it for repairs in 1978, when engineers found rust in two of its steel cables.",
            ),
            "copies_passage",
        ),
        (PairView(PASSAGE, "The bridge and its traffic in the sixties", "Busy."), "no_question"),
        (
            PairView(PASSAGE, "Write two questions about the bridge and answer them.", "1. How long? 420 m."),
            "malformed_instruction",
        ),
        (
            PairView(PASSAGE, "- ask about the length\n- ask when it opened", "It is 420 meters long."),
            "malformed_instruction",
        ),
        (PairView(PASSAGE, "Answer this: [QUESTION]", "It is 420 meters long."), "malformed_instruction"),
        (
            PairView(PASSAGE, "How long is the bridge that opened in the year of", "420 meters."),
            "malformed_instruction",
        ),
        (
            PairView(PASSAGE, "How many workers installed the solar panels on the Millbrook library?", "Twelve."),
            "off_topic",
        ),
        (
            PairView(PASSAGE, "How many workers installed the solar panels on the Millbrook library?", "Twelve."),
            "copies_demo",
        ),
        (
            PairView(
                PASSAGE, "Who designed the Orin bridge?", "Gustave Eiffel designed it using wrought iron trusses."
            ),
            "invented_details",
        ),
        (PairView(PASSAGE, "How long is the bridge?", "It is 560 meters long."), "invented_details"),
        (
            PairView(PASSAGE, "How many more cars than meters?", "9,000 - 420 = 8,480, so 8,480 more."),
            "invented_details",
        ),
        (
            PairView(LONG_PASSAGE, "How much was the toll charged until 1995?", "It was 420 cents."),
            "misplaced_fact",
        ),
        (
            PairView(
                LONG_PASSAGE,
                "When did the bridge reopen with a new deck?",
                "The passage does not say when it reopened.",
            ),
            "misplaced_fact",
        ),
        (
            PairView(
                LONG_PASSAGE,
                "When did the bridge reopen?",
                "It reopened in 1980. Its new deck was made of oak planks shipped by barge from distant forests.",
            ),
            "unsupported_statement",
        ),
        (
            PairView(
                LONG_PASSAGE,
                "Has traffic on the bridge grown since 2004?",
                "Yes. Since the tunnel opened, traffic on the bridge has risen every year.",
            ),
            "contradicts_passage",
        ),
        (
            PairView(PASSAGE, "How long is it? (A) 300 m (B) 420 m (C) 9,000 m", "It is quite long indeed."),
            "mcq_answer_not_an_option",
        ),
        (PairView(PASSAGE, "How long is it? (A) 300 m (B) 420 m (C) 900 m", "(D) 420 m."), "mcq_answer_not_an_option"),
        (PairView(PASSAGE, "How long is it? (A) 300 m (B) 420 m (C) 900 m", "(C) 420 m."), "mcq_answer_not_an_option"),
        (PairView(PASSAGE, "How many cars a day did the bridge carry by 1960?", "A great many."), "unanswered"),
        (PairView(PASSAGE, "True or false: the bridge opened in 1931.", "It opened to traffic then."), "unanswered"),
        (
            PairView(
                LONG_PASSAGE,
                "Put in order: (a) the toll ends (b) the bridge opens (c) the tunnel opens",
                "The bridge opened first.",
            ),
            "unanswered",
        ),
        (
            PairView(PASSAGE, "In one word, what crosses the bridge?", "Cars, about nine thousand a day."),
            "constraint_violated",
        ),
        (
            PairView(PASSAGE, "In exactly one sentence, say when it opened.", "In 1931. It is old."),
            "constraint_violated",
        ),
        (
            PairView(PASSAGE, "List exactly two facts about the bridge.", "Opened 1931, 420 m long, 9,000 cars."),
            "constraint_violated",
        ),
        (
            PairView(PASSAGE, "Answer True or False only: it opened in 1931.", "True, it opened in 1931."),
            "constraint_violated",
        ),
    ],
)
def test_each_validator_catches_its_failure(view, failed):
    failures = validate(view, "reading_comprehension")
    assert failed in failures, failures
    assert all(isinstance(reason, str) and reason for reason in failures.values())


@pytest.mark.parametrize(
    ("instruction", "response"),
    [
        ("How long is the Orin bridge?", "420 meters."),
        ("How many cars a day did it carry by 1960?", "About nine thousand: the passage gives 9,000 cars a day."),
        ("How many years after opening did the bridge close for repairs?", "47 years (1978 - 1931 = 47)."),
        ("How long was the bridge closed for repairs?", "About two years: it closed in 1978 and reopened in 1980."),
        ("Who designed the Orin bridge?", "The passage doesn't name its designer."),
        ("Why do most commuters no longer use the bridge?", "They now take the Tamsin tunnel, opened in 2004."),
        (
            "Explain in your own words what happened in 1978.",
            "Inspectors discovered corroded cables, so the county shut the crossing until it could be fixed.",
        ),
        ("Which opened first? (A) the Tamsin tunnel (B) the Orin bridge", "(B) the Orin bridge, in 1931."),
        ("True or false: a toll was charged until 1995. Explain.", "True. A 50-cent toll applied until 1995."),
        ("Put in order: (a) the toll ends (b) the bridge opens (c) the tunnel opens", "b, a, c."),
        ("In one word, what was found in the cables?", "Rust."),
        (
            "In exactly two sentences, describe the 1978 closure.",
            "The county closed the bridge in 1978. Engineers had found rust in two steel cables.",
        ),
    ],
)
def test_good_pairs_of_every_kind_pass_every_validator(instruction, response):
    assert validate(PairView(LONG_PASSAGE, instruction, response), "reading_comprehension") == {}


def test_mcq_answers_by_letter_or_by_option_text_pass():
    instruction = "How long is the bridge? (A) 300 meters (B) 420 meters (C) 9,000 meters"
    assert "mcq_answer_not_an_option" not in validate(
        PairView(PASSAGE, instruction, "(B) 420 meters."), "reading_comprehension"
    )
    assert "mcq_answer_not_an_option" not in validate(
        PairView(PASSAGE, instruction, "420 meters, per the passage."), "reading_comprehension"
    )
    on_lines = "How long is the bridge?\nA) 300 meters\nB) 420 meters\nC) 9,000 meters"
    assert "mcq_answer_not_an_option" in validate(PairView(PASSAGE, on_lines, "(D) 500 m."), "reading_comprehension")


def test_saying_the_passage_does_not_tell_is_grounded():
    view = PairView(PASSAGE, "Who designed the Orin bridge?", "The passage does not say who designed the bridge.")
    assert validate(view, "reading_comprehension") == {}


def test_degeneracy_detects_loops_soup_and_digit_runs():
    assert degeneracy("the answer is the answer is the answer is the answer is the answer is yes")
    assert degeneracy("#### ---- //// ==== ;;;; %%%% @@@@ ???")
    assert degeneracy("The code is 123456789012345678 in the table.")
    assert degeneracy("The bridge opened in 1931 and is 420 meters long.") is None


def test_view_splits_the_user_turn_into_passage_and_instruction():
    view = view_of(
        [{"role": "user", "content": f"{PASSAGE}\n\nHow long is it?"}, {"role": "assistant", "content": "420 meters."}]
    )
    assert (view.passage, view.instruction, view.response) == (PASSAGE, "How long is it?", "420 meters.")
    bare = view_of([{"role": "user", "content": "Name a prime."}, {"role": "assistant", "content": "7"}])
    assert (bare.passage, bare.instruction) == ("", "Name a prime.")


def test_an_instruction_copies_the_worked_example_only_with_its_subject():
    """The coding example's review task is "Review this code, point out the bug in letter_grade and give the corrected
    code": the same phrasing about another seed's code is a task of that type; naming the example's function is a
    copy of the example."""
    from agentinstruct.metrics.validators import copies_demo

    code = (
        "def needs_regrowing(crop: str, packed_year: int, this_year: int) -> bool:\n"
        "    return this_year - packed_year >= SHELF_LIFE_YEARS.get(crop, 2)\n"
    )
    phrasing = "Review this code, point out the bug in it and give the corrected code."
    subject = "Review this code, point out the bug in letter_grade and give the corrected code."
    assert copies_demo(PairView(code, phrasing, ""), skill="coding") is None
    copied = copies_demo(PairView(code, subject, ""), skill="coding")
    assert copied == "the instruction copies the skill's worked example"


def test_a_matching_task_lists_only_figures_its_passage_states():
    passage = "The library lent 4,200 books in May and 3,900 in June; 60 children joined the reading club."
    invented = "Match each number from the passage to what it describes: (1) 2,500 (2) 60; (A) children (B) books"
    stated = "Match each number from the passage to what it describes: (1) 4,200 (2) 60; (A) children (B) books"
    numbered = "Match each month to its figure: 1. May 2. June (a) 4,200 (b) 3,900"
    reason = validate(PairView(passage, invented, "(1) B, (2) A"), "reading_comprehension")["malformed_instruction"]
    assert reason == "the matching task lists 2500, which the passage never states"
    for instruction in (stated, numbered):
        assert "malformed_instruction" not in validate(PairView(passage, instruction, "(1) B, (2) A"))
