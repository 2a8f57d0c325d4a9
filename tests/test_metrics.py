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


@pytest.mark.parametrize(
    ("view", "failed"),
    [
        (PairView(PASSAGE, "", "x"), "empty_turn"),
        (PairView(PASSAGE, "How long?", "420 meters."), "length"),
        (PairView(PASSAGE, "How long is the bridge?", "the bridge is long " * 20), "degenerate"),
        (
            PairView(PASSAGE, "The Orin bridge opened in 1931. It is 420 meters long and carried cars.", "Yes."),
            "copies",
        ),
        (PairView(PASSAGE, "The bridge and its traffic in the sixties", "Busy."), "no_question"),
        (
            PairView(PASSAGE, "How many workers installed the solar panels on the Millbrook library?", "Twelve."),
            "off_topic",
        ),
        (
            PairView(
                PASSAGE, "Who designed the Orin bridge?", "Gustave Eiffel designed it using wrought iron trusses."
            ),
            "ungrounded",
        ),
        (
            PairView(PASSAGE, "How long is it? (A) 300 m (B) 420 m (C) 9,000 m", "It is quite long indeed."),
            "mcq_answer_not_an_option",
        ),
    ],
)
def test_each_validator_catches_its_failure(view, failed):
    failures = validate(view, "reading_comprehension")
    assert failed in failures
    assert all(isinstance(reason, str) and reason for reason in failures.values())


def test_mcq_answers_by_letter_or_by_option_text_pass():
    instruction = "How long is the bridge? (A) 300 meters (B) 420 meters (C) 9,000 meters"
    assert "mcq_answer_not_an_option" not in validate(
        PairView(PASSAGE, instruction, "(B) 420 meters."), "reading_comprehension"
    )
    assert "mcq_answer_not_an_option" not in validate(
        PairView(PASSAGE, instruction, "420 meters, per the passage."), "reading_comprehension"
    )


def test_saying_the_passage_does_not_tell_is_grounded():
    view = PairView(PASSAGE, "Who designed the Orin bridge?", "The passage does not say who designed the bridge.")
    assert "ungrounded" not in validate(view, "reading_comprehension")


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
