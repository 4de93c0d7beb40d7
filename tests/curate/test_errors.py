"""Operating-system errors the user can fix are one red line (exit 1), not a traceback:
a store that cannot be created, a read-only store, a full disk (and a rerun resumes),
a path the user named that cannot be used. Anything else keeps its traceback."""

import errno
import os
import pathlib

import pytest

from curate.cli import main
from curate.errors import StoreError, os_error_message
from curate.store import Store
from tests.conftest import parquet_digests, write_jsonl


def run_main(capsys, *args) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_:
        main([str(a) for a in args])
    out = capsys.readouterr()
    return exit_.value.code, out.err


def one_red_line(rc: int, err: str) -> str:
    assert rc == 1, err
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    return " ".join(errors[0].split())  # whatever the terminal width


@pytest.fixture
def data(tmp_path):
    records = [
        {"instruction": f"question {i}", "output": f"an answer to question {i}"} for i in range(25)
    ]
    return write_jsonl(tmp_path / "in" / "data.jsonl", records)


def ingest(capsys, data, store, *extra):
    return run_main(
        capsys,
        "ingest",
        data,
        "--store",
        store,
        "--shard-size",
        "10",
        "--workers",
        "0",
        "-q",
        *extra,
    )


# -- B1: stores that cannot be created or written ---------------------------------------------


def test_a_store_under_a_regular_file(tmp_path, data, capsys):
    (tmp_path / "afile").write_text("x")
    line = one_red_line(*ingest(capsys, data, tmp_path / "afile" / "store"))
    assert "cannot create the store" in line and "not a folder" in line and "--store" in line
    with pytest.raises(StoreError, match="cannot create the store"):
        Store.create(tmp_path / "afile" / "deeper" / "store")


@pytest.mark.parametrize(
    "code, says",
    [(errno.EACCES, "permission denied"), (errno.EROFS, "read-only"), (errno.EPERM, "permission")],
)
def test_a_store_that_may_not_be_created(tmp_path, data, capsys, monkeypatch, code, says):
    target = tmp_path / "no" / "store"
    original = pathlib.Path.mkdir

    def mkdir(self, *args, **kwargs):
        if str(self).startswith(str(tmp_path / "no")):
            raise OSError(code, os.strerror(code), str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    line = one_red_line(*ingest(capsys, data, target))
    assert "cannot create the store" in line and says in line and str(target) in line


def test_a_store_on_a_read_only_file_system(tmp_path, data, capsys, monkeypatch):
    from curate.store import files

    store = tmp_path / "store"
    assert ingest(capsys, data, store)[0] == 0

    def read_only(path):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))

    monkeypatch.setattr(files, "exclusive_lock", read_only)  # open(".lock", "a+") fails so
    line = one_red_line(*ingest(capsys, data, store, "--overwrite"))
    assert "read-only file system" in line and str(store) in line and "writable" in line
    # a read-only store cannot change under a reader: export still reads it
    rc, err = run_main(capsys, "export", store, "-o", tmp_path / "out.jsonl", "-q")
    assert rc == 0, err
    assert len((tmp_path / "out.jsonl").read_bytes().splitlines()) == 25


# -- B2: a full disk ---------------------------------------------------------------------------


def test_a_full_disk_is_one_line_and_a_rerun_resumes(tmp_path, data, capsys, monkeypatch):
    from curate.store import files

    clean = tmp_path / "clean"
    assert ingest(capsys, data, clean)[0] == 0
    original = files.commit
    failed = []

    def commit(tmp, final):
        if final.name == "part-00001.parquet" and final.parent.name == "base" and not failed:
            failed.append(final)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
        return original(tmp, final)

    monkeypatch.setattr(files, "commit", commit)
    store = tmp_path / "store"
    line = one_red_line(*ingest(capsys, data, store))
    assert failed and "no space left" in line and str(store / "base") in line
    assert "free some space" in line and "run the same command again" in line
    assert (store / "base" / "part-00000.parquet").is_file()  # the shard before it is kept
    rc, err = ingest(capsys, data, store)  # space freed (the write succeeds now): resumes
    assert rc == 0, err
    assert parquet_digests(store) == parquet_digests(clean)
    assert not [p for p in store.rglob("*") if ".tmp-" in p.name]


def test_a_full_disk_reported_by_pyarrow_or_as_a_cause(tmp_path):
    pyarrow_style = OSError(
        "Error writing bytes to file. Detail: [errno 28] No space left on device"
    )
    assert "no space left" in os_error_message(pyarrow_style, [])
    try:
        try:
            raise OSError(errno.ENOSPC, "No space left on device", "/data/x.parquet")
        except OSError as exc:
            raise RuntimeError("writing the shard failed") from exc
    except RuntimeError as wrapped:
        message = os_error_message(wrapped, [])
    assert "/data/x.parquet" in message and "free some space" in message


# -- paths the user named ----------------------------------------------------------------------


def test_an_os_error_on_a_named_path_is_one_line(tmp_path, capsys, monkeypatch):
    from curate.store import files

    store = tmp_path / "store"
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    assert ingest(capsys, data, store)[0] == 0
    (tmp_path / "afile").write_text("x")
    line = one_red_line(*run_main(capsys, "select", store, "-o", tmp_path / "afile" / "sub"))
    assert str(tmp_path / "afile") in line

    def denied(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(files, "exclusive_lock", denied)
    line = one_red_line(*run_main(capsys, "export", store, "-o", tmp_path / "x.jsonl"))
    assert "permission denied" in line and str(store) in line


def test_an_unexpected_os_error_keeps_its_traceback(tmp_path, capsys, monkeypatch):
    from curate.store import files

    store = tmp_path / "store"
    data = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "q", "output": "a"}])
    assert ingest(capsys, data, store)[0] == 0

    def elsewhere(path):  # a path nobody named: a bug, or the machine's business
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), "/opt/somewhere/else")

    monkeypatch.setattr(files, "exclusive_lock", elsewhere)
    with pytest.raises(PermissionError):
        main(["export", str(store), "-o", str(tmp_path / "x.jsonl")])

    def bug(path):
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), str(path))

    monkeypatch.setattr(files, "exclusive_lock", bug)
    with pytest.raises(FileNotFoundError):
        main(["export", str(store), "-o", str(tmp_path / "x.jsonl")])


def test_os_error_message_rules():
    named = ["runs/pool", "-"]
    denied = PermissionError(errno.EACCES, "Permission denied", "runs/pool/.lock")
    assert "permission denied" in os_error_message(denied, named)
    assert os_error_message(denied, []) is None
    above = NotADirectoryError(errno.ENOTDIR, "Not a directory", "runs")
    assert "not a folder" in os_error_message(above, named)
    is_dir = IsADirectoryError(errno.EISDIR, "Is a directory", "runs/pool")
    assert "is a folder" in os_error_message(is_dir, named)
    assert os_error_message(ValueError("no"), named) is None
    read_only = OSError(errno.EROFS, "Read-only file system", "/anywhere")
    assert "read-only" in os_error_message(read_only, [])


@pytest.mark.parametrize(
    "flag, value, says",
    [
        ("--cross-lingual-threshold", "en/ru=0.8", "*=T"),
        ("--cross-lingual-threshold", "ru/en=high,*=0.9", "a threshold is a number"),
        ("--threshold", "1.5", "must be in (0, 1]"),
    ],
)
def test_a_bad_dedup_threshold_is_one_line_before_any_work(
    tmp_path, data, capsys, flag, value, says
):
    assert ingest(capsys, data, tmp_path / "store")[0] == 0
    rc, err = run_main(capsys, "dedup", tmp_path / "store", flag, value, "-q")
    assert says in one_red_line(rc, err)
    assert not (tmp_path / "store" / "sidecars").exists() or not any(
        p.name.startswith("embed") for p in (tmp_path / "store" / "sidecars").iterdir()
    )  # refused before embedding anything
