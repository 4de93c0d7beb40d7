"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 backed by the tiny model."""

import logging
import socket
import time

import pytest

from curate.errors import CurateError
from curate.llm import GenerationParams, resolve_backend
from curate.testing.chat_server import SAMPLE_PROMPTS, Fault, serve_chat_completions

KEY = "sk-curate-FAKE-7f3a9c1e5b"
KEY_ENV = "CURATE_TEST_LLM_KEY"
GREEDY = GenerationParams(max_new_tokens=12)


@pytest.fixture
def server(tiny_backend):
    with serve_chat_completions(tiny_backend, model="tiny", api_key=KEY) as running:
        yield running


@pytest.fixture
def client(server, monkeypatch):
    """A loaded OpenAI backend for ``server``, with quick retries; options via ``client(**kw)``."""
    monkeypatch.setenv(KEY_ENV, KEY)
    opened = []

    def make(**options):
        options = {"api_base": server.api_base, "api_key_env": KEY_ENV, "backoff": 0.001} | options
        backend = resolve_backend("openai", options.pop("model", "tiny"), **options)
        backend.load()
        opened.append(backend)
        return backend

    yield make
    for backend in opened:
        backend.close()


def test_same_replies_as_the_local_backend(tiny_backend, server, client):
    remote = client(max_concurrency=4)
    for params in (GREEDY, GenerationParams(max_new_tokens=6, stop=("a",))):
        direct = tiny_backend.generate(SAMPLE_PROMPTS, params)
        served = remote.generate(SAMPLE_PROMPTS, params)
        assert [g.text for g in served] == [g.text for g in direct]
        assert [(g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in served] == [
            (g.prompt_tokens, g.completion_tokens, g.finish_reason) for g in direct
        ]
    body = server.requests[0]["body"]
    assert body["model"] == "tiny" and body["max_tokens"] == 12 and body["temperature"] == 0.0
    assert server.requests[-1]["body"]["stop"] == ["a"]
    assert remote.identity() == {
        "backend": "openai",
        "model": "tiny",
        "api_base": server.api_base,
        "served_model": "tiny",
    }


def test_transient_429_and_500_are_retried(tiny_backend, server, client):
    server.fail(Fault(status=429, retry_after=0), times=2)
    server.fail(Fault(status=500), times=1)
    remote = client(max_concurrency=1)
    out = remote.generate(SAMPLE_PROMPTS[:2], GREEDY)
    assert [g.text for g in out] == [
        g.text for g in tiny_backend.generate(SAMPLE_PROMPTS[:2], GREEDY)
    ]
    assert len(server.requests) == 5  # 3 failures + 2 answers


def test_retry_after_is_honoured(server, client):
    server.fail(Fault(status=429, retry_after=0.3), times=1)
    remote = client(backoff=30.0)  # backoff alone would wait 15-30 s
    start = time.monotonic()
    assert remote.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
    assert 0.3 <= time.monotonic() - start < 5


def test_persistent_500_is_recorded_per_prompt(server, client):
    server.fail(Fault(status=500, message="engine dead"), times=None)
    out = client(max_retries=2).generate(SAMPLE_PROMPTS[:3], GREEDY)
    for gen in out:
        assert gen.text is None and not gen.ok
        assert gen.error.startswith("http 500") and "engine dead" in gen.error
        assert "after 3 attempts" in gen.error
    assert len(server.requests) == 9


def test_timeouts_are_retried_then_recorded(server, client):
    server.fail(Fault(sleep=5), times=None)
    start = time.monotonic()
    out = client(timeout=0.25, max_retries=1).generate(SAMPLE_PROMPTS[:2], GREEDY)
    assert time.monotonic() - start < 3
    for gen in out:
        assert gen.text is None and gen.error == "timeout after 0.25 s (after 2 attempts)"
    assert len(server.requests) == 4


def test_a_slow_reply_then_success(tiny_backend, server, client):
    server.fail(Fault(sleep=1), times=1)
    out = client(timeout=0.25, max_concurrency=1).generate(SAMPLE_PROMPTS[:1], GREEDY)
    assert out[0].text == tiny_backend.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].text


def test_dropped_connections(server, client):
    remote = client(max_concurrency=1, max_retries=0)
    assert remote.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
    # a kept-alive connection the server dropped is reopened at once, not counted as a retry
    server.fail(Fault(drop=True), times=1)
    assert remote.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
    # a fresh connection dropped is a connection error: retried, then recorded
    server.fail(Fault(drop=True), times=2)
    remote.close()
    remote.load()
    out = remote.generate(SAMPLE_PROMPTS[:1], GREEDY)
    assert out[0].text is None and "connection error (RemoteDisconnected" in out[0].error
    assert client(max_concurrency=1, max_retries=1).generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("failure", ["refused", "unknown host", "connect timeout"])
def test_an_unreachable_server_fails_fast_with_its_address(failure, monkeypatch):
    """Nothing answers: one CurateError within seconds (defaults: 16 threads, 4 retries, 1 s
    backoff), naming the address without its credentials; no per-prompt retries for minutes."""
    port = free_port()
    host = "127.0.0.1"
    if failure == "unknown host":
        host = "no-such-host.invalid"
        real = socket.getaddrinfo

        def getaddrinfo(name, *args, **kwargs):
            if name == host:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return real(name, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    elif failure == "connect timeout":

        def create_connection(address, timeout=None, *args, **kwargs):
            assert timeout == 0.5  # connect_timeout, not the 120 s read timeout
            raise TimeoutError("timed out")

        monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setenv(KEY_ENV, KEY)
    backend = resolve_backend(
        "openai",
        "m",
        api_base=f"http://user:hunter2-secret@{host}:{port}/v1?key=qk-secret-99",
        api_key_env=KEY_ENV,
        connect_timeout=0.5,
    )
    backend.load()
    start = time.monotonic()
    try:
        with pytest.raises(CurateError) as raised:
            backend.generate(SAMPLE_PROMPTS * 5, GREEDY)
    finally:
        backend.close()
    assert time.monotonic() - start < 20
    message = str(raised.value)
    assert f"cannot connect to the server at http://{host}:{port}/v1?key=[redacted]" in message
    assert "start the server" in message and "--api-base" in message
    assert {
        "refused": "connection refused",
        "unknown host": f"cannot resolve the host name '{host}'",
        "connect timeout": "no answer to connecting within 0.5 s",
    }[failure] in message
    for secret in ("hunter2-secret", "qk-secret-99", KEY, "user:"):
        assert secret not in message


def test_a_server_that_goes_away_mid_run_stops_the_run(server, client):
    remote = client(max_concurrency=2, max_retries=2)
    assert all(g.ok for g in remote.generate(SAMPLE_PROMPTS[:2], GREEDY))
    server.fail(Fault(drop=True), times=None)  # kept-alive connections are closed ...
    server.close()  # ... and new ones refused
    start = time.monotonic()
    with pytest.raises(CurateError, match=rf"lost the server at {server.api_base}.*refused"):
        remote.generate(SAMPLE_PROMPTS * 5, GREEDY)
    assert time.monotonic() - start < 20


def test_malformed_body_is_recorded_not_retried(server, client):
    server.fail(Fault(body=b"<html>gateway</html>"), times=1)
    server.fail(Fault(body=b'{"choices": []}'), times=1)
    out = client(max_concurrency=1).generate(SAMPLE_PROMPTS[:3], GREEDY)
    assert out[0].text is None and "malformed response body" in out[0].error
    assert "gateway" in out[0].error
    assert out[1].text is None and "malformed response body (IndexError" in out[1].error
    assert out[2].ok
    assert len(server.requests) == 3


def test_other_4xx_is_recorded_at_once(server, client):
    server.fail(Fault(status=400, message="prompt too long"), times=1)
    out = client(max_concurrency=1).generate(SAMPLE_PROMPTS[:2], GREEDY)
    assert (
        out[0].error
        == 'http 400: {"error": {"message": "prompt too long", "type": "error", "code": 400}}'
    )
    assert out[1].ok and len(server.requests) == 2


def test_wrong_key_raises_at_once(server, client, monkeypatch):
    remote = client(max_concurrency=2)
    monkeypatch.setenv(KEY_ENV, "sk-wrong")
    remote.close()
    remote.load()  # the key is read at load time
    with pytest.raises(CurateError, match=rf"refused the API key in \${KEY_ENV}.*http 401"):
        remote.generate(SAMPLE_PROMPTS * 5, GREEDY)
    assert len(server.requests) < len(SAMPLE_PROMPTS) * 5  # the rest were not sent
    server.fail(Fault(status=403), times=None)
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(CurateError, match="http 403"):
        client().generate(SAMPLE_PROMPTS[:1], GREEDY)


def test_unset_key_sends_no_header_and_says_so(server, client, monkeypatch):
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(CurateError, match=f"{KEY_ENV} is not set"):
        client().generate(SAMPLE_PROMPTS[:1], GREEDY)
    assert "authorization" not in server.requests[-1]["headers"]


def test_unknown_model_or_path_raises(server, client):
    with pytest.raises(CurateError, match="model or path not found at api_base.*'nope'"):
        client(model="nope").generate(SAMPLE_PROMPTS[:1], GREEDY)
    with pytest.raises(CurateError, match="model or path not found.*ends in /v1"):
        client(api_base=server.api_base + "/v2").generate(SAMPLE_PROMPTS[:1], GREEDY)


def test_api_key_is_sent_but_never_shown(server, client, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    remote = client(max_retries=1)
    texts = [repr(remote), str(remote), str(remote.identity()), str(vars(remote))]
    assert remote.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"
    # a server that quotes the key back: it is redacted from the recorded error
    server.fail(Fault(status=500, message=f"bad request with key {KEY}"), times=None)
    failed = remote.generate(SAMPLE_PROMPTS[:2], GREEDY)
    assert all("[redacted]" in g.error for g in failed)
    texts += [g.error for g in failed] + [repr(g) for g in failed]
    server.heal()
    server.api_key = "something-else"  # now 401
    with pytest.raises(CurateError) as refused:
        remote.generate(SAMPLE_PROMPTS[:1], GREEDY)
    texts += [str(refused.value), repr(refused.value), str(refused.value.__context__)]
    out = capsys.readouterr()
    texts += [caplog.text, out.out, out.err, repr(remote), str(remote.identity())]
    assert caplog.text  # the retries were logged
    for text in texts:
        assert KEY not in text
        assert KEY[-6:] not in text


def test_concurrency_limit(server, client):
    server.delay = 0.05
    out = client(max_concurrency=3).generate(SAMPLE_PROMPTS * 2, GREEDY)
    assert all(g.ok for g in out)
    assert server.max_in_flight == 3


def test_json_schema_as_response_format(server, client):
    schema = {"type": "object", "properties": {"tags": {"type": "array"}}}
    params = GenerationParams(max_new_tokens=4, json_schema=schema)
    assert client().generate(SAMPLE_PROMPTS[:1], params)[0].ok
    sent = server.requests[-1]["body"]["response_format"]
    assert sent["type"] == "json_schema" and sent["json_schema"]["schema"] == schema


def test_response_format_refused_then_dropped(server, client):
    server.response_format = False
    remote = client(max_concurrency=1)
    params = GenerationParams(max_new_tokens=4, json_schema={"type": "object"})
    assert all(g.ok for g in remote.generate(SAMPLE_PROMPTS[:2], params))
    assert all(g.ok for g in remote.generate(SAMPLE_PROMPTS[:1], params))
    carried = ["response_format" in r["body"] for r in server.requests]
    assert carried == [True, False, False, False]


def test_load_checks_options(monkeypatch):
    with pytest.raises(CurateError, match="needs api_base"):
        resolve_backend("openai", "m").load()
    with pytest.raises(CurateError, match="not an http"):
        resolve_backend("openai", "m", api_base="127.0.0.1:8000/v1").load()
    with pytest.raises(CurateError, match="'h:1/v1' is not an http") as no_scheme:
        resolve_backend("openai", "m", api_base="u:pw-123@h:1/v1").load()
    with pytest.raises(CurateError, match="not a valid http") as bad_port:
        resolve_backend("openai", "m", api_base="http://u:pw/123@h:1/v1").load()
    with pytest.raises(CurateError, match="spaces or control characters") as spaces:
        resolve_backend("openai", "m", api_base="http://h/v1?key=pw 123").load()
    for raised in (no_scheme, bad_port, spaces):
        assert "pw" not in str(raised.value)
    with pytest.raises(CurateError, match="before load"):
        resolve_backend("openai", "m", api_base="http://h/v1").generate([], GREEDY)


def test_public_url_drops_credentials():
    from curate.llm.openai_backend import public_url

    assert public_url("http://u:p@h:8000/v1") == "http://h:8000/v1"
    assert public_url("https://me@host/v1") == "https://host/v1"
    assert public_url("http://u:p@ss@h/v1") == "http://h/v1"  # an unencoded @ in the password
    assert (
        public_url("http://h/v1?api-version=2024&key=abc&access_token=t#f")
        == "http://h/v1?api-version=2024&key=[redacted]&access_token=[redacted]#f"
    )
    assert public_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    assert public_url("u:p@h:8000/v1") == "h:8000/v1"  # no scheme (refused by load, shown)
    assert public_url("http://h/v1?q=a@b") == "http://h/v1?q=a@b"
    assert public_url("http://u:p/w@h:1/v1") == "http://h:1/v1"  # an unencoded / in it
    assert public_url(None) is None


def test_credentials_in_api_base_are_used_never_shown(tiny_backend, caplog):
    """user:password in api_base is sent as basic auth (the key is not) and a ?key= query goes
    with each request; none of them is in a repr, identity, log line, error or reply."""
    import base64

    caplog.set_level(logging.DEBUG)
    password, query_key = "hunter2-Pa55", "qk-7781-secret"
    with serve_chat_completions(tiny_backend, basic_auth=("alice", password)) as server:
        base = server.api_base.replace("//", f"//alice:{password}@") + f"?key={query_key}"
        remote = resolve_backend(
            "openai", "tiny", api_base=base, backoff=0.001, max_retries=1, max_concurrency=1
        )
        with remote:
            assert remote.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
            sent = server.requests[-1]
            token = base64.b64encode(f"alice:{password}".encode()).decode()
            assert sent["headers"]["authorization"] == f"Basic {token}"
            assert sent["path"] == f"/v1/chat/completions?key={query_key}"
            # a server that quotes the credentials back
            server.fail(Fault(text=f"you sent {password} and {query_key} as {token}"), times=1)
            server.fail(Fault(status=500, message=f"bad {password}"), times=None)
            out = remote.generate(SAMPLE_PROMPTS[:2], GREEDY)
            assert out[0].text == "you sent [redacted] and [redacted] as [redacted]"
            assert out[1].error.startswith("http 500") and "[redacted]" in out[1].error
            server.heal()
            server.basic_auth = ("alice", "changed")
            with pytest.raises(CurateError, match="refused the user name and password") as refused:
                remote.generate(SAMPLE_PROMPTS[:1], GREEDY)
            texts = [repr(remote), str(vars(remote)), str(remote.identity()), str(refused.value)]
            texts += [g.text or g.error for g in out] + [caplog.text]
            assert remote.identity()["api_base"] == (
                f"http://127.0.0.1:{server.port}/v1?key=[redacted]"
            )
    for text in texts:
        for secret in (password, query_key, token, "alice"):
            assert secret not in text


def test_one_seed_per_prompt_is_sent_with_each_request(server, client):
    remote = client(max_concurrency=3)
    sampled = GenerationParams(max_new_tokens=6, temperature=1.0, seed=9)
    prompts = [SAMPLE_PROMPTS[0]] * 3
    first = [g.text for g in remote.generate(prompts, sampled, seeds=[1, 2, 1])]
    sent = sorted(r["body"]["seed"] for r in server.requests[-3:])
    assert sent == [1, 1, 2]
    assert first[0] == first[2] != first[1]  # the server's model samples by the request's seed
    remote.generate(prompts[:1], sampled)
    assert server.requests[-1]["body"]["seed"] == 9
    with pytest.raises(CurateError, match="one per prompt"):
        remote.generate(prompts, sampled, seeds=[1, 2])


def test_a_pickled_client_carries_its_settings_never_the_key(client):
    """What a Ray worker receives: the settings; the key is read from the environment there."""
    import pickle

    backend = client(max_retries=1)
    assert backend.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].ok
    data = pickle.dumps(backend)
    assert KEY.encode() not in data
    copy = pickle.loads(data)
    assert copy.params() == backend.params() and copy.max_retries == 1
    copy.load()  # connects on its own, with the key from the environment
    try:
        assert copy.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].text == (
            backend.generate(SAMPLE_PROMPTS[:1], GREEDY)[0].text
        )
    finally:
        copy.close()
    with_password = resolve_backend("openai", "tiny", api_base="http://alice:pw@127.0.0.1:9/v1")
    with pytest.raises(CurateError, match="credentials"):
        pickle.dumps(with_password)
