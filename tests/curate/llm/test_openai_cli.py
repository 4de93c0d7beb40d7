"""``curate tag --backend openai`` through the console-script entry point: unreachable servers
fail fast, and no credential reaches the store or the terminal."""

import base64
import socket
import time

import pytest

from curate.cli import main
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from curate.testing.chat_server import Fault, serve_chat_completions
from tests.conftest import write_jsonl

QUESTIONS = ["How do I bake bread at home?", "Как испечь хлеб дома?", "如何在家烤麵包？"]
KEY = "sk-curate-ECHO-5d1e8b2a"
KEY_ENV = "CURATE_TEST_CLI_KEY"
PASSWORD = "hunter2-Pa55word-Q7"


@pytest.fixture
def store(tmp_path):
    records = [
        {
            "messages": [
                {"role": "user", "content": f"{q} ({i})"},
                {"role": "assistant", "content": "Sure."},
            ]
        }
        for i in range(2)
        for q in QUESTIONS
    ]
    write_jsonl(tmp_path / "in.jsonl", records)
    Ingestor(
        [str(tmp_path / "in.jsonl")], tmp_path / "store", IngestOptions(shard_size=4), workers=0
    ).run()
    return Store.open(tmp_path / "store")


def curate(capfd, *args: str) -> tuple[int, str]:
    """Run ``curate ARGS`` as the console script does; (exit status, stdout + stderr)."""
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out = capfd.readouterr()
    return exited.value.code, out.out + out.err


def tag_openai(store, api_base: str) -> list[str]:
    return [
        "tag", str(store.root), "--tagger", "instag", "--backend", "openai", "--model", "tiny",
        "--api-base", api_base, "--api-key-env", KEY_ENV, "--max-new-tokens", "16",
    ]  # fmt: skip


def store_files_containing(store, *secrets: str) -> list[str]:
    return [
        f"{path}: {secret!r}"
        for path in sorted(store.root.rglob("*"))
        if path.is_file()
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]


def test_nothing_listening_is_one_red_line_within_seconds(store, capfd, monkeypatch):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv(KEY_ENV, KEY)
    start = time.monotonic()
    code, output = curate(capfd, *tag_openai(store, f"http://u:{PASSWORD}@127.0.0.1:{port}/v1"))
    assert time.monotonic() - start < 20
    assert code == 1
    lines = [line for line in output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in output
    assert f"cannot connect to the server at http://127.0.0.1:{port}/v1" in lines[0]
    assert "connection refused" in lines[0] and "start the server" in lines[0]
    assert PASSWORD not in output and KEY not in output
    assert not store_files_containing(store, PASSWORD, KEY)


@pytest.fixture
def served(tiny_backend):
    with serve_chat_completions(
        tiny_backend, model="tiny", api_key=KEY, basic_auth=("user", PASSWORD)
    ) as server:
        yield server


def test_user_and_password_in_api_base_are_used_but_never_stored(store, served, capfd, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "sk-not-used")  # credentials in the address win over the key
    api_base = served.api_base.replace("//", f"//user:{PASSWORD}@")
    code, output = curate(capfd, *tag_openai(store, api_base))
    assert code == 0, output
    token = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert {r["headers"]["authorization"] for r in served.requests} == {f"Basic {token}"}
    manifest = store.manifest("sidecar.tag.instag.raw")
    assert manifest["params"]["backend"]["api_base"] == served.api_base
    assert not store_files_containing(store, PASSWORD, token)
    assert PASSWORD not in output and token not in output


def test_a_key_the_server_echoes_is_not_stored(store, served, capfd, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    echo = f'[{{"tag": "Echo {KEY}", "explanation": "you sent the key {KEY}"}}]'
    served.fail(Fault(text=echo), times=None)
    code, output = curate(capfd, *tag_openai(store, served.api_base))
    assert code == 0, output
    assert {r["headers"]["authorization"] for r in served.requests} == {f"Bearer {KEY}"}
    raw = store.read_sidecar("tag.instag.raw")
    tags = [t for row in raw.column("tags_raw").to_pylist() for t in row]
    assert tags and all(t == "Echo [redacted]" for t in tags)  # the reply arrived, redacted
    assert not store_files_containing(store, KEY, KEY[-8:])
    assert KEY not in output
