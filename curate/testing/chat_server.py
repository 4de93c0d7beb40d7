"""A real OpenAI-compatible HTTP server on 127.0.0.1 for tests: :func:`serve_chat_completions`.

``POST /v1/chat/completions`` on a free port in a background thread, answered
by any :class:`~curate.llm.base.GenerationBackend` (one prompt per request, one
at a time). It speaks the protocol the OpenAI backend uses (``messages``,
``max_tokens``, ``temperature``, ``top_p``, ``seed``, ``stop``,
``response_format``; ``choices[0].message.content``, ``finish_reason``,
``usage``), checks a Bearer key and/or HTTP basic auth, counts requests and the
most in flight at once, and plays scripted faults (429, 500, 401, a slow reply,
a broken body, a reply of a given text) for tests::

    with serve_chat_completions(backend, model="tiny", api_key="k") as server:
        server.fail(Fault(status=429, retry_after=0), times=2)
        OpenAIBackend("tiny", api_base=server.api_base, ...)

The tiny model to back it is :func:`curate.testing.tiny_models.write_tiny_chat_model`.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from curate.llm.base import GenerationBackend, GenerationParams


@dataclass(frozen=True)
class Fault:
    """What the server does instead of answering normally.

    ``status``: answer with this HTTP status (and ``retry_after`` as ``Retry-After``);
    ``sleep``: wait this many seconds first (past a client's timeout), then answer
    normally (or with ``status``); ``body``: send these bytes with status 200;
    ``drop``: close the connection without answering; ``text``: a well-formed reply
    (status 200) whose message content is this text, whatever the prompt.
    """

    status: int | None = None
    retry_after: float | None = None
    sleep: float = 0.0
    body: bytes | None = None
    drop: bool = False
    text: str | None = None
    message: str = "simulated failure"


class ChatCompletionsServer:
    """The running server: ``api_base``, counters, the fault script; stop with :meth:`close`."""

    def __init__(
        self,
        backend: GenerationBackend,
        model: str = "tiny",
        api_key: str | None = None,
        delay: float = 0.0,
        response_format: bool = True,
        basic_auth: tuple[str, str] | None = None,
    ):
        self.backend = backend
        self.model = model
        self.api_key = api_key
        self.basic_auth = basic_auth  # (user, password) accepted as HTTP basic auth
        self.delay = delay  # seconds every request lingers (to see concurrency)
        self.response_format = response_format  # False: 400 on requests that carry one
        self.requests: list[dict[str, Any]] = []  # {"headers": {...}, "body": {...}} per request
        self.in_flight = 0
        self.max_in_flight = 0
        self._faults: deque[Fault] = deque()
        self._always: Fault | None = None
        self._lock = threading.Lock()
        self._generate_lock = threading.Lock()
        self._closing = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def fail(self, fault: Fault, times: int | None = 1) -> None:
        """The next ``times`` requests get ``fault``; ``times=None``: every request from now on."""
        with self._lock:
            if times is None:
                self._always = fault
            else:
                self._faults.extend([fault] * times)

    def heal(self) -> None:
        """No more faults."""
        with self._lock:
            self._faults.clear()
            self._always = None

    def close(self) -> None:
        self._closing.set()  # slow replies stop waiting
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> ChatCompletionsServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- request handling (called from the handler's thread) ------------------------------
    def handle(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._answer(path, headers, raw)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict, bytes]:
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body})
            fault = self._faults.popleft() if self._faults else self._always
        if self.delay:
            self._closing.wait(self.delay)
        if fault is not None and fault.sleep:
            self._closing.wait(fault.sleep)
        if fault is not None and fault.drop:
            return 0, {}, b""
        if fault is not None and fault.status is not None:
            extra = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            return _error(fault.status, fault.message, extra)
        if fault is not None and fault.body is not None:
            return 200, {}, fault.body
        if path.partition("?")[0].rstrip("/") != "/v1/chat/completions":
            return _error(404, f"no route {path}")
        if not self._authorized(headers.get("authorization")):
            return _error(401, "Incorrect API key provided")
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return _error(400, "the body must be a JSON object with messages")
        if fault is not None and fault.text is not None:
            return 200, {}, json.dumps(_reply(len(self.requests), self.model, fault.text)).encode()
        if body.get("model") != self.model:
            return _error(404, f"The model `{body.get('model')}` does not exist.")
        if "response_format" in body and not self.response_format:
            return _error(400, "unsupported parameter: response_format")
        schema = (body.get("response_format") or {}).get("json_schema", {}).get("schema")
        stop = body.get("stop") or ()
        params = GenerationParams(
            top_logprobs=int(body.get("top_logprobs") or 0) if body.get("logprobs") else 0,
            max_new_tokens=int(body.get("max_tokens") or 16),
            temperature=float(body.get("temperature") or 0.0),
            top_p=float(body.get("top_p") or 1.0),
            seed=int(body.get("seed") or 0),
            stop=(stop,) if isinstance(stop, str) else tuple(stop),
            json_schema=schema,
        )
        with self._generate_lock:
            gen = self.backend.generate([body["messages"]], params)[0]
        if gen.text is None:
            return _error(400, gen.error or "generation failed")
        reply = _reply(
            len(self.requests),
            self.model,
            gen.text,
            gen.finish_reason or "stop",
            gen.prompt_tokens,
            gen.completion_tokens,
        )
        if params.top_logprobs and gen.tokens is not None:
            reply["choices"][0]["logprobs"] = {
                "content": [
                    {
                        "token": token,
                        "logprob": top.get(token, 0.0),
                        "top_logprobs": [{"token": t, "logprob": lp} for t, lp in top.items()],
                    }
                    for token, top in gen.tokens
                ]
            }
        return 200, {}, json.dumps(reply).encode()

    def _authorized(self, authorization: str | None) -> bool:
        """No credential configured: anything goes; else the header must carry one of them."""
        accepted = []
        if self.api_key is not None:
            accepted.append(f"Bearer {self.api_key}")
        if self.basic_auth is not None:
            token = base64.b64encode(":".join(self.basic_auth).encode()).decode()
            accepted.append(f"Basic {token}")
        return not accepted or authorization in accepted


def _reply(
    number: int,
    model: str,
    text: str,
    finish_reason: str = "stop",
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{number}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def _error(status: int, message: str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    body = {"error": {"message": message, "type": "error", "code": status}}
    return status, headers or {}, json.dumps(body).encode()


def _handler(server: ChatCompletionsServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def do_POST(self) -> None:  # noqa: N802 (the http.server naming)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, extra, body = server.handle(self.path, headers, raw)
            if not status:  # a dropped connection
                self.close_connection = True
                return
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up (timed out) and closed the connection
                self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


def serve_chat_completions(
    backend: GenerationBackend,
    model: str = "tiny",
    api_key: str | None = None,
    delay: float = 0.0,
    response_format: bool = True,
    basic_auth: tuple[str, str] | None = None,
) -> ChatCompletionsServer:
    """Start a chat-completions server for a loaded ``backend``; use it as a context manager.

    ``model``: the name clients must ask for (else 404); ``api_key``: the Bearer
    key it accepts, ``basic_auth``: the ``(user, password)`` it accepts (with
    either set, a request without one of them gets 401; neither: no check);
    ``delay``: seconds each request lingers; ``response_format=False``: answer 400
    to requests that carry one.
    """
    return ChatCompletionsServer(backend, model, api_key, delay, response_format, basic_auth)


#: multilingual, with and without a system prompt, of different lengths (ragged batches)
SAMPLE_PROMPTS: list[list[dict[str, str]]] = [
    [{"role": "user", "content": "How do I bake bread at home?"}],
    [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ],
    [{"role": "user", "content": "请用简单的话解释机器学习。" * 3}],
    [
        {"role": "user", "content": "Как испечь хлеб дома?"},
        {"role": "assistant", "content": "Смешайте муку, воду, соль и дрожжи."},
        {"role": "user", "content": "def add(a, b): return a + b"},
    ],
    [{"role": "user", "content": "Write a short poem about the sea and the wind over the waves."}],
    [{"role": "user", "content": "12345"}],
]
