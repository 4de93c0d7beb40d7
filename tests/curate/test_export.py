"""``curate export`` as a sink: never into the store, through FIFOs and stdout, no
temporary file left behind by a failure."""

import errno
import gzip
import os
import stat
import subprocess
import sys
import threading
import time

import orjson
import pytest

from curate.cli import main
from curate.errors import CurateError
from curate.export import export_jsonl
from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.store import Store
from tests.conftest import REPO, write_jsonl

ROWS = 12


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    records = [
        {
            "messages": [
                {"role": "user", "content": f"question {i}"},
                {"role": "assistant", "content": f"answer {i}"},
            ]
        }
        for i in range(ROWS)
    ]
    write_jsonl(root / "in.jsonl", records)
    Ingestor([str(root / "in.jsonl")], root / "store", IngestOptions(shard_size=5), workers=0).run()
    return Store.open(root / "store")


def curate(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "curate", *map(str, args)],
        capture_output=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def one_red_line(stderr: str, rc: int) -> str:
    assert rc == 1, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr
    return " ".join(errors[0].split())


def run_main(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    return exit_.value.code, capsys.readouterr().err


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_a_path_inside_the_store_is_refused(store, tmp_path):
    shard = store.root / "base" / "part-00000.parquet"
    before = shard.read_bytes()
    for target in (shard, store.root / "export.jsonl", store.root / "sidecars" / "x.jsonl"):
        proc = curate("export", store.root, "-o", target, "--quiet")
        line = one_red_line(proc.stderr.decode("utf-8", "replace"), proc.returncode)
        assert "inside the store" in line
        with pytest.raises(CurateError, match="inside the store"):
            export_jsonl(store, target)
    assert shard.read_bytes() == before
    assert not (store.root / "export.jsonl").exists()
    # also through a symlink that points into the store
    (tmp_path / "link.parquet").symlink_to(shard)
    with pytest.raises(CurateError, match="inside the store"):
        export_jsonl(store, tmp_path / "link.parquet")
    assert shard.read_bytes() == before


def test_writes_through_a_fifo(store, tmp_path):
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a reader waiting before the writer
    result = {}
    writer = threading.Thread(target=lambda: result.update(n=export_jsonl(store, fifo)))
    writer.start()
    data, deadline = b"", time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            try:
                chunk = os.read(fd, 1 << 16)
            except BlockingIOError:  # a writer, nothing to read yet
                chunk = None
            if chunk:
                data += chunk
            elif not writer.is_alive():
                break
            else:
                time.sleep(0.01)
    finally:
        os.close(fd)
        writer.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)  # still the FIFO, not replaced by a file
    assert result == {"n": ROWS} and len(data.splitlines()) == ROWS
    assert leftovers(tmp_path) == ["pipe.jsonl"]


def test_dash_and_dev_stdout_write_to_stdout(store, tmp_path):
    proc = curate("export", store.root, "-o", "-", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [orjson.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == ROWS and set(rows[0]) == {"id", "messages"}
    assert leftovers(tmp_path) == []  # no file named "-"
    for alias in ("/dev/fd/1", "/dev/stdout"):
        if not os.path.exists(alias):
            continue
        proc = curate("export", store.root, "-o", alias, "--output-format", "sharegpt", "-q")
        assert proc.returncode == 0, proc.stderr
        rows = [orjson.loads(line) for line in proc.stdout.splitlines()]
        assert len(rows) == ROWS and set(rows[0]) == {"id", "conversations"}
        assert os.path.islink("/dev/stdout") or not alias.endswith("stdout")


def test_stdout_redirected_to_a_file(store, tmp_path):
    """``-o /dev/stdout > file``: the file the shell opened gets the rows."""
    out = tmp_path / "redirected.jsonl"
    with open(out, "wb") as fh:
        proc = subprocess.run(
            [
                sys.executable,
                "-X",
                "utf8",
                "-m",
                "curate",
                "export",
                str(store.root),
                "-o",
                "/dev/fd/1",
                "-q",
            ],
            stdout=fh,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
    assert proc.returncode == 0, proc.stderr
    assert len(out.read_bytes().splitlines()) == ROWS
    assert leftovers(tmp_path) == ["redirected.jsonl"]


@pytest.mark.parametrize("name", ["out.jsonl", "out.jsonl.gz"])
def test_a_full_disk_leaves_no_temporary_file(store, tmp_path, monkeypatch, capsys, name):
    from curate.store import files

    def full(tmp, final):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))

    monkeypatch.setattr(files, "commit", full)  # fsync or rename on a full disk
    out = tmp_path / "o" / name
    rc, err = run_main(capsys, "export", store.root, "-o", out, "--quiet")
    line = one_red_line(err, rc)
    assert "no space left" in line and "free some space" in line and str(out) in line
    assert leftovers(tmp_path / "o") == []


def test_a_full_disk_while_writing_rows(store, tmp_path, monkeypatch, capsys):
    calls = {"n": 0}
    original = gzip.GzipFile.write

    def write(self, data):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return original(self, data)

    monkeypatch.setattr(gzip.GzipFile, "write", write)
    (tmp_path / "o").mkdir()
    (tmp_path / "o" / "old.jsonl.gz").write_bytes(b"an older export")
    rc, err = run_main(capsys, "export", store.root, "-o", tmp_path / "o" / "old.jsonl.gz", "-q")
    line = one_red_line(err, rc)
    assert "no space left" in line and "run the same command again" in line
    assert leftovers(tmp_path / "o") == ["old.jsonl.gz"]
    assert (tmp_path / "o" / "old.jsonl.gz").read_bytes() == b"an older export"
    monkeypatch.undo()
    rc, err = run_main(capsys, "export", store.root, "-o", tmp_path / "o" / "old.jsonl.gz", "-q")
    assert rc == 0, err
    assert len(gzip.decompress((tmp_path / "o" / "old.jsonl.gz").read_bytes()).splitlines()) == ROWS


def test_export_takes_the_store_lock(store, tmp_path):
    with store.lock():
        proc = curate("export", store.root, "-o", tmp_path / "x.jsonl", "-q")
    assert "in use" in one_red_line(proc.stderr.decode("utf-8", "replace"), proc.returncode)
    assert leftovers(tmp_path) == []


def test_a_folder_or_a_path_under_a_file_is_one_red_line(store, tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    rc, err = run_main(capsys, "export", store.root, "-o", tmp_path / "afile" / "x.jsonl", "-q")
    assert str(tmp_path / "afile") in one_red_line(err, rc)
    with pytest.raises(CurateError, match="is a folder"):
        export_jsonl(store, tmp_path)
