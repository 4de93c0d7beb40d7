"""The command line: fast help, one-line user errors, config files, ingest/info/export."""

import json
import subprocess
import sys
import time

import orjson
import pytest

from tests.conftest import write_jsonl


def run(*args, check=True):
    # UTF-8 both ways (-X utf8 in the child), whatever the locale: summaries print "✓"
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-m", "curate", *args],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}")
    return proc


def test_help_is_fast_and_imports_nothing_heavy():
    code = (
        "import sys, time; t = time.perf_counter(); sys.argv = ['curate', '--help']\n"
        "from curate.cli import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'pyarrow', 'numpy', 'faiss') if m in sys.modules]\n"
        "print(heavy, time.perf_counter() - t, file=sys.stderr)"
    )
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "utf8", "-c", code],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=True,
    )
    elapsed = time.perf_counter() - start
    assert "ingest" in proc.stdout and "export" in proc.stdout
    heavy, _ = proc.stderr.split("]", 1)
    assert heavy == "[", f"curate --help imported {heavy}]"
    assert elapsed < 2.0  # interpreter start included; the import itself is ~0.1 s


def test_user_errors_are_one_red_line_and_exit_1(tmp_path):
    proc = run(
        "ingest", str(tmp_path / "missing.json"), "--store", str(tmp_path / "s"), check=False
    )
    assert proc.returncode == 1
    assert " ".join(proc.stderr.split()).startswith("error: input not found")
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    proc = run("ingest", "--store", str(tmp_path / "s"), "--bogus", check=False)
    err = " ".join(proc.stderr.split())
    assert proc.returncode == 1 and "no such option" in err.lower() and "--help" in err
    proc = run("info", str(tmp_path), check=False)
    assert proc.returncode == 1 and "not a curate store" in " ".join(proc.stderr.split())


def test_ingest_info_export_round_trip(tmp_path):
    data = write_jsonl(
        tmp_path / "in" / "chat.jsonl",
        [
            {
                "conversations": [
                    {"from": "human", "value": "Hi"},
                    {"from": "gpt", "value": "Hello!"},
                ]
            },
            {
                "conversations": [
                    {"from": "human", "value": "Hi"},
                    {"from": "gpt", "value": "Hello!"},
                ]
            },
        ],
        raw_lines=[b"{oops"],
    )
    write_jsonl(
        tmp_path / "in" / "prompts.jsonl",
        [{"instruction": "lonely prompt"}, {"instruction": "another"}],
    )
    store = tmp_path / "store"
    proc = run("ingest", str(data.parent), "--store", str(store))
    assert "read 5 = ingested 3 + exact duplicates 1 + rejected 1 (invalid_json 1) ✓" in " ".join(
        proc.stdout.split()
    )
    summary = json.loads(run("info", str(store), "--json", "--examples", "1").stdout)
    assert (
        summary["rows"] == 3
        and summary["exact_duplicates"] == 1
        and summary["rejects"] == {"invalid_json": 1}
    )
    assert summary["stages"]["ingest"]["status"] == "complete"
    # three prompts, one answer each (an unanswered prompt is its own prompt group)
    assert summary["prompt_groups"]["prompts"] == 3
    assert summary["prompt_groups"]["prompts_with_several"] == 0
    assert summary["reject_examples"]["invalid_json"][0]["where"].endswith("chat.jsonl:3")
    human = " ".join(run("info", str(store)).stdout.split())
    assert "by lang" in human and "rejects by reason" in human
    assert "prompt groups: 3 prompts, 3 answers" in human
    out = tmp_path / "out.jsonl"
    run(
        "export",
        str(store),
        "-o",
        str(out),
        "--output-format",
        "sharegpt",
        "--exclude-flag",
        "no_assistant",
    )
    rows = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    assert rows == [
        {
            "id": rows[0]["id"],
            "conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}],
        }
    ]
    # Running the same ingest again does nothing.
    again = run("ingest", str(data.parent), "--store", str(store)).stdout
    assert "nothing to do" in " ".join(again.split())


def test_config_file_supplies_options(tmp_path):
    data = write_jsonl(tmp_path / "odd.jsonl", [{"q": "What is 2+2?", "a": "4"}])
    config = tmp_path / "curate.yaml"
    config.write_text(
        f"store: {tmp_path / 'store'}\ningest:\n  map: [instruction=q, output=a]\n  max-chars: 1000\n"
    )
    run("ingest", str(data), "--config", str(config), "--quiet")
    assert json.loads(run("info", str(tmp_path / "store"), "--json").stdout)["rows"] == 1
    config.write_text("ingest:\n  no-such-option: 1\n")
    proc = run(
        "ingest", str(data), "--store", str(tmp_path / "x"), "--config", str(config), check=False
    )
    assert proc.returncode == 1 and "no option 'no-such-option'" in " ".join(proc.stderr.split())


@pytest.mark.parametrize("bad", ["--role", "--map"])
def test_pair_options_are_validated(tmp_path, bad):
    data = write_jsonl(tmp_path / "x.jsonl", [{"instruction": "a", "output": "b"}])
    value = "char=robot" if bad == "--role" else "justone"
    proc = run("ingest", str(data), "--store", str(tmp_path / "s"), bad, value, check=False)
    assert proc.returncode == 1 and bad in proc.stderr
