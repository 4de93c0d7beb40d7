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
* Nothing answers at ``api_base`` (connection refused, a host name that does not
  resolve, no answer to connecting within ``connect_timeout``): before the
  server has answered once, retried ``connect_retries`` times with a short
  backoff (a few seconds in all), then one :class:`CurateError` that names the
  address and says what to do. Once it has answered, a connection that cannot be
  opened again is retried like any transient error and then raises the same
  way: it says nothing about the prompt, so it is never recorded as that
  prompt's failure, and a run whose every request fails to connect stops within
  seconds instead of trying each prompt in turn.
* 429, 5xx, read timeouts, a connection dropped mid-request: retried
  ``max_retries`` times with exponential backoff and jitter (``Retry-After``
  honoured when the server sends it), then recorded as that prompt's
  ``Generation(error=...)``.
* other 4xx (prompt too long, ...) and a malformed response body: recorded at
  once (repeating the same request would get the same answer).
* ``json_schema`` is sent as ``response_format={"type": "json_schema", ...}``;
  a server that answers 400 about ``response_format`` gets the request again
  without it, and no later request carries it.

Secrets. The API key is read from the environment variable named by
``api_key_env`` at :meth:`OpenAIBackend.load` and sent as a Bearer header.
Credentials in ``api_base`` itself (``http://user:password@host/v1``) are sent
as HTTP basic auth (instead of the key), and its query (``?key=...``) is sent
with every request. All of them are held in :class:`Secret` objects: the
address that a repr, a log line, an error message or :meth:`OpenAIBackend.identity`
shows is :func:`public_url` (no user info, ``key``/``token``-like query values
replaced by ``[redacted]``). A server that quotes a secret back, in an error or
in a generated text, has it replaced by ``[redacted]`` before the text is
returned, so that it never reaches a store.

``connect_timeout`` applies to opening a connection, ``timeout`` to each wait
for the server's bytes (a non-streamed reply arrives only when it is complete).
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from curate.errors import CurateError
from curate.llm.base import (
    FINISH_LENGTH,
    FINISH_STOP,
    Generation,
    GenerationBackend,
    GenerationParams,
    Prompt,
    check_prompt,
    seeds_or_default,
    truncate_at_stop,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429}) | frozenset(range(500, 600))
MAX_RETRY_AFTER = 600.0  # seconds: a longer Retry-After is capped
TRANSIENT_ERRORS = (OSError, http.client.HTTPException)  # socket.timeout is an OSError
CONNECT_BUDGET = 10.0  # seconds: start-up connection retries stop after this long
REDACTED = "[redacted]"
#: query parameters whose values are credentials (``key=``, ``api_key=``, ``token=``, ``sig=`` ...)
SECRET_QUERY = re.compile(r"key|token|secret|passw|sig|auth|credential", re.I)
SCHEME = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.I)


def public_url(url: str | None) -> str | None:
    """``url`` as it may be shown and recorded: without user info, secret query values redacted."""
    if not url:
        return url
    base, mark, rest = url.strip().partition("?")
    # everything up to the last @ before the query is user info, even where a password
    # holds an unencoded / or @ (the address is then refused, but still shown safely)
    scheme = SCHEME.match(base)
    start = scheme.end() if scheme else 0
    at = base.rfind("@")
    if at >= start:
        base = base[:start] + base[at + 1 :]
    if not mark:
        return base
    query, hash_mark, fragment = rest.partition("#")
    pieces = []
    for piece in query.split("&"):
        name, equals, _ = piece.partition("=")
        pieces.append(f"{name}={REDACTED}" if equals and SECRET_QUERY.search(name) else piece)
    return f"{base}?{'&'.join(pieces)}{hash_mark}{fragment}"


class Secret:
    """A string that does not show itself: repr and str are ``'***'``."""

    __slots__ = ("_value",)

    def __init__(self, value: Any):
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __repr__(self) -> str:
        return "'***'"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


class _Fatal(Exception):
    """Every prompt would fail the same way: stop everything and raise a CurateError."""


class _ConnectFailed(Exception):
    """No connection could be opened (refused, unknown host, connect timeout, TLS)."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes):
        self.status, self.headers, self.body = status, headers, body

    def text(self, limit: int = 300) -> str:
        return self.body[:limit].decode("utf-8", "replace").strip()


class OpenAIBackend(GenerationBackend):
    """Chat completions from an OpenAI-compatible server; ``model`` is the name it serves."""

    name = "openai"
    requires = ()  # the standard library's http.client

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
        connect_timeout: float = 5.0,
        connect_retries: int = 3,
    ):
        self.model = model
        # what is shown and recorded; the address as given (credentials included) is a Secret
        self.api_base = public_url(api_base)
        self._api_base = Secret(api_base or "")
        self.api_key_env = api_key_env
        self.max_concurrency = max_concurrency
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.extra_body = dict(extra_body or {})
        self.connect_timeout = connect_timeout
        self.connect_retries = connect_retries
        self._key = Secret("")
        self._auth = Secret("")  # basic auth from api_base's user info
        self._target = Secret("")  # request path and query
        self._secrets = Secret(())  # the strings _redact removes, longest first
        self._reached = threading.Event()  # the server has answered at least once
        self._pool: ThreadPoolExecutor | None = None
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._conn_lock = threading.Lock()
        self._response_format_ok = True
        self._served: dict[str, Any] = {}

    _SETTINGS = (
        "model", "api_key_env", "max_concurrency", "timeout", "max_retries", "backoff",
        "max_backoff", "extra_body", "connect_timeout", "connect_retries",
    )  # fmt: skip

    def settings(self) -> dict[str, Any]:
        """Never the key: it stays in its environment variable, read by each worker's ``load()``.

        An address with credentials in it is not sent to another process at all.
        """
        if self.api_base != (self._api_base.reveal().strip() or None):
            raise CurateError(
                "an --api-base with credentials in it is not sent to other processes (Ray "
                "workers); give the key through --api-key-env instead"
            )
        return {
            "api_base": self._api_base.reveal() or None,
            **{k: getattr(self, k) for k in self._SETTINGS},
        }

    def __repr__(self) -> str:
        return (
            f"OpenAIBackend(model={self.model!r}, api_base={self.api_base!r}, "
            f"api_key_env={self.api_key_env!r})"
        )

    def params(self) -> dict[str, Any]:
        """The model and the address as shown (no credentials), and the extra body's keys."""
        return {
            "model": self.model,
            "api_base": self.api_base,
            "extra_body": sorted(self.extra_body),
        }

    # -- set-up --------------------------------------------------------------------------
    def load(self) -> None:
        if self._pool is not None:
            return
        self.check_requires()
        if not self.api_base:
            raise CurateError(
                "the openai backend needs api_base, the server's URL up to /v1 "
                "(e.g. http://127.0.0.1:8000/v1 for a local vLLM server)"
            )
        try:
            parts = urlsplit(self._api_base.reveal())
            host, port = parts.hostname, parts.port
        except ValueError:  # not shown: a malformed address may hold a password anywhere
            raise CurateError(
                "api_base is not a valid http(s) URL (a bad port, or a user name or password "
                "with / ? # @ or : that is not percent-encoded); give e.g. http://127.0.0.1:8000/v1"
            ) from None
        if parts.scheme not in ("http", "https") or not host:
            raise CurateError(f"api_base {self.api_base!r} is not an http(s) URL")
        if (
            self.max_concurrency < 1
            or self.max_retries < 0
            or self.timeout <= 0
            or self.connect_timeout <= 0
            or self.connect_retries < 0
        ):
            raise CurateError(
                "max_concurrency must be >= 1, max_retries and connect_retries >= 0, "
                "timeout and connect_timeout > 0"
            )
        self._scheme, self._host, self._port = parts.scheme, host, port
        path = parts.path.rstrip("/") + "/chat/completions"
        target = f"{path}?{parts.query}" if parts.query else path
        if any(c.isspace() or not c.isprintable() for c in target):
            raise CurateError(
                f"api_base {self.api_base!r} has spaces or control characters in its path or "
                "query: percent-encode them"
            )
        self._target = Secret(target)
        secrets = []
        if parts.username is not None:  # user info: HTTP basic auth
            user, password = unquote(parts.username), unquote(parts.password or "")
            token = base64.b64encode(f"{user}:{password}".encode()).decode()
            self._auth = Secret("Basic " + token)
            secrets += [password, parts.password or "", token]
        for piece in parts.query.split("&"):
            name, _, value = piece.partition("=")
            if value and SECRET_QUERY.search(name):
                secrets += [value, unquote(value)]
        # no key is fine: a local server started without --api-key needs none
        self._key = Secret(os.environ.get(self.api_key_env, ""))
        secrets.append(self._key.reveal())
        self._secrets = Secret(tuple(sorted({s for s in secrets if s}, key=len, reverse=True)))
        self._reached.clear()
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
    def generate(
        self,
        prompts: list[Prompt],
        params: GenerationParams,
        seeds: Sequence[int] | None = None,
    ) -> list[Generation]:
        if self._pool is None:
            raise CurateError("OpenAIBackend.generate called before load()")
        abort = threading.Event()
        per_prompt = [
            params if s == params.seed else replace(params, seed=s)
            for s in seeds_or_default(prompts, params, seeds)
        ]
        futures: list[Future] = [
            self._pool.submit(self._one, p, q, abort) for p, q in zip(prompts, per_prompt)
        ]
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
        if params.top_logprobs:
            body["logprobs"] = True
            body["top_logprobs"] = params.top_logprobs
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
        attempt = connect_attempt = 0
        started = time.monotonic()
        while True:
            if abort.is_set():
                return Generation.failed("aborted: another request failed fatally")
            try:
                response = self._post(self._body(prompt, params, response_format))
            except _ConnectFailed as exc:
                what = self._describe_connect_error(exc.error)
                if not self._reached.is_set():  # start-up: nothing has answered yet
                    connect_attempt += 1
                    delay = min(2.0, 0.25 * 2 ** (connect_attempt - 1)) * random.uniform(0.5, 1.0)
                    spent = time.monotonic() - started
                    if connect_attempt > self.connect_retries or spent + delay > CONNECT_BUDGET:
                        raise _Fatal(self._unreachable(what, connect_attempt, spent)) from None
                    log.debug(
                        "cannot connect (%s); retry %d in %.2f s", what, connect_attempt, delay
                    )
                    if abort.wait(delay):
                        return Generation.failed("aborted: another request failed fatally")
                    continue
                if attempt >= self.max_retries:  # it answered before: it has gone away
                    raise _Fatal(
                        f"lost the server at {self.api_base}: {what} ({attempt + 1} attempts); "
                        "it stopped or restarted: start it again and rerun the same command, "
                        "which resumes where this one stopped"
                    ) from None
                retry_after = None
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
                if status in (401, 403) and self._auth:
                    raise _Fatal(
                        f"the endpoint refused the user name and password in api_base (http "
                        f"{status} from {self.api_base}): give credentials this server accepts"
                    )
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

    def _describe_connect_error(self, error: OSError) -> str:
        if isinstance(error, socket.gaierror):
            return f"cannot resolve the host name {self._host!r}"
        if isinstance(error, (socket.timeout, TimeoutError)):
            return f"no answer to connecting within {self.connect_timeout:g} s"
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        return f"{type(error).__name__}: {self._redact(str(error))}"

    def _unreachable(self, what: str, attempts: int, seconds: float) -> str:
        return (
            f"cannot connect to the server at {self.api_base}: {what} "
            f"({attempts} attempt{'s' if attempts > 1 else ''} in {seconds:.1f} s); start the "
            "server (e.g. `vllm serve MODEL --port PORT`) and wait until it listens, or fix the "
            "address (--api-base: scheme, host, port, and the path up to /v1)"
        )

    def _post(self, body: bytes) -> _Response:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self._auth:  # credentials in api_base win over a key that may be set for other uses
            headers["Authorization"] = self._auth.reveal()
        elif self._key:
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
            conn.request("POST", self._target.reveal(), body=body, headers=headers)
            raw = conn.getresponse()
            data = raw.read()
        except BaseException:
            self._drop(conn)
            raise
        self._reached.set()
        if raw.will_close:
            self._drop(conn)
        return _Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data)

    def _connect(self) -> http.client.HTTPConnection:
        """A new connection, opened now (``connect_timeout``), then ``timeout`` for each read."""
        if self._scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                self._host,
                self._port,
                timeout=self.connect_timeout,
                context=ssl.create_default_context(),
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.connect_timeout)
        try:
            conn.connect()
        except OSError as exc:  # refused, unknown host, connect timeout, TLS handshake
            conn.close()
            raise _ConnectFailed(exc) from None
        conn.timeout = self.timeout
        conn.sock.settimeout(self.timeout)
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
                k: self._redact(str(data[k]))
                for k in ("model", "system_fingerprint")
                if data.get(k) is not None
            }
            if "model" in self._served:
                self._served["served_model"] = self._served.pop("model")
        text, stopped = truncate_at_stop(text, params.stop)  # servers differ; OpenAI cuts
        text = self._redact(text)  # a server that echoes a secret: it never reaches the caller
        reason = choice.get("finish_reason")
        finish = FINISH_LENGTH if reason == "length" and not stopped else FINISH_STOP
        tokens = _tokens(choice) if params.top_logprobs else None
        return Generation(text, None, prompt_tokens, completion_tokens, finish, tokens)

    def _redact(self, text: str) -> str:
        """``text`` with every secret (key, password, basic-auth token, query key) replaced."""
        for secret in self._secrets.reveal():
            text = text.replace(secret, REDACTED)
        return text


def _tokens(choice: dict[str, Any]) -> list[tuple[str, dict[str, float]]] | None:
    """The chat-completions ``logprobs.content`` as (token, {alternative: logprob}) per token;
    None when the server sent none or sent them malformed (the text still counts)."""
    try:
        content = (choice.get("logprobs") or {}).get("content")
        if not content:
            return None
        return [
            (
                str(item["token"]),
                {
                    str(alt["token"]): float(alt["logprob"])
                    for alt in item.get("top_logprobs") or []
                },
            )
            for item in content
        ]
    except (TypeError, KeyError, ValueError, AttributeError):
        return None


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
