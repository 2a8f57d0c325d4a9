"""A local OpenAI-compatible chat-completions server for endpoint tests (HTTP on 127.0.0.1, stops with the test)."""

from __future__ import annotations

import json
import re
import threading
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


class StubOpenAI:
    """Serves `/v1/chat/completions` (and `/v1/models`), answering every requested output field with canned text.

    Attributes:
        requests: Every request body received, with its Authorization header, for assertions.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                self._send({"object": "list", "data": [{"id": "stub", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                stub.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                last = body.get("messages", [{}])[-1].get("content", "")
                if isinstance(last, list):
                    last = " ".join(part.get("text", "") for part in last)
                requirement = last[last.rfind("Respond with") :] if "Respond with" in last else ""
                fields = [f for f in _REQUESTED.findall(requirement) if f != "completed"]
                values = answer_fields(last, fields, int(body.get("seed") or 0))
                text = "\n\n".join(f"[[ ## {f} ## ]]\n{v}" for f, v in values.items())
                text = (text + "\n\n[[ ## completed ## ]]") if fields else "OK"
                self._send(
                    {
                        "id": f"chatcmpl-{len(stub.requests)}",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "stub"),
                        "choices": [
                            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
                        ],
                        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                    }
                )

            def _send(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> StubOpenAI:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
