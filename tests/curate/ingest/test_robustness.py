"""Ingest on the inputs a new user really has: JSON Lines whose first lines are bad,
a cut ``.gz``, UTF-16/32 files, odd file types in a directory, unreadable files, NUL
characters, and a disk that fills up halfway."""

import builtins
import codecs
import errno
import gzip
import io
import os
import signal
import zlib

import orjson
import pyarrow.parquet as pq
import pytest

from curate.ingest.pipeline import IngestOptions, Ingestor
from curate.ingest.report import reconciliation_line
from curate.store import Store, files
from tests.conftest import parquet_digests, write_jsonl

GOOD = [{"instruction": f"question {i}", "output": f"answer {i}"} for i in range(10)]


def ingest(inputs, store, workers=0, **options):
    return Ingestor(
        [str(p) for p in inputs], store, IngestOptions(**options), workers=workers
    ).run()


def by_name(result):
    return {os.path.basename(f.file): f for f in result.files}


def rejects_of(store, name):
    return [
        r
        for r in Store.open(store).rejects().to_pylist()
        if os.path.basename(r["source"]["file"]) == name
    ]


def lines(records):
    return [orjson.dumps(r) for r in records]


@pytest.fixture
def no_hang():
    """Fail (instead of hanging forever) if the code under test blocks on a FIFO."""

    def timeout(signum, frame):
        raise TimeoutError("ingest blocked: it opened a FIFO or a device")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


# -- 1. the layout is sniffed from many lines; bad lines are rejected one by one --------

BAD = {
    # NaN is not JSON, but pandas and Python write it: read as null, the record is then
    # judged by its content (here: no output)
    "nan": (b'{"instruction": "x", "output": NaN}', "missing_field"),
    "scalar": (b"42", "not_an_object"),
    "array": (b"[1]", "not_an_object"),
}


@pytest.mark.parametrize(
    "first", [("nan", "scalar", "array"), ("array", "scalar", "nan"), ("scalar", "nan", "array")]
)
def test_jsonl_whose_first_lines_are_bad_keeps_every_valid_line(tmp_path, first):
    body = [BAD[k][0] for k in first] + lines(GOOD[:5]) + [b"NaN"] + lines(GOOD[5:])
    path = tmp_path / "in" / "data.jsonl"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(body) + b"\n")
    result = ingest([path], tmp_path / "store")
    (f,) = result.files
    assert f.layout == "jsonl"
    assert (f.read, f.ingested, f.rejected_total) == (14, 10, 4) and f.balanced
    assert reconciliation_line(f).startswith("read 14 = ingested 10 ")
    got = {r["source"]["line"]: r["reason"] for r in rejects_of(tmp_path / "store", "data.jsonl")}
    expected = {i + 1: BAD[k][1] for i, k in enumerate(first)} | {9: "not_an_object"}
    assert got == expected
    base = Store.open(tmp_path / "store").read()
    assert sorted(m[0]["content"] for m in base.column("messages").to_pylist()) == sorted(
        r["instruction"] for r in GOOD
    )


def test_many_bad_lines_before_the_good_ones(tmp_path):
    # Python reprs (single quotes) are balanced lines that are not JSON; a cut first line too.
    body = [b'{"instruction": "cut sho'] + [b"{'instruction': 'q', 'output': 'a'}"] * 100
    path = tmp_path / "data.json"  # JSON Lines saved as .json
    path.write_bytes(b"\n".join(body + lines(GOOD)) + b"\n")
    (f,) = ingest([path], tmp_path / "store").files
    assert f.layout == "jsonl"
    assert (f.read, f.ingested, dict(f.rejected)) == (111, 10, {"invalid_json": 101})


def test_layouts_that_only_look_like_jsonl_are_still_arrays_and_documents(tmp_path):
    # One element per line: the last line alone parses, the file is still one array.
    (tmp_path / "a.json").write_bytes(b"[\n" + b",\n".join(lines(GOOD)) + b"\n]\n")
    # A document whose nested lists end with lines that parse alone.
    (tmp_path / "d.json").write_bytes(
        b'{\n  "data": [\n    {"instruction": "q", "output": "a"},\n'
        b'    {"instruction": "r", "output": "b"}\n  ]\n}\n'
    )
    result = by_name(ingest([tmp_path / "a.json", tmp_path / "d.json"], tmp_path / "store"))
    assert (result["a.json"].layout, result["a.json"].ingested) == ("json-array", 10)
    assert (result["d.json"].layout, result["d.json"].ingested) == ("json-document", 2)


# -- 2. a truncated .gz salvages its complete lines; UTF-16 and UTF-32 are decoded ------


def test_small_truncated_gzip_salvages_its_complete_lines(tmp_path):
    records = [{"instruction": f"question {i}", "output": "x" * (i * 7)} for i in range(40)]
    data = gzip.compress(b"".join(orjson.dumps(r) + b"\n" for r in records))
    cut = data[:-12]  # the trailer and a little of the deflate stream are gone
    (tmp_path / "cut.jsonl.gz").write_bytes(cut)
    complete = zlib.decompressobj(31).decompress(cut).count(b"\n")
    assert 5 <= complete < len(records)
    (f,) = ingest([tmp_path / "cut.jsonl.gz"], tmp_path / "store").files
    assert f.layout == "jsonl" and f.ingested == complete
    assert dict(f.rejected) == {"truncated": 1} and f.read == complete + 1 and f.balanced
    (reject,) = rejects_of(tmp_path / "store", "cut.jsonl.gz")
    assert "truncated" in reject["detail"]
    base = Store.open(tmp_path / "store").read()
    assert [m[0]["content"] for m in base.column("messages").to_pylist()] == [
        r["instruction"] for r in records[:complete]
    ]


def test_small_truncated_gzip_json_array(tmp_path):
    data = gzip.compress(orjson.dumps(GOOD * 3, option=orjson.OPT_INDENT_2))
    (tmp_path / "cut.json.gz").write_bytes(data[: len(data) * 3 // 4])
    (f,) = ingest([tmp_path / "cut.json.gz"], tmp_path / "store").files
    assert f.layout == "json-array" and f.ingested >= 5
    assert dict(f.rejected).get("truncated") == 1 and f.balanced


ENCODINGS = [
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE),
    ("utf-32-be", codecs.BOM_UTF32_BE),
]
TEXTS = [{"instruction": f"问题 {i} — вопрос 😀", "output": f"答案 {i}"} for i in range(6)]


@pytest.mark.parametrize("encoding, bom", ENCODINGS)
@pytest.mark.parametrize("layout", ["jsonl", "json-array"])
def test_utf16_and_utf32_with_bom(tmp_path, encoding, bom, layout):
    if layout == "jsonl":
        text = "\r\n".join([orjson.dumps(r).decode() for r in TEXTS] + ['{"bad": 問']) + "\r\n"
    else:
        text = orjson.dumps(TEXTS, option=orjson.OPT_INDENT_2).decode()
    path = tmp_path / f"{encoding}.json"
    path.write_bytes(bom + text.encode(encoding))
    (f,) = ingest([path], tmp_path / "store").files
    assert f.layout == layout and f.ingested == len(TEXTS)
    base = Store.open(tmp_path / "store").read()
    assert [m[0]["content"] for m in base.column("messages").to_pylist()] == [
        r["instruction"] for r in TEXTS
    ]
    if layout == "jsonl":
        (reject,) = rejects_of(tmp_path / "store", path.name)
        assert reject["reason"] == "invalid_json" and reject["source"]["line"] == 7
        assert reject["raw"] == '{"bad": 問'


# -- 3. dangling links, FIFOs and devices are rejects; literal names with [ ] ingest -----


def test_dangling_symlink_in_a_directory_is_a_reject(tmp_path):
    d = tmp_path / "in"
    write_jsonl(d / "good.jsonl", GOOD)
    (d / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    result = by_name(ingest([d], tmp_path / "store"))
    assert result["good.jsonl"].ingested == 10
    gone = result["gone.jsonl"]
    assert dict(gone.rejected) == {"unreadable": 1} and gone.read == 1
    (reject,) = rejects_of(tmp_path / "store", "gone.jsonl")
    assert reject["detail"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_fifo_and_device_files_are_rejected_without_being_opened(tmp_path, no_hang):
    d = tmp_path / "in"
    write_jsonl(d / "good.jsonl", GOOD)
    os.mkfifo(d / "pipe.jsonl")
    os.mkfifo(tmp_path / "named.jsonl")
    inputs = [d, tmp_path / "named.jsonl"]
    if os.path.exists("/dev/zero"):  # a device found in a directory: reading it never ends
        (d / "zero.jsonl").symlink_to("/dev/zero")
    if os.path.exists("/dev/null"):  # a device given on the command line
        inputs.append("/dev/null")
    result = by_name(ingest(inputs, tmp_path / "store"))
    assert result["good.jsonl"].ingested == 10
    odd = [name for name in result if name != "good.jsonl"]
    assert "pipe.jsonl" in odd and "named.jsonl" in odd
    for name in odd:
        assert dict(result[name].rejected) == {"unreadable": 1} and result[name].read == 1, name
    (reject,) = rejects_of(tmp_path / "store", "pipe.jsonl")
    assert "fifo" in reject["detail"].lower()


def test_literal_file_name_with_glob_characters(tmp_path):
    write_jsonl(tmp_path / "data[1].jsonl", GOOD)
    write_jsonl(tmp_path / "data1.jsonl", GOOD[:3])  # what the name matches as a glob
    result = ingest([tmp_path / "data[1].jsonl"], tmp_path / "store")
    assert [os.path.basename(f.file) for f in result.files] == ["data[1].jsonl"]
    assert result.files[0].ingested == 10
    globbed = ingest([tmp_path / "data*.jsonl"], tmp_path / "store2")  # a real glob still works
    assert [os.path.basename(f.file) for f in globbed.files] == ["data1.jsonl", "data[1].jsonl"]


# -- 4. permission denied is `unreadable`; NUL characters are flagged --------------------


def test_permission_denied_is_unreadable_not_invalid_json(tmp_path):
    d = tmp_path / "in"
    write_jsonl(d / "good.jsonl", GOOD)
    write_jsonl(d / "secret.jsonl", GOOD)
    denied = str(d / "secret.jsonl")

    def guard(real):
        def opener(path, *args, **kwargs):
            if not isinstance(path, int) and os.fspath(path) == denied:
                raise PermissionError(errno.EACCES, "Permission denied", denied)
            return real(path, *args, **kwargs)

        return opener

    with pytest.MonkeyPatch.context() as mp:  # tests run as root: chmod would not do
        mp.setattr(builtins, "open", guard(builtins.open))
        mp.setattr(io, "open", guard(io.open))
        mp.setattr(os, "open", guard(os.open))
        result = by_name(ingest([d], tmp_path / "store"))
    assert result["good.jsonl"].ingested == 10
    assert dict(result["secret.jsonl"].rejected) == {"unreadable": 1}
    (reject,) = rejects_of(tmp_path / "store", "secret.jsonl")
    assert "Permission denied" in reject["detail"]


def test_nul_character_is_flagged(tmp_path):
    path = tmp_path / "nul.jsonl"
    path.write_bytes(
        b'{"instruction": "hello\\u0000world", "output": "ok"}\n'
        b'{"instruction": "clean", "output": "ok"}\n'
    )
    ingest([path], tmp_path / "store")
    base = Store.open(tmp_path / "store").read(columns=["messages", "flags"]).to_pylist()
    flags = {row["messages"][0]["content"]: row["flags"] for row in base}
    assert "nul_char" in flags["hello\x00world"] and "nul_char" not in flags["clean"]
    manifest = Store.open(tmp_path / "store").manifest("ingest")
    assert manifest["counts"]["flags"].get("nul_char") == 1


# -- 5. the reconciliation counts records, not files --------------------------------------


def test_a_file_that_parses_nowhere_counts_its_lines(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    (d / "repr.jsonl").write_bytes(b"{'instruction': 'q', 'output': 'a'}\n" * 7)
    (d / "text.json").write_bytes(b"hello\nworld\n\nthis is not json\n")
    (d / "good.jsonl").write_bytes(b"\n".join(lines(GOOD)) + b"\n")
    result = ingest([d], tmp_path / "store")
    files_ = by_name(result)
    assert (files_["repr.jsonl"].read, dict(files_["repr.jsonl"].rejected)) == (
        7,
        {"invalid_json": 7},
    )
    assert (files_["text.json"].read, dict(files_["text.json"].rejected)) == (
        3,
        {"invalid_json": 3},
    )
    assert [r["source"]["line"] for r in rejects_of(tmp_path / "store", "text.json")] == [1, 2, 4]
    assert reconciliation_line(result.totals).startswith("read 20 = ingested 10 ")
    counts = Store.open(tmp_path / "store").manifest("ingest")["counts"]
    assert (counts["read"], counts["rejected"]) == (20, 10)


# -- 6. a full disk leaves no temporary file; the rerun resumes to identical tables -------


def enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("where", ["journal_rewrite", "shard_write", "shard_commit"])
def test_full_disk_leaves_no_temporary_file_and_resumes(tmp_path, where):
    d = tmp_path / "in"
    write_jsonl(d / "a.jsonl", GOOD + [GOOD[0]], raw_lines=[b"{bad"])
    write_jsonl(d / "b.jsonl", [{"instruction": f"b {i}", "output": "x"} for i in range(15)])
    options = {"shard_size": 7, "batch_size": 3}
    ingest([d], tmp_path / "clean", **options)

    real_commit = files.commit
    mp = pytest.MonkeyPatch()
    if where == "journal_rewrite":

        def commit(tmp, final):
            if final.name == "ingest.jsonl":
                enospc()
            return real_commit(tmp, final)

        mp.setattr(files, "commit", commit)
    elif where == "shard_commit":

        def commit(tmp, final):
            if final.parent.name == "rejects" and final.name.startswith("part-00001"):
                enospc()
            return real_commit(tmp, final)

        mp.setattr(files, "commit", commit)
    else:
        real_write = pq.ParquetWriter.write_table

        def write_table(self, *args, **kwargs):
            real_write(self, *args, **kwargs)  # part of the row group reaches the disk
            if "part-00001" in str(self.where):
                enospc()

        mp.setattr(pq.ParquetWriter, "write_table", write_table)
    try:
        with pytest.raises(OSError) as failure:
            ingest([d], tmp_path / "full", **options)
    finally:
        mp.undo()
    assert failure.value.errno == errno.ENOSPC
    assert not list((tmp_path / "full").rglob(f"*{files.TMP_MARK}*"))
    result = ingest([d], tmp_path / "full", **options)
    assert all(f.balanced for f in result.files)
    assert parquet_digests(tmp_path / "full") == parquet_digests(tmp_path / "clean")
    full, clean = Store.open(tmp_path / "full"), Store.open(tmp_path / "clean")
    assert full.manifest("ingest")["counts"] == clean.manifest("ingest")["counts"]
    assert not list((tmp_path / "full").rglob(f"*{files.TMP_MARK}*"))


def test_folder_that_cannot_be_listed_is_a_reject(tmp_path):
    d = tmp_path / "in"
    write_jsonl(d / "good.jsonl", GOOD)
    write_jsonl(d / "locked" / "hidden.jsonl", GOOD)
    locked = str(d / "locked")
    real_scandir, real_listdir = os.scandir, os.listdir

    def guard(real):
        def listing(path="."):
            if os.fspath(path) == locked:
                raise PermissionError(errno.EACCES, "Permission denied", locked)
            return real(path)

        return listing

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(os, "scandir", guard(real_scandir))
        mp.setattr(os, "listdir", guard(real_listdir))
        result = by_name(ingest([d], tmp_path / "store"))
    assert result["good.jsonl"].ingested == 10
    assert dict(result["locked"].rejected) == {"unreadable": 1}
    (reject,) = rejects_of(tmp_path / "store", "locked")
    assert "Permission denied" in reject["detail"]
