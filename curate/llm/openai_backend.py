"""Generation through any OpenAI-compatible ``/v1/chat/completions`` endpoint.

vLLM's and sglang's servers, llama.cpp's ``llama-server``, hosted APIs: one
request per prompt, ``max_concurrency`` of them in flight.

Why a thread pool (and the standard library's ``http.client``) rather than
asyncio: the callers (tagger, judge) are synchronous, and an event loop of our
own would clash with one already running (Jupyter); the work is waiting on the
network, so threads cost nothing under the GIL; each worker thread keeps one
keep-alive connection, so there are never more than ``max_concurrency``
requests (or connections) open. ``http.client`` needs no extra dependency.

Errors:

* 401 / 403: the key is wrong for every prompt: :class:`CurateError` at once.
* 404: wrong ``api_base`` or model name: :class:`CurateError` at once.
* 429, 5xx, timeouts, connection errors: retried ``max_retries`` times with
  exponential backoff and jitter (``Retry-After`` honoured when the server sends
  it), then recorded as that prompt's ``Generation(error=...)``.
* other 4xx (prompt too long, ...) and a malformed response body: recorded at
  once (repeating the same request would get the same answer).
* ``json_schema`` is sent as ``response_format={"type": "json_schema", ...}``;
  a server that answers 400 about ``response_format`` gets the request again
  without it, and no later request carries it.

The API key is read from the environment variable named by ``api_key_env`` at
:meth:`OpenAIBackend.load` and sent as a Bearer header; it is held in a
:class:`Secret` and never appears in a repr, a log line, an error message or
:meth:`OpenAIBackend.identity` (server text quoted in an error is redacted).
``timeout`` applies to connecting and to each wait for the server's bytes (a
non-streamed reply arrives only when it is complete).
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import random
import socket
import ssl
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from curate.errors import CurateError
from curate.llm.base import (
    FINISH_LENGTH,
    FINISH_STOP,
    Generation,
    GenerationBackend,
    GenerationParams,
    Prompt,
    check_prompt,
    truncate_at_stop,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
MAX_RETRY_AFTER = 600.0  # seconds: a longer Retry-After is capped
TRANSIENT_ERRORS = (OSError, http.client.HTTPException)  # socket.timeout is an OSError


class Secret:
    """A string that does not show itself: repr and str are ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: str):
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class _Fatal(Exception):
    """Every prompt would fail the same way: stop everything and raise a CurateError."""


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()


class OpenAIBackend(GenerationBackend):
    """Chat completions from an OpenAI-compatible server; ``model`` is the name it serves."""

    name = "openai"

    def __init__(
        self,
        model: str,
        api_base: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        max_concurrency: int = 16,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        extra_body: dict[str, Any] | None = None,
    ):
        self.model = model
        self.api_base = api_base
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.extra_body = dict(extra_body or {})
        self._key = Secret("")
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._conn_lock = threading.Lock()
        self._response_format_ok = True
        self._served: dict[str, Any] = {}

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.model!r}, api_base={self.api_base!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    # -- set-up --------------------------------------------------------------------------
    def load(self) -> None:
        if self._pool is not None:
            return
        if not self.api_base:
            raise CurateError(
                "the openai backend needs api_base, the server's URL up to /v1 "
                "(e.g. http://127.0.0.1:8000/v1 for a local vLLM server)"
            )
        parts = urlsplit(self.api_base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CurateError(f"api_base {self.api_base!r} is not an http(s) URL")
        if self.max_concurrency < 1 or self.max_retries < 0 or self.timeout <= 0:
            raise CurateError("max_concurrency must be >= 1, max_retries >= 0 and timeout > 0")
        self._scheme, self._host, self._port = parts.scheme, parts.hostname, parts.port
        self._path = parts.path.rstrip("/") + "/chat/completions"
        # no key is fine: a local server started without --api-key needs none
        self._key = Secret(os.environ.get(self.api_key_env, ""))
        self._pool = ThreadPoolExecutor(self.max_concurrency, thread_name_prefix="curate-openai")

    def identity(self) -> dict[str, Any]:
        ident = {"backend": self.name, "model": self.model, "api_base": self.api_base}
        ident |= self._served  # what the server says it ran (model, system_fingerprint)
        return ident

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        with self._conn_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    # -- generation ----------------------------------------------------------------------
    def generate(self, prompts: list[Prompt], params: GenerationParams) -> list[Generation]:
        if self._pool is None:
            raise CurateError("OpenAIBackend.generate called before load()")
        abort = threading.Event()
        futures: list[Future] = [self._pool.submit(self._one, p, params, abort) for p in prompts]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            failed = next((f for f in done if f.exception() is not None), None)
            if failed is not None:
                exc = failed.exception()
                if isinstance(exc, _Fatal):
                    raise CurateError(str(exc)) from None
                raise exc
        finally:
            if not all(f.done() for f in futures):  # a fatal error, or Ctrl-C: stop the rest
                abort.set()
                for future in futures:
                    future.cancel()
                wait(futures)  # requests in flight end within their timeout
        return [f.result() for f in futures]

    def _body(self, prompt: Prompt, params: GenerationParams, response_format: bool) -> bytes:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m["role"], "content": m["content"]} for m in prompt],
            "max_tokens": params.max_new_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "seed": params.seed,
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.json_schema is not None and response_format:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": params.json_schema, "strict": True},
            }
        body |= self.extra_body
        return json.dumps(body, ensure_ascii=False).encode("utf-8")

    def _one(self, prompt: Prompt, params: GenerationParams, abort: threading.Event) -> Generation:
        """One prompt to its Generation; raises _Fatal only for errors every prompt would hit."""
        why = check_prompt(prompt)
        if why:
            return Generation.failed(why)
        response_format = self._response_format_ok and params.json_schema is not None
        attempt = 0
        while True:
            if abort.is_set():
                return Generation.failed("aborted: another request failed fatally")
            try:
                response = self._post(self._body(prompt, params, response_format))
            except TRANSIENT_ERRORS as exc:
                what = (
                    f"timeout after {self.timeout:g} s"
                    if isinstance(exc, (socket.timeout, TimeoutError))
                    else f"connection error ({type(exc).__name__}: {self._redact(str(exc))})"
                )
                retry_after = None
            else:
                status = response.status
                if status == 200:
                    return self._parse(response, params)
                if status in (401, 403):
                    raise _Fatal(
                        f"the endpoint refused the API key in ${self.api_key_env} (http {status} "
                        f"from {self.api_base}): set {self.api_key_env} to a key this server "
                        f"accepts{'' if self._key else f' ({self.api_key_env} is not set)'}"
                    )
                if status == 404:
                    raise _Fatal(
                        f"model or path not found at api_base {self.api_base} (http 404 for model "
                        f"{self.model!r}: {self._redact(response.text(200))}): check api_base "
                        "(it ends in /v1) and the model name the server serves (GET /v1/models)"
                    )
                if (
                    status == 400
                    and response_format
                    and b"response_format" in response.body.lower()
                ):
                    log.info("%s refuses response_format; sending requests without it", self._host)
                    self._response_format_ok = False
                    response_format = False
                    continue
                if status not in RETRY_STATUSES:
                    return Generation.failed(f"http {status}: {self._redact(response.text())}")
                what = f"http {status}: {self._redact(response.text(200))}"
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt >= self.max_retries:
                return Generation.failed(f"{what} (after {attempt + 1} attempts)")
            delay = self._delay(attempt, retry_after)
            log.debug("request failed (%s); retry %d in %.2f s", what, attempt + 1, delay)
            attempt += 1
            if abort.wait(delay):
                return Generation.failed("aborted: another request failed fatally")

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return ceiling * random.uniform(0.5, 1.0)  # jitter: retries from many threads spread out

    def _post(self, body: bytes) -> _Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._key:
            headers["Authorization"] = "Bearer " + self._key.reveal()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                return self._exchange(conn, body, headers)
            except (ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected):
                pass  # the server closed an idle keep-alive connection: open a new one
        return self._exchange(self._connect(), body, headers)

    def _exchange(
        self, conn: http.client.HTTPConnection, body: bytes, headers: dict[str, str]
    ) -> _Response:
        try:
            conn.request("POST", self._path, body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        except BaseException:
            self._drop(conn)
            raise
        if raw.will_close:
            self._drop(conn)
        return _Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)

    def _connect(self) -> http.client.HTTPConnection:
        if self._scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        with self._conn_lock:
            self._connections.append(conn)
        self._local.conn = conn
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._conn_lock:
            if conn in self._connections:
                self._connections.remove(conn)
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def _parse(self, response: _Response, params: GenerationParams) -> Generation:
        try:
            data = json.loads(response.body)
            choice = data["choices"][0]
            text = choice["message"]["content"]
            if not isinstance(text, str):
                raise TypeError("message content is not a string")
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or 0)
            completion_tokens = int(usage.get("completion_tokens") or 0)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
            return Generation.failed(
                f"malformed response body ({type(exc).__name__}: {self._redact(str(exc))}): "
                f"{self._redact(response.text(200))}"
            )
        if not self._served:
            self._served = {
                k: data[k] for k in ("model", "system_fingerprint") if data.get(k) is not None
            }
            if "model" in self._served:
                self._served["served_model"] = self._served.pop("model")
        text, stopped = truncate_at_stop(text, params.stop)  # servers differ; OpenAI cuts
        reason = choice.get("finish_reason")
        finish = FINISH_LENGTH if reason == "length" and not stopped else FINISH_STOP
        return Generation(text, None, prompt_tokens, completion_tokens, finish)

    def _redact(self, text: str) -> str:
        key = self._key.reveal()
        return text.replace(key, "***") if key else text


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
