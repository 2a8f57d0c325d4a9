"""Cost before and after a run: prices from LiteLLM's local map, `--dry-run` estimates (default and `--pilot`), the
run's own cost in its summary, MLflow and card, and `--max-cost` stopping a run that a rerun then finishes."""

import json

import datasets
import pytest
from stub_server import StubOpenAI

from agentinstruct.cli import main
from agentinstruct.cost import CostEstimate, price, simulate_units, spend
from agentinstruct.runner import GenerateConfig, GenerateSummary, generate

PRICED = "openai/gpt-4o-mini"  # the stub serves any model name; this one is in LiteLLM's price map
TIERED = "openai/gpt-5.4"  # in the map, its calls with more than 272k prompt tokens cost more per token


@pytest.fixture
def stub(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake-agentinstruct-test-key-0123456789")
    with StubOpenAI() as server:
        yield server


def _config(stub, text_seeds, out, n: int = 4, **extra) -> GenerateConfig:
    return GenerateConfig(
        skill="reading_comprehension",
        seeds=str(text_seeds),
        n=n,
        out=str(out),
        lm=PRICED,
        api_base=stub.base_url,
        model_checks=False,
        **extra,
    )


def _runs(uri: str) -> int:
    import mlflow

    mlflow.set_tracking_uri(uri)
    return sum(len(mlflow.search_runs([e.experiment_id])) for e in mlflow.search_experiments())


def test_prices_come_from_litellms_local_map():
    import litellm

    entry = litellm.model_cost["gpt-4o-mini"]
    expected = 1000 * entry["input_cost_per_token"] + 100 * entry["output_cost_per_token"]
    assert price(PRICED, 1000, 100) == pytest.approx(expected)
    assert price("openai/no-such-model-anywhere", 1000, 100) is None
    assert price("embedded", 10**6, 10**6) == 0.0


def test_tokens_are_priced_per_call_in_each_calls_own_tier():
    import litellm

    assert "input_cost_per_token_above_272k_tokens" in litellm.model_cost["gpt-5.4"]
    one_call = price(TIERED, 1000, 100)
    assert price(TIERED, 1000 * 1000, 100 * 1000, calls=1000) == pytest.approx(1000 * one_call)
    assert spend({TIERED: [1000 * 1000, 100 * 1000, 1000], PRICED: [10, 1, 1]}) == pytest.approx(
        1000 * one_call + price(PRICED, 10, 1)
    )
    # One call of a million prompt tokens is in the upper tier: it costs more than a thousand small ones.
    assert price(TIERED, 1000 * 1000, 100 * 1000) > 1.5 * 1000 * one_call


def test_a_runs_cost_prices_its_calls_not_their_sum(stub, text_seeds, tmp_path, mlflow_uri):
    # Each call reads 100,000 tokens, below the 272k tier; the run's calls together read far more.
    stub.prompt_tokens = 100_000
    config = _config(stub, text_seeds, tmp_path / "out", n=2, temperature=1.0, max_tokens=16000)
    config.lm = TIERED  # a reasoning model: temperature 1 and 16,000 max tokens are what it takes
    summary = generate(config)
    tokens_in, tokens_out, calls = summary.tokens_by_model[TIERED]
    # Calls answered from the cache or shared with an identical one in flight used no tokens: not counted.
    assert 0 < calls <= summary.lm_calls and tokens_in == 100_000 * calls > 272_000 and tokens_out == 20 * calls
    assert summary.cost_usd == pytest.approx(calls * price(TIERED, 100_000, 20))


def test_the_scheduler_model_matches_the_runs_rule():
    # One unit at a time (the embedded model): exactly enough units at the yield seen.
    assert simulate_units([2], n=6, window=1, max_units=100) == 3
    # A wide window starts one unit per missing pair before any unit has finished (1 pair expected each).
    assert simulate_units([2], n=6, window=16, max_units=100) == 6
    # Nothing kept: the run stops at its unit limit.
    assert simulate_units([0], n=6, window=4, max_units=30) == 30


def test_dry_run_writes_nothing_and_makes_no_mlflow_run(stub, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    base = ["generate", "--seeds", str(text_seeds), "--n", "4", "--out", str(out), "--lm", PRICED]
    base += ["--api-base", stub.base_url, "--no-model-checks", "--quiet", "--dry-run"]
    assert main(base) == 0
    printed = capsys.readouterr().out
    assert "LM calls" in printed and "at most" in printed and "$" in printed
    assert not stub.requests  # the default estimate makes no LM call
    assert main([*base, "--pilot", "1"]) == 0
    printed = capsys.readouterr().out
    assert "pilot of 1 units" in printed and "pilot spent" in printed
    assert stub.requests  # the pilot ran a real unit...
    assert not out.exists()  # ...and wrote nothing
    assert _runs(mlflow_uri) == 0


def test_an_unpriced_model_is_estimated_with_cost_unknown(stub, text_seeds, tmp_path, mlflow_uri):
    config = _config(stub, text_seeds, tmp_path / "out", dry_run=True)
    config.lm = "openai/stub-model"
    (estimate,) = generate(config).values()
    assert isinstance(estimate, CostEstimate)
    assert estimate.cost_usd is None and estimate.unpriced == ["openai/stub-model"] and estimate.tokens_in > 0


def test_estimates_against_the_real_run(stub, text_seeds, tmp_path, mlflow_uri):
    config = _config(stub, text_seeds, tmp_path / "out", n=5)
    (default,) = generate(_config(stub, text_seeds, tmp_path / "out", n=5, dry_run=True)).values()
    (pilot,) = generate(_config(stub, text_seeds, tmp_path / "out", n=5, dry_run=True, pilot=2)).values()
    actual = generate(config)
    assert isinstance(actual, GenerateSummary) and actual.pairs == 5

    # The default estimate plans the units the run starts and every call of those units as if every instruction agent
    # wrote its most instructions and none repeated: an upper bound on the calls. The stub's agents write one distinct
    # instruction instead of two now and then, and repeat one (its response is skipped) often: within half of it here.
    assert default.units == actual.units_run
    assert actual.lm_calls <= default.lm_calls <= 1.5 * actual.lm_calls
    assert default.tokens_out >= actual.tokens_out  # the --max-tokens caps bound the output

    assert pilot.units == actual.units_run
    for estimated, real in ((pilot.tokens_in, actual.tokens_in), (pilot.tokens_out, actual.tokens_out)):
        assert abs(estimated - real) <= 0.25 * real
    assert pilot.cost_usd == pytest.approx(actual.cost_usd, rel=0.25)

    # The run's cost: in the summary, summary.json and MLflow.
    assert actual.cost_usd == pytest.approx(price(PRICED, actual.tokens_in, actual.tokens_out, actual.lm_calls))
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["cost_usd"] == actual.cost_usd
    import mlflow

    assert mlflow.get_run(actual.run_id).data.metrics["cost_usd"] == pytest.approx(actual.cost_usd)


def test_max_cost_stops_the_run_and_a_rerun_with_more_finishes_it(stub, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    base = ["generate", "--seeds", str(text_seeds), "--n", "6", "--out", str(out), "--lm", PRICED]
    base += ["--api-base", stub.base_url, "--no-model-checks", "--quiet", "--concurrency", "1"]
    # One unit costs about $0.0004 on the stub (13 calls of 100 tokens in, 20 out): the cap is reached after one.
    assert main([*base, "--max-cost", "0.0001"]) == 0
    printed = capsys.readouterr().out
    assert "stopped at --max-cost $0.0001 after $" in printed and "rerun the same command" in printed
    assert "cost $" in printed
    first = json.loads((out / "summary.json").read_text())
    assert first["stopped_at_max_cost"] and 0 < first["pairs"] < 6 and first["units_run"] == 1

    assert main([*base, "--max-cost", "1"]) == 0
    printed = capsys.readouterr().out
    assert "pairs written   6 of 6" in printed and "stopped at --max-cost" not in printed
    second = json.loads((out / "summary.json").read_text())
    assert second["units_resumed"] == 1 and not second["stopped_at_max_cost"]
    ids = datasets.load_from_disk(str(out))["train"]["record_id"]
    assert len(ids) == 6 and len(set(ids)) == 6


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--pilot", "2"], "--pilot K applies to --dry-run"),
        (["--dry-run", "--pilot", "0"], "--pilot must be at least 1"),
        (["--max-cost", "-1"], "--max-cost must be 0 or more"),
        (["--max-cost", "1", "--lm", "openai/stub-model"], "openai/stub-model is not in LiteLLM's local price map"),
    ],
)
def test_bad_cost_options_are_one_line_exit_2(extra, expected, text_seeds, tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    argv = ["generate", "--seeds", str(text_seeds), "--n", "2", "--out", str(out), "--lm", PRICED]
    argv += ["--api-base", "http://127.0.0.1:9/v1", "--no-model-checks", "--quiet", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert expected in err and "\n" not in err
    assert not out.exists()


@pytest.fixture
def priced_echo(monkeypatch):
    """Every LM role is the field-echo LM (10 tokens in, 10 out a call) under a name in LiteLLM's price map."""
    import dspy
    from conftest import FieldEchoEngine

    lm = dspy.LM(PRICED, engine=FieldEchoEngine(), cache=False)
    monkeypatch.setattr("agentinstruct.lm.build_lm", lambda *args, **kwargs: lm)
    monkeypatch.setattr("agentinstruct.runner.check_lms", lambda *args, **kwargs: None)
    return lm


def test_a_mix_estimates_and_costs_every_skill_and_caps_the_whole_mix(
    priced_echo, text_seeds, tmp_path, mlflow_uri, capsys
):
    out = tmp_path / "mix"
    argv = ["generate", "--seeds", str(text_seeds), "--out", str(out), "--lm", PRICED, "--quiet", "--n", "8"]
    argv += ["--api-base", "http://127.0.0.1:9/v1", "--no-model-checks", "--concurrency", "1", "--min-quality", "0"]
    argv += ["--skill", "reading_comprehension,text_extraction"]
    assert main([*argv, "--dry-run"]) == 0
    printed = capsys.readouterr().out
    assert "skill           reading_comprehension: 4 pairs" in printed and "text_extraction: 4 pairs" in printed
    assert "total " in printed and not out.exists()

    # A cap below one unit's price: the first skill stops after its first unit, the second never starts.
    main([*argv, "--max-cost", "0.00001"])
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["skills"]) == ["reading_comprehension"] and summary["pairs"] < 8
    assert "before text_extraction" in printed and "rerun the same command" in printed
    spent = summary["cost_usd"]
    assert spent == pytest.approx(price(PRICED, summary["tokens_in"], summary["tokens_out"], summary["lm_calls"]))
    assert spent > 0

    assert main([*argv, "--max-cost", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["pairs"] == 8 and list(summary["skills"]) == ["reading_comprehension", "text_extraction"]
    assert summary["cost_usd"] == pytest.approx(sum(f["cost_usd"] for f in summary["skills"].values()))
    rows = datasets.load_from_disk(str(out))["train"]
    ids = list(zip(rows["skill"], rows["record_id"], strict=True))  # record ids are unique within a skill
    assert len(ids) == 8 and len(set(ids)) == 8
