import json
import socket
import subprocess
import sys

import pytest

from agentinstruct.cli import main

RC = ["generate", "--skill", "reading_comprehension", "--n", "2"]


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert err, "expected an error message"
    assert "Traceback" not in "\n".join(err)
    return err[-1]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--seeds", "/nonexistent/seeds"], "seeds path does not exist"),
        (["--skill", "underwater_basket_weaving"], "unknown skill 'underwater_basket_weaving'"),
        (["--n", "0"], "--n must be at least 1"),
        (["--refine-rounds", "-1"], "--refine-rounds must be 0 or more"),
        (["--lm", "gpt4"], "--lm must be 'embedded' or a provider/model string"),
        (["--api-base", "http://127.0.0.1:1/v1"], "--api-base applies to endpoint models"),
        # DSPy refuses OpenAI's reasoning models at our default temperature and token cap, and the judge's.
        (
            ["--lm", "openai/gpt-5.4", "--api-base", "http://127.0.0.1:1/v1"],
            "openai/gpt-5.4 is one of OpenAI's reasoning models: it takes temperature 1",
        ),
        (
            ["--lm", "openai/gpt-4o-mini", "--judge-lm", "openai/o4-mini", "--api-base", "http://127.0.0.1:1/v1"],
            "as --judge-lm (greedy, 64 tokens), use another model",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(extra, expected, tmp_path, mlflow_uri, capsys):
    assert main([*RC, "--out", str(tmp_path / "out"), *extra]) == 2
    line = _error_line(capsys)
    assert line.startswith("agentinstruct: error: ") and expected in line


def test_no_usable_text_is_a_user_error(tmp_path, mlflow_uri, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "blob.bin").write_bytes(b"\x00" * 200)
    (seeds / "empty.txt").write_text("")
    assert main([*RC, "--seeds", str(seeds), "--out", str(tmp_path / "out")]) == 2
    assert "no usable seeds" in _error_line(capsys)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "program file does not exist"),
        ("{not json", "cannot read program file"),
        (json.dumps({"agentinstruct_skill": "tool_use"}), "was saved for skill 'tool_use'"),
        (json.dumps({"agentinstruct_skill": "reading_comprehension"}), "lacks"),
    ],
)
def test_unreadable_program_file(content, expected, tmp_path, mlflow_uri, capsys):
    program = tmp_path / "program.json"
    if content is not None:
        program.write_text(content)
    assert main([*RC, "--out", str(tmp_path / "out"), "--program", str(program)]) == 2
    assert expected in _error_line(capsys)


def test_unreachable_endpoint(tmp_path, mlflow_uri, capsys):
    url = _closed_port_url()
    assert main([*RC, "--out", str(tmp_path / "out"), "--lm", "openai/some-model", "--api-base", url]) == 2
    line = _error_line(capsys)
    assert "cannot use LM 'openai/some-model'" in line and url in line


def test_out_folder_of_another_job_is_refused(tmp_path, mlflow_uri, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main([*RC, "--out", str(out)]) == 2
    assert "not empty" in _error_line(capsys)


def test_errors_print_no_traceback_from_the_installed_command(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "agentinstruct.cli",
            *RC,
            "--seeds",
            str(tmp_path / "missing"),
            "--out",
            str(tmp_path / "o"),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"agentinstruct: error: seeds path does not exist: {tmp_path / 'missing'}"
    ]
