"""A local OpenAI-compatible chat-completions server for endpoint tests (HTTP on 127.0.0.1, stops with the test)."""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_REQUESTED = re.compile(r"\[\[ ## (\w+) ## \]\]")

CANNED = {
    "transformed": "The council of Ashford voted in 2021 to plant 300 oak trees along the river, because floods had "
    "damaged 40 homes the year before. Volunteers planted the trees over six weekends.",
    "questions": "How many oak trees did the council of Ashford vote to plant?\n"
    "Why did the council decide to plant trees along the river?",
    "suggestions": "- Ask about a detail the passage does not give.\n- Combine two facts.",
    "revised_question": "How many homes did the floods damage, and how many trees were planted in response?",
    "revised_passage": "The council of Ashford voted in 2021 to plant 250 oak trees along the river.",
    "answer": "The floods damaged 40 homes, and the council voted to plant 300 oak trees in response.",
}


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
                text = "\n\n".join(f"[[ ## {f} ## ]]\n{CANNED.get(f, 'OK')}" for f in fields)
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
