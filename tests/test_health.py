"""The embedded model's runtime check (a child process), `agentinstruct doctor`, and the llama.cpp build settings."""

import json
import sys
from pathlib import Path

import pytest

from agentinstruct.cli import main
from agentinstruct.errors import UserError
from agentinstruct.health import ensure_embedded_runtime, run_probe

PROBE_OUTPUT = {
    "load_seconds": 0.5,
    "prompt_tokens": 60,
    "prompt_tokens_per_second": 600.0,
    "completion_tokens": 24,
    "tokens_per_second": 80.0,
    "system_info": "CPU : SSE3 = 1 | AVX = 1 | AVX2 = 1 | FMA = 1 | AVX512 = 0 | OPENMP = 1 |",
    "text": " a levee",
}


def _child(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def _dies_from(signal_name: str) -> list[str]:
    return _child(f"import os, signal; os.kill(os.getpid(), signal.{signal_name})")


@pytest.fixture
def checks_dir(tmp_path, monkeypatch):
    folder = tmp_path / "runtime-checks"
    monkeypatch.setattr("agentinstruct.health.checks_dir", lambda: folder)
    return folder


def test_a_child_killed_by_sigill_is_one_clear_error_naming_the_cause_and_the_fix():
    with pytest.raises(UserError) as raised:
        run_probe(_dies_from("SIGILL"))
    message = str(raised.value)
    assert "illegal instruction (SIGILL)" in message
    assert "AMX" in message and "make setup" in message and "agentinstruct.llama_build --force" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("signal_name", "expected"),
    [("SIGSEGV", "crashed (SIGSEGV)"), ("SIGKILL", "lack of memory"), ("SIGABRT", "died from SIGABRT")],
)
def test_other_deaths_by_signal_say_what_happened(signal_name, expected):
    with pytest.raises(UserError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        run_probe(_dies_from(signal_name))


def test_a_child_that_fails_or_says_nothing_is_an_error_too():
    with pytest.raises(UserError, match="failed to load in a test process: ValueError: no such model"):
        run_probe(_child("raise ValueError('no such model')"))
    with pytest.raises(UserError, match="printed no result"):
        run_probe(_child("print('hello')"))
    with pytest.raises(UserError, match="did not load and answer within 1 s"):
        run_probe(_child("import time; time.sleep(30)"), timeout=1)


def test_a_passing_check_is_remembered_and_a_crash_is_not(tmp_path, checks_dir, monkeypatch):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF")
    crash = _dies_from("SIGILL")
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: crash)
    with pytest.raises(UserError, match="SIGILL"):
        ensure_embedded_runtime(model, 512, 2)
    assert not list(checks_dir.glob("*.json"))

    passing = _child(f"print({json.dumps(json.dumps(PROBE_OUTPUT))})")
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: passing)
    first = ensure_embedded_runtime(model, 512, 2)
    assert first is not None and first.tokens_per_second == 80.0
    assert len(list(checks_dir.glob("*.json"))) == 1
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: crash)
    assert ensure_embedded_runtime(model, 512, 2) is None  # remembered: no child this time
    model.write_bytes(b"GGUF, another model")  # another model file: checked again
    with pytest.raises(UserError, match="SIGILL"):
        ensure_embedded_runtime(model, 512, 2)


def test_generate_on_a_build_that_crashes_exits_2_with_one_line_before_running_anything(
    tmp_path, mlflow_uri, checks_dir, text_seeds, monkeypatch, capsys
):
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: _dies_from("SIGILL"))
    out = tmp_path / "out"
    assert main(["generate", "--seeds", str(text_seeds), "--n", "1", "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "\n".join(err)
    assert err[-1].startswith("agentinstruct: error: the embedded model crashed with an illegal instruction (SIGILL)")
    assert not (out / ".progress" / "units.jsonl").exists() or not (out / ".progress" / "units.jsonl").read_text()


def test_doctor_reports_a_crashing_build_and_an_unwritable_store_and_exits_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("agentinstruct.health.probe_command", lambda *args: _dies_from("SIGILL"))
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{locked / 'sub' / 'mlflow.db'}")
    assert main(["doctor"]) == 1
    lines = capsys.readouterr().out.splitlines()
    by_name = {line[:17].strip(): line[17:] for line in lines}
    assert by_name["embedded model"].startswith("[FAIL]") and "SIGILL" in by_name["embedded model"]
    assert by_name["mlflow store"].startswith("[FAIL]")
    assert by_name["result"] == "broken: embedded model, mlflow store"
    for name in ("python", "packages", "cpu", "llama-cpp-python", "embedding model", "sandbox"):
        assert name in by_name
    assert "dspy 3.4.1" in by_name["packages"] and "mlflow 3.17.2" in by_name["packages"]


def test_doctor_reports_an_endpoint_that_does_not_answer(tmp_path, monkeypatch, capsys):
    import socket

    from agentinstruct.doctor import endpoint_check

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = endpoint_check(None, f"http://user:SECRET@127.0.0.1:{port}/v1")
    assert check.status == "FAIL" and "does not answer" in check.detail and "SECRET" not in check.detail


def test_doctor_finds_an_endpoint_that_answers(monkeypatch):
    from stub_server import StubOpenAI

    from agentinstruct.doctor import endpoint_check

    monkeypatch.setenv("OPENAI_API_KEY", "sk-fake")
    with StubOpenAI() as stub:
        listed = endpoint_check(None, stub.base_url)
        called = endpoint_check("openai/stub-model", stub.base_url)
        reasoning = endpoint_check("openai/gpt-5.4", stub.base_url)  # takes only temperature 1 and a 16k+ cap
    assert listed.status == "ok" and "serves stub" in listed.detail, listed.detail
    assert called.status == "ok", called.detail
    assert reasoning.status == "ok", reasoning.detail
    assert [r["path"] for r in stub.requests] == ["/v1/chat/completions"] * 2


@pytest.mark.slow
def test_doctor_on_this_machine_passes_with_the_real_model(tmp_path, mlflow_uri, capsys):
    assert main(["doctor"]) == 0
    lines = {line[:17].strip(): line[17:] for line in capsys.readouterr().out.splitlines()}
    assert lines["result"] == "everything works"
    assert "tokens/s generating" in lines["embedded model"]
    assert "AMX" not in lines["llama.cpp uses"] and "AVX2" in lines["llama.cpp uses"]
    assert lines["llama-cpp-python"].startswith("0.3.36, agentinstruct build")


def test_compiled_features_and_what_the_cpu_lacks(monkeypatch):
    from agentinstruct.doctor import compiled_features, missing_cpu_features

    info = "CPU : SSE3 = 1 | AVX2 = 1 | AVX512 = 1 | AMX_INT8 = 1 | AVX512_BF16 = 0 | OPENMP = 1 |"
    features = compiled_features(info)
    assert features == ["SSE3", "AVX2", "AVX512", "AMX_INT8", "OPENMP"]
    monkeypatch.setattr("platform.machine", lambda: "x86_64")
    assert missing_cpu_features(features, {"sse3", "avx2"}) == ["AVX512", "AMX_INT8"]
    assert missing_cpu_features(features, {"avx2", "avx512f", "amx_int8"}) == []
    assert missing_cpu_features(features, set()) == []


AVX512_AMX_CPU = {"avx", "avx2", "fma", "f16c", "bmi2", "avx512f", "avx512_vnni", "amx_tile", "amx_int8"}


def test_x86_builds_are_portable_avx2_without_amx_and_shareable_across_cpus(monkeypatch):
    from agentinstruct.llama_build import build_config

    monkeypatch.setattr("sys.platform", "linux")
    sapphire = build_config("0.3.36", machine="x86_64", flags=AVX512_AMX_CPU)
    zen2 = build_config("0.3.36", machine="x86_64", flags={"avx", "avx2", "fma", "f16c", "bmi2"})
    assert sapphire.variant == "portable-avx2" and sapphire.portable
    assert sapphire.key == zen2.key  # one wheel serves every AVX2 CPU
    assert "-DGGML_NATIVE=OFF" in sapphire.cmake_args and "-DGGML_AVX512=OFF" in sapphire.cmake_args
    assert "-DGGML_AMX_INT8=OFF" in sapphire.cmake_args and "-mno-amx-tile" in sapphire.cflags
    assert build_config("0.3.37", machine="x86_64", flags=AVX512_AMX_CPU).key != sapphire.key


def test_builds_that_cannot_be_portable_are_tied_to_their_cpu(monkeypatch):
    from agentinstruct.llama_build import build_config

    monkeypatch.setattr("sys.platform", "linux")
    old_x86 = build_config("0.3.36", machine="x86_64", flags={"sse4_2", "avx"})
    assert old_x86.variant == "native-no-amx" and not old_x86.portable and "-mno-amx-int8" in old_x86.cflags
    arm = build_config("0.3.36", machine="aarch64", flags={"asimd", "asimddp"})
    assert arm.variant == "native" and arm.cpu
    monkeypatch.setattr("agentinstruct.llama_build.cpu_model", lambda: "another CPU")
    assert build_config("0.3.36", machine="aarch64", flags={"asimd"}).key != arm.key
    native = build_config("0.3.36", machine="x86_64", flags=AVX512_AMX_CPU, native=True)
    assert native.variant == "native-no-amx" and "-mno-amx-tile" in native.cflags


def test_the_llama_cpp_python_version_is_declared_once_in_pyproject():
    import tomllib

    from agentinstruct.llama_build import pinned_version

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    pins = [d for d in tomllib.loads(pyproject.read_text())["project"]["dependencies"] if "llama-cpp-python" in d]
    assert pins == [f"llama-cpp-python=={pinned_version()}"]


def test_the_installed_llama_cpp_is_the_build_setup_recorded_and_uses_no_amx():
    """What `make setup` guarantees: the libraries on disk are the ones its build installed (not a wheel pip cached
    from another build), with this machine's build settings, and they use no AMX nor anything this CPU lacks."""
    import llama_cpp

    from agentinstruct.doctor import compiled_features, missing_cpu_features
    from agentinstruct.llama_build import (
        build_config,
        cpu_flags,
        installed_library_dir,
        library_hashes,
        pinned_version,
        record_path,
    )

    record = json.loads(record_path().read_text())
    assert record["libraries"] == library_hashes(installed_library_dir())
    assert record["key"] == build_config(pinned_version()).key
    features = compiled_features(llama_cpp.llama_print_system_info().decode())
    assert "AVX2" in features or "NEON" in features
    assert not [f for f in features if f.startswith("AMX")]
    assert missing_cpu_features(features, cpu_flags()) == []
