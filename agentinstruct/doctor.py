"""`agentinstruct doctor`: what a bug report needs, in a few lines, and whether anything is broken.

Each check prints one line; a broken one is marked and makes the command exit 1. The embedded model is tried in a
child process (see `health.py`), so a llama.cpp build this CPU cannot run is reported, not crashed on.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from agentinstruct.options import option

OK, WARN, FAIL = "ok", "warn", "FAIL"

# llama.cpp's name for a CPU feature it was compiled with -> the Linux /proc/cpuinfo flag that means the CPU has it.
_X86_FEATURE_FLAGS = {
    "AVX": "avx",
    "AVX2": "avx2",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX_VNNI": "avx_vnni",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
}


@dataclass
class Check:
    name: str
    status: str
    detail: str


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def compiled_features(system_info: str) -> list[str]:
    """The CPU features a llama.cpp build uses, from `llama_print_system_info()` ("AVX2 = 1 | ...")."""
    features = []
    for part in system_info.split("|"):
        name, _, value = part.rpartition("=")
        name = name.split(":")[-1].strip()
        if name and value.strip() == "1":
            features.append(name)
    return features


def missing_cpu_features(features: list[str], cpu_flags: set[str]) -> list[str]:
    """Compiled-in x86 features this CPU lacks (each would be a SIGILL); empty where /proc/cpuinfo says nothing."""
    if not cpu_flags or platform.machine() not in ("x86_64", "AMD64"):
        return []
    return [f for f in features if f in _X86_FEATURE_FLAGS and _X86_FEATURE_FLAGS[f] not in cpu_flags]


def _llama_build() -> list[Check]:
    from agentinstruct.llama_build import build_config, installed_library_dir, library_hashes, record_path

    installed = _version("llama-cpp-python")
    lib_dir = installed_library_dir()
    if lib_dir is None:
        return [Check("llama-cpp-python", FAIL, "not installed: run 'make setup' (or pip install llama-cpp-python)")]
    record = record_path()
    if not record.exists():
        return [
            Check(
                "llama-cpp-python",
                WARN,
                f"{installed}, not built by agentinstruct's setup (flags unknown; may be a native build with AMX): "
                "'python -m agentinstruct.llama_build --force' rebuilds it portably",
            )
        ]
    recorded = json.loads(record.read_text())
    if recorded.get("libraries") != library_hashes(lib_dir):
        return [
            Check(
                "llama-cpp-python",
                WARN,
                f"{installed}, replaced since agentinstruct's setup built it ({recorded['variant']}): "
                "'python -m agentinstruct.llama_build --force' restores the portable build",
            )
        ]
    expected = build_config(recorded["version"])
    status = OK if expected.key == recorded["key"] else WARN
    note = "" if status == OK else "; this machine would get another build: 'python -m agentinstruct.llama_build'"
    flags = recorded["cmake_args"] + (f" CFLAGS={recorded['cflags']}" if recorded["cflags"] else "")
    return [
        Check("llama-cpp-python", status, f"{installed}, agentinstruct build {recorded['variant']} ({flags}){note}")
    ]


def _cpu() -> Check:
    from agentinstruct.llama_build import cpu_flags, cpu_model

    flags = cpu_flags()
    notable = [f for f in ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "amx_tile", "amx_int8", "asimd") if f in flags]
    return Check("cpu", OK, f"{cpu_model()}, {platform.machine()}, {os.cpu_count()} cores; {' '.join(notable)}")


def _embedded_model() -> list[Check]:
    from agentinstruct.embedded import EmbeddedEngine
    from agentinstruct.errors import UserError
    from agentinstruct.health import probe_command, run_probe
    from agentinstruct.llama_build import cpu_flags

    engine = EmbeddedEngine()
    try:
        path = engine.resolved_model_path()
    except Exception as exc:
        return [Check("embedded model", FAIL, f"cannot assemble the model file: {type(exc).__name__}: {exc}")]
    try:
        result = run_probe(probe_command(path, engine.n_ctx, engine.n_threads))
    except UserError as exc:
        return [Check("embedded model", FAIL, f"{path}: {exc}")]
    features = compiled_features(result.system_info)
    missing = missing_cpu_features(features, cpu_flags())
    uses = Check(
        "llama.cpp uses",
        FAIL if missing else OK,
        " ".join(features) + (f"; this CPU lacks {' '.join(missing)}" if missing else ""),
    )
    speed = Check(
        "embedded model",
        OK,
        f"{path.name}: loaded in {result.load_seconds:.2f} s; {result.prompt_tokens_per_second:.0f} prompt tokens/s, "
        f"{result.tokens_per_second:.1f} tokens/s generating ({engine.n_threads} threads)",
    )
    return [uses, speed]


def _embedding_model(model: str | None) -> Check:
    from agentinstruct.metrics.diversity import Embedder

    try:
        started = time.perf_counter()
        embedder = Embedder(model)
        dimension = embedder.dimension
        seconds = time.perf_counter() - started
    except Exception as exc:
        return Check("embedding model", FAIL, f"{model or 'all-MiniLM-L6-v2'}: {type(exc).__name__}: {exc}")
    return Check("embedding model", OK, f"{embedder.model_path}: loaded in {seconds:.1f} s, {dimension} dimensions")


def mlflow_store_check(uri: str) -> Check:
    """Whether the tracking store can be written, without creating anything."""
    from agentinstruct.tracking import redact

    shown = redact(uri)
    if uri.startswith("sqlite:///"):
        path = Path.cwd() / uri.removeprefix("sqlite:///")  # an absolute path (sqlite:////...) stays as it is
        if path.exists():
            ok = os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)
            return Check("mlflow store", OK if ok else FAIL, f"{shown} ({'writable' if ok else 'not writable'})")
        ok = path.parent.is_dir() and os.access(path.parent, os.W_OK)
        state = "created on first run" if ok else "its folder is missing or not writable"
        return Check("mlflow store", OK if ok else FAIL, f"{shown} ({state})")
    if uri.startswith(("http://", "https://")):
        import urllib.request

        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=5) as response:
                ok = response.status == 200
        except OSError as exc:
            return Check("mlflow store", FAIL, f"{shown} does not answer: {exc}")
        return Check("mlflow store", OK if ok else FAIL, f"{shown} ({'answers' if ok else 'unhealthy'})")
    folder = Path(uri.removeprefix("file://"))
    target = folder if folder.exists() else folder.parent
    ok = target.is_dir() and os.access(target, os.W_OK)
    return Check("mlflow store", OK if ok else FAIL, f"{shown} ({'writable' if ok else 'not writable'})")


def endpoint_check(lm_name: str | None, api_base: str | None) -> Check:
    """With `--lm`, one tiny real call; with only `--api-base`, whether the server lists its models."""
    from agentinstruct.errors import UserError
    from agentinstruct.lm import build_lm, check_lm
    from agentinstruct.tracking import redact

    where = redact(api_base) if api_base else lm_name
    if lm_name and lm_name != "embedded":
        try:
            # Settings every model takes (OpenAI's reasoning models: only temperature 1, a cap of 16,000 or more);
            # `check_lm`'s probe asks other models for four tokens.
            check_lm(build_lm(lm_name, api_base, temperature=1.0, max_tokens=16000), api_base)
        except UserError as exc:
            return Check("endpoint", FAIL, str(exc))
        return Check("endpoint", OK, f"{where} answers a call to {lm_name}")
    import urllib.request

    try:
        with urllib.request.urlopen(str(api_base).rstrip("/") + "/models", timeout=10) as response:
            models = [m.get("id") for m in json.loads(response.read()).get("data", [])]
    except (OSError, ValueError) as exc:
        return Check("endpoint", FAIL, f"{where} does not answer: {' '.join(str(exc).split())[:200]}")
    return Check("endpoint", OK, f"{where} answers; it serves {', '.join(map(str, models)) or 'no listed model'}")


def sandbox_check() -> Check:
    """Whether generated code can run in the bubblewrap sandbox (a warning: only code-executing skills need it)."""
    from agentinstruct.sandbox import bwrap_version, sandbox_available

    reason = sandbox_available()
    if reason is not None:
        return Check("sandbox", WARN, f"{reason}; generated code will not be run")
    return Check("sandbox", OK, f"{bwrap_version() or 'bubblewrap'}: generated code runs isolated")


@dataclass
class DoctorConfig:
    """What `agentinstruct doctor` is asked to check beyond this machine."""

    lm: str | None = option(None, help="also make one tiny call to this endpoint model")
    api_base: str | None = option(None, help="also check that this OpenAI-compatible server answers")
    embedding_model: str | None = option(None, help="a sentence-transformers model folder (default: all-MiniLM-L6-v2)")


def run_doctor(
    lm: str | None = None,
    api_base: str | None = None,
    embedding_model: str | None = None,
    *,
    write: Callable[[str], None] = print,
) -> int:
    """Print every check as it finishes; return 0 when nothing failed, 1 otherwise."""
    from agentinstruct.tracking import tracking_uri

    checks: list[Check] = []

    def emit(*found: Check) -> None:
        for check in found:
            checks.append(check)
            mark = "" if check.status == OK else f"[{check.status}] "
            write(f"{check.name:<17}{mark}{check.detail}")

    emit(Check("python", OK, f"{platform.python_version()} ({sys.executable})"))
    packages = ("agentinstruct", "dspy", "mlflow", "litellm", "sentence-transformers", "faiss-cpu", "torch")
    emit(Check("packages", OK, ", ".join(f"{name} {_version(name)}" for name in packages)))
    emit(_cpu())
    emit(*_llama_build())
    emit(*_embedded_model())
    emit(_embedding_model(embedding_model))
    emit(mlflow_store_check(tracking_uri()))
    emit(sandbox_check())
    if api_base or (lm and lm != "embedded"):
        emit(endpoint_check(lm, api_base))
    failed = [check.name for check in checks if check.status == FAIL]
    write(f"{'result':<17}" + (f"broken: {', '.join(failed)}" if failed else "everything works"))
    return 1 if failed else 0
