"""A local OpenAI-compatible chat-completions server for endpoint tests and benchmarks (HTTP on 127.0.0.1).

It can answer after a fixed latency and inject faults (429 with Retry-After, 500, calls that hang, malformed
answers), and counts what it served. Run it in its own process for benchmarks (`python tests/stub_server.py
--latency 0.2`), so its work never shares the client's interpreter.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_REQUESTED = re.compile(r"\[\[ ## (\w+) ## \]\]")

_SECTION = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\Z)", re.DOTALL)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def answer_fields(last_user_message: str, fields: list[str], seed: int) -> dict[str, str]:
    """Plausible, grounded output for each requested field, built from the request's own input fields.

    Transformations echo the text; questions ask about two sentences of the passage chosen by the request's seed;
    answers quote the passage sentence that shares most words with the question.
    """
    inputs = dict(_SECTION.findall(last_user_message))
    passage = (inputs.get("passage") or inputs.get("text") or "").strip()
    sentences = [s for s in _SENTENCE.split(passage) if len(s.split()) >= 4] or [passage or "Nothing."]
    question = inputs.get("question", "").strip()

    def ask(sentence: str) -> str:
        return f"According to the passage, what is stated about {' '.join(sentence.split()[:6]).rstrip('.,;')}?"

    def best_sentence(text: str) -> str:
        asked = set(text.lower().split())
        return max(sentences, key=lambda s: len(asked & set(s.lower().split())))

    first, second = sentences[seed % len(sentences)], sentences[(seed // 7 + 1) % len(sentences)]
    canned = {
        "transformed": passage,
        "questions": f"{ask(first)}\n{ask(second)}",
        "suggestions": "- Ask for the detail together with its consequence.",
        "revised_question": f"{question.rstrip('?')}, and which detail of the passage shows it?",
        "revised_passage": passage.replace(" ", "  ", 1),
        "answer": f"The passage states: {best_sentence(question)}",
    }
    return {name: canned.get(name, "OK") for name in fields}


def free_text(prompt: str) -> str:
    """An answer to a prompt without DSPy's field markers (other tools' prompts, a probe): one instruction-answer
    pair about the prompt's first sentence, in the "Instruction: ... Answer: ..." shape such tools parse."""
    sentence = next((s for s in _SENTENCE.split(prompt.strip()) if len(s.split()) >= 4), prompt.strip() or "Nothing.")
    topic = " ".join(sentence.split()[:6]).rstrip(".,;:")
    return f"Instruction: According to the text, what is stated about {topic}?\nAnswer: The text states: {sentence}"


@dataclass
class Faults:
    """Share of requests answered with each fault (drawn per request from a seeded generator)."""

    rate_limited: float = 0.0
    """429 with `Retry-After: retry_after`."""
    server_error: float = 0.0
    """500."""
    hang: float = 0.0
    """No answer for `hang_seconds` (the client must time out)."""
    malformed: float = 0.0
    """200 with text that has none of the requested fields."""
    retry_after: float = 0.2
    hang_seconds: float = 200.0
    seed: int = 0


class StubOpenAI:
    """Serves `/v1/chat/completions` (and `/v1/models`), answering every requested output field with canned text.

    Args:
        latency: Seconds every answer waits (the model's time), like a served model under load.
        faults: Faults to inject.
        port: A fixed port (0 picks a free one), so a test can stop the server and bring it back at the same URL.

    Attributes:
        requests: Every request body received, with its Authorization header, for assertions.
        faults_served: How many of each fault were injected.
        peak_inflight: Most requests being answered at once.
    """

    def __init__(self, latency: float = 0.0, faults: Faults | None = None, port: int = 0, keep: bool = True) -> None:
        self.requests: list[dict] = []
        self.served = 0
        self.faults_served: dict[str, int] = {}
        self.inflight = 0
        self.peak_inflight = 0
        self.latency = latency
        self.prompt_tokens = 100
        """The prompt tokens every answer reports using (its completion: 20)."""
        self.faults = faults or Faults()
        self._random = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._connections: set = set()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: a client pool reuses its connections, as with real servers

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm holds the body until
                # the client's delayed ACK of the headers, adding 40 ms to every answer (real servers set it too).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with stub._lock:
                    stub._connections.add(self.connection)

            def finish(self) -> None:
                with stub._lock:
                    stub._connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:
                if self.path.startswith("/stats"):  # the benchmark reads (and resets) what one run was served
                    with stub._lock:
                        self._send({"served": stub.served, "peak_inflight": stub.peak_inflight})
                        if "reset" in self.path:
                            stub.served = stub.peak_inflight = 0
                    return
                self._send({"object": "list", "data": [{"id": "stub", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                with stub._lock:
                    if keep:
                        stub.requests.append(
                            {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                        )
                    stub.inflight += 1
                    stub.peak_inflight = max(stub.peak_inflight, stub.inflight)
                    fault = stub._draw_fault()
                try:
                    self._answer(body, fault)
                finally:
                    with stub._lock:
                        stub.inflight -= 1
                        stub.served += 1

            def _answer(self, body: dict, fault: str | None) -> None:
                if stub.latency:
                    time.sleep(stub.latency)
                if fault == "hang":
                    time.sleep(stub.faults.hang_seconds)
                    return
                if fault == "rate_limited":
                    self._send(
                        {"error": {"message": "rate limited"}}, 429, {"Retry-After": f"{stub.faults.retry_after:g}"}
                    )
                    return
                if fault == "server_error":
                    self._send({"error": {"message": "internal error"}}, 500)
                    return
                last = body.get("messages", [{}])[-1].get("content", "")
                if isinstance(last, list):
                    last = " ".join(part.get("text", "") for part in last)
                requirement = last[last.rfind("Respond with") :] if "Respond with" in last else ""
                fields = [f for f in _REQUESTED.findall(requirement) if f != "completed"]
                values = answer_fields(last, fields, int(body.get("seed") or 0))
                text = "\n\n".join(f"[[ ## {f} ## ]]\n{v}" for f, v in values.items())
                text = (text + "\n\n[[ ## completed ## ]]") if fields else free_text(last)
                if fault == "malformed":
                    text = "Sure! Here is what you asked for, in my own words and with no structure at all."
                self._send(
                    {
                        "id": f"chatcmpl-{stub.served}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "stub"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                        "usage": {
                            "prompt_tokens": stub.prompt_tokens,
                            "completion_tokens": 20,
                            "total_tokens": stub.prompt_tokens + 20,
                        },
                    }
                )

            def _send(self, payload: dict, status: int = 200, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on this call (a timeout): nothing to answer

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 1024

            def handle_error(self, request, client_address) -> None:
                import sys

                if not isinstance(sys.exception(), ConnectionError):  # a client that hung up is no server error
                    super().handle_error(request, client_address)

        self.server = Server(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _draw_fault(self) -> str | None:
        roll = self._random.random()
        for name in ("rate_limited", "server_error", "hang", "malformed"):
            share = getattr(self.faults, name)
            if roll < share:
                self.faults_served[name] = self.faults_served.get(name, 0) + 1
                return name
            roll -= share
        return None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> StubOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        """Stop like a server that went away: no new connections, and the kept-alive ones are cut."""
        import socket

        self.server.shutdown()
        self.server.server_close()
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


def main() -> None:
    """Serve until killed, after printing the base URL (`GET /stats` tells what was served)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    with StubOpenAI(latency=args.latency, port=args.port, keep=False) as stub:
        print(stub.base_url, flush=True)
        stub.thread.join()


if __name__ == "__main__":
    main()
