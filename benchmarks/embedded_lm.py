"""Benchmark the embedded LM backend on the bundled seeds, against raw llama.cpp on the very same prompts.

It runs the reading-comprehension pipeline (DSPy cache off) over a few bundled seeds with the embedded engine
recording every llama.cpp completion it issues, then replays exactly those completions (same prompts, sampling
parameters and seeds, same order, so the same KV-cache reuse) on a fresh `llama_cpp.Llama` with no DSPy around it.
The ratio of the two wall times is the framework's overhead: prompt building, parsing, DSPy bookkeeping, threads.

    python benchmarks/embedded_lm.py [--seeds 6] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time


def run_pipeline(n_seeds: int, refine_rounds: int):
    import dspy

    from agentinstruct.embedded import MODEL_NAME, EmbeddedEngine
    from agentinstruct.programs import AgentInstructPipeline, get_skill
    from agentinstruct.seeds import BUNDLED_CORPUS, load_seeds

    engine = EmbeddedEngine(keep_raw_calls=True)
    engine.load()  # model load is not part of either measurement
    lm = dspy.LM(MODEL_NAME, engine=engine, temperature=0.7, max_tokens=512, cache=False)
    skill = get_skill("reading_comprehension")
    pipeline = AgentInstructPipeline(skill)
    seeds = load_seeds(BUNDLED_CORPUS, kinds=skill.seed_kinds).seeds[:n_seeds]
    pairs, failures = [], []
    started = time.perf_counter()
    with dspy.context(lm=lm):
        for seed in seeds:
            prediction = pipeline(seed=seed.text, seed_id=seed.seed_id, refine_rounds=refine_rounds)
            pairs += prediction.pairs
            failures += prediction.failures
    wall = time.perf_counter() - started
    return engine, wall, pairs, failures


def replay(engine) -> float:
    from llama_cpp import Llama

    from agentinstruct.embedded import default_model_path

    llama = Llama(
        model_path=str(default_model_path()), n_ctx=engine.n_ctx, n_threads=engine.n_threads, verbose=False, seed=0
    )
    started = time.perf_counter()
    for call in engine.stats.raw_calls:
        llama.create_completion(
            call.prompt,
            max_tokens=call.max_tokens,
            temperature=call.temperature,
            top_p=0.95,
            top_k=40,
            repeat_penalty=engine.repeat_penalty,
            stop=list(call.stop) or None,
            seed=call.seed,
        )
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6, help="bundled seeds to run (default: %(default)s)")
    parser.add_argument("--refine-rounds", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3, help="raw replays; the median is reported")
    args = parser.parse_args()

    engine, wall, pairs, failures = run_pipeline(args.seeds, args.refine_rounds)
    replays = [replay(engine) for _ in range(args.repeats)]
    raw = statistics.median(replays)
    calls = engine.stats.requests
    completion_tokens = sum(call.completion_tokens for call in engine.stats.raw_calls)
    prompt_tokens = sum(call.prompt_tokens for call in engine.stats.raw_calls)
    parse_failures = sum(f.reason == "parse_failure" for f in failures)
    empty = sum(f.reason == "empty_output" for f in failures)
    rows = [
        ("seeds", args.seeds),
        ("pairs", len(pairs)),
        ("LM calls (DSPy requests)", calls),
        ("llama.cpp completions (one per output field)", len(engine.stats.raw_calls)),
        ("LM calls per pair", f"{calls / max(len(pairs), 1):.2f}"),
        ("seconds per pair", f"{wall / max(len(pairs), 1):.2f}"),
        ("prompt tokens (incl. reused prefix)", prompt_tokens),
        ("completion tokens", completion_tokens),
        ("generation tokens/s (in-engine)", f"{completion_tokens / engine.stats.generation_seconds:.1f}"),
        ("parse-failure rate (per LM call)", f"{parse_failures / max(calls, 1):.1%}"),
        ("empty-output rate (per LM call)", f"{empty / max(calls, 1):.1%}"),
        (
            "failures by reason",
            dict(sorted({f.reason: sum(x.reason == f.reason for x in failures) for f in failures}.items())),
        ),
        ("pipeline wall time (s)", f"{wall:.1f}"),
        (f"raw llama.cpp replay, median of {args.repeats} (s)", f"{raw:.1f}  {[round(r, 1) for r in replays]}"),
        ("framework overhead (pipeline / raw - 1)", f"{wall / raw - 1:+.1%}"),
    ]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    main()
