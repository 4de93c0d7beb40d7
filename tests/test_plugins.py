"""The plugin contract, checked the same way over every registered plugin (DESIGN.md, "Plugins").

For each kind and name in the registry: the entry imports; the class has its kind
and name; constructing it is cheap and imports nothing heavy (checked in a fresh
interpreter); ``load()`` says which ``pip install`` brings a missing dependency;
once loaded (tiny random models, the fake chat server, a stand-in vLLM module),
``params()`` and ``identity()`` are JSON, ``schema()`` is an Arrow schema, and the
batch method gives what the schema says. Then: the registry itself (entry points
from other packages, broken ones), ``require()``, and the rule that the core
reaches ``scorers`` and ``taggers`` only through the registry.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import orjson
import pyarrow as pa
import pytest

from curate import plugins
from curate.errors import CurateError
from curate.plugins import Requirement, require

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "sentence_transformers", "vllm")
PLUGINS = [(kind, name) for kind in plugins.KINDS for name in plugins.names(kind)]
CONVERSATIONS = [
    [
        {"role": "user", "content": "How do I bake bread at home?"},
        {"role": "assistant", "content": "Mix flour, water, salt and yeast, then bake it."},
    ],
    [
        {"role": "user", "content": "请用简单的话解释机器学习。"},
        {"role": "assistant", "content": "机器学习是让计算机从数据中学习规律的方法。"},
    ],
]


# -- cheapest constructions: model references that constructing must not even look at ---------
def cheap(kind: str, name: str, cls):
    """An instance built from arguments no construction may touch (no file, no server)."""
    if kind == "formats":
        return cls  # formats are registered as instances
    if kind == "backends":
        return cls("owner/model")
    if (kind, name) in (("scorers", "armorm"), ("scorers", "reward")):
        return cls("owner/model", key=name)
    if (kind, name) == ("embedders", "sentence-transformers"):
        return cls("owner/model")
    if (kind, name) == ("taggers", "instag"):
        backend = plugins.load("backends", "openai")("m", api_base="http://127.0.0.1:9/v1")
        return cls(backend)
    return cls()


def construct_all_cheaply() -> None:
    """In a fresh interpreter (see the test): every plugin imports and constructs without torch."""
    for kind, name in PLUGINS:
        cls = plugins.load(kind, name)
        imported = [m for m in HEAVY if m in sys.modules]
        assert not imported, f"importing {kind}/{name} imported {imported}"
        start = time.perf_counter()
        cheap(kind, name, cls)
        seconds = time.perf_counter() - start
        imported = [m for m in HEAVY if m in sys.modules]
        assert not imported, f"constructing {kind}/{name} imported {imported}"
        assert seconds < 0.5, f"constructing {kind}/{name} took {seconds:.2f}s"


def test_importing_and_constructing_every_plugin_imports_no_torch():
    code = "import tests.test_plugins as t; t.construct_all_cheaply()"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def _no_heavy_imports(code: str) -> None:
    check = f"{code}\nimport sys\nheavy = [m for m in {HEAVY!r} if m in sys.modules]\nassert not heavy, heavy\n"
    subprocess.run([sys.executable, "-c", check], check=True, cwd=REPO, capture_output=True)


def test_listing_the_registry_imports_no_torch():
    _no_heavy_imports(
        "import curate.plugins\n"
        "curate.plugins.names('scorers')\n"
        "for kind in curate.plugins.KINDS:\n"
        "    curate.plugins.registered(kind)\n"
    )


@pytest.mark.parametrize("argv", [["--help"], ["score", "--help"], ["tag", "--help"]])
def test_curate_help_imports_no_torch(argv):
    _no_heavy_imports(
        "from curate.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
    )


# -- loaded plugins: tiny models, the fake server, a stand-in vLLM -------------------------------
@pytest.fixture(scope="module")
def tiny_lm_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_tiny_chat_model

    return write_tiny_chat_model(tmp_path_factory.mktemp("plugins") / "tiny-chat")


@pytest.fixture(scope="module")
def tiny_backend(tiny_lm_dir):
    backend = plugins.load("backends", "transformers")(str(tiny_lm_dir), device="cpu")
    backend.load()
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def chat_server(tiny_backend):
    from curate.testing.chat_server import serve_chat_completions

    with serve_chat_completions(tiny_backend, model="tiny") as server:
        yield server


@pytest.fixture
def fake_vllm(tiny_backend, monkeypatch):
    from tests.curate.llm.test_vllm_backend import FakeVLLM

    fake = FakeVLLM(tiny_backend, structured=None)
    monkeypatch.setitem(sys.modules, "vllm", fake)
    monkeypatch.setitem(sys.modules, "vllm.sampling_params", fake.sampling_params)
    return fake


@pytest.fixture(scope="module")
def reward_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_reward_checkpoint

    return write_reward_checkpoint(tmp_path_factory.mktemp("plugins") / "tiny-reward")


@pytest.fixture(scope="module")
def armorm_dir(tmp_path_factory) -> Path:
    from curate.testing.tiny_models import write_armorm_checkpoint

    return write_armorm_checkpoint(tmp_path_factory.mktemp("plugins") / "ArmoRM-tiny")


@pytest.fixture(scope="module")
def sentence_transformer_dir(tmp_path_factory) -> Path:
    from tests.curate.embed.conftest import build_sentence_transformer

    return build_sentence_transformer(tmp_path_factory.mktemp("plugins"))


def loadable(kind: str, name: str, cls, request):
    """An instance whose ``load()`` works here, offline, in seconds."""
    fixture = request.getfixturevalue
    if (kind, name) == ("embedders", "use-multilingual"):
        return cls(threads=1)
    if (kind, name) == ("embedders", "sentence-transformers"):
        return cls(str(fixture("sentence_transformer_dir")), device="cpu")
    if (kind, name) == ("taggers", "cluster"):
        return cls(cls.Params(clusters=2, restarts=1))
    if (kind, name) == ("taggers", "instag"):
        return cls(fixture("tiny_backend"), cls.Params(max_new_tokens=8, retries=0))
    if (kind, name) == ("scorers", "reward"):
        return cls(str(fixture("reward_dir")), key="tiny-reward", device="cpu")
    if (kind, name) == ("scorers", "armorm"):
        return cls(str(fixture("armorm_dir")), key="armorm", device="cpu")
    if (kind, name) == ("backends", "transformers"):
        return cls(str(fixture("tiny_lm_dir")), device="cpu")
    if (kind, name) == ("backends", "vllm"):
        fixture("fake_vllm")
        return cls(str(fixture("tiny_lm_dir")))
    if (kind, name) == ("backends", "openai"):
        return cls("tiny", api_base=fixture("chat_server").api_base)
    return cheap(kind, name, cls)


def check_batch(kind: str, plugin) -> None:
    """The batch method of the kind, on two conversations: what ``schema()`` promises."""
    schema = plugin.schema()
    if kind == "embedders":
        vectors = plugin.encode(["how do I bake bread", "机器学习"])
        assert vectors.shape == (2, plugin.dim) and vectors.dtype == np.float32
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-3)
        assert schema.field("embedding").type == pa.list_(pa.float32(), plugin.dim)
    elif kind == "scorers":
        columns = plugin.score(CONVERSATIONS)
        assert list(columns) == schema.names
        for field in schema:
            assert len(columns[field.name]) == 2 and columns[field.name].type == field.type
    elif kind == "taggers" and plugin.name == "cluster":
        vectors = np.eye(2, 8, dtype=np.float32)
        result = plugin.tag(CONVERSATIONS, vectors)
        assert pa.table(result.columns).schema == schema
        assert sum(r["count"] for r in result.tag_table) == 2
    elif kind == "taggers" and plugin.name == "instag":
        from curate.tag.stage import RAW_SCHEMA

        assert list(schema) == list(RAW_SCHEMA)[1:]  # the raw sidecar's columns, after its id
        (tags,) = plugin.tag(CONVERSATIONS[:1])
        assert tags.turns == 1 and tags.status in ("ok", "partial", "failed")
    elif kind == "backends":
        from curate.llm import GenerationParams

        prompt = [{"role": "user", "content": "How do I bake bread?"}]
        (generation,) = plugin.generate([prompt], GenerationParams(max_new_tokens=4))
        assert generation.ok, generation.error
        assert schema == pa.schema([])


def check_format(fmt) -> None:
    from curate.ingest.formats import Format, FormatContext

    assert isinstance(fmt, Format)
    assert fmt.summary and isinstance(fmt.consumed, frozenset)
    assert fmt.matches({}) in (True, False)
    assert callable(fmt.converter(FormatContext(Path("x.jsonl"))))


def check_contract(kind: str, name: str, cls, request) -> None:
    """Everything the contract says, for one registered plugin."""
    if kind == "formats":
        assert cls.name == name
        check_format(cls)
        return
    assert issubclass(cls, plugins.Plugin)
    assert cls.kind == kind and cls.name == name
    assert callable(getattr(cls, plugins.BATCH_METHODS[kind]))
    assert all(isinstance(r, Requirement) for r in cls.requires)
    plugin = loadable(kind, name, cls, request)
    assert isinstance(plugin.reads, tuple) and all(isinstance(c, str) for c in plugin.reads)
    plugin.load()
    try:
        orjson.dumps(plugin.params())
        orjson.dumps(plugin.identity())
        assert isinstance(plugin.schema(), pa.Schema)
        assert "id" not in plugin.schema().names
        check_batch(kind, plugin)
    finally:
        if kind == "backends":
            plugin.close()


@pytest.mark.parametrize(("kind", "name"), PLUGINS, ids=[f"{k}/{n}" for k, n in PLUGINS])
def test_every_registered_plugin_keeps_the_contract(kind, name, request):
    check_contract(kind, name, plugins.load(kind, name), request)


@pytest.mark.parametrize(
    ("kind", "name"),
    [p for p in PLUGINS if p[0] != "formats"],
    ids=[f"{k}/{n}" for k, n in PLUGINS if k != "formats"],
)
def test_a_missing_dependency_fails_at_load_with_the_pip_install(kind, name, monkeypatch):
    plugin = cheap(kind, name, plugins.load(kind, name))
    if not plugin.requires:
        pytest.skip("needs nothing optional")
    for requirement in plugin.requires:
        monkeypatch.setitem(sys.modules, requirement.module, None)  # as if not installed
    with pytest.raises(CurateError, match="pip install") as raised:
        plugin.load()
    assert all(r.module in str(raised.value) for r in plugin.requires)


# -- require() ----------------------------------------------------------------------------------
def test_require_names_the_missing_modules_and_their_pip_install(monkeypatch):
    require([Requirement("json", "pip install json")], "the test plugin")  # present: nothing
    missing = [
        Requirement("curate_no_such_module", "pip install no-such-module"),
        Requirement("curate_no_such_package.sub", "pip install no-such-module"),
        Requirement("json", "pip install json"),
    ]
    with pytest.raises(CurateError) as raised:
        require(missing, "the test plugin")
    message = str(raised.value)
    assert message.startswith(
        "the test plugin needs curate_no_such_module, curate_no_such_package.sub"
    )
    assert message.count("pip install no-such-module") == 1 and "json" not in message
    monkeypatch.setitem(sys.modules, "json", None)  # blocked, as tests block vllm
    with pytest.raises(CurateError, match="pip install json"):
        require([Requirement("json", "pip install json")], "the test plugin")
    stand_in = type(sys)("curate_stand_in")  # a module object without a spec: a stand-in
    monkeypatch.setitem(sys.modules, "curate_stand_in", stand_in)
    require([Requirement("curate_stand_in", "pip install x")], "the test plugin")


# -- the registry: other packages' entry points --------------------------------------------------
THIRD_PARTY = """
import pyarrow as pa

from curate.plugins import Plugin, Requirement


class LengthScorer(Plugin):
    kind = "scorers"
    name = "length"
    key = ""

    def __init__(self, key="length", device=None):
        self.key, self.device = key, device

    def schema(self):
        return pa.schema([(f"{self.key}_score", pa.float32()), (f"{self.key}_status", pa.string())])

    def params(self):
        return {"unit": "characters"}

    def prepare(self, conversations):
        return conversations

    def run(self, prepared, progress=None):
        return {
            f"{self.key}_score": pa.array(
                [float(sum(len(m["content"]) for m in c)) for c in prepared], pa.float32()
            ),
            f"{self.key}_status": pa.array(["ok"] * len(prepared), pa.string()),
        }

    def score(self, conversations, progress=None):
        return self.run(self.prepare(conversations), progress)


class HashEmbedder(Plugin):
    kind = "embedders"
    name = "hash"
    dim = 4

    def encode(self, texts):
        import numpy as np

        return np.ones((len(texts), 4), dtype=np.float32) / 2


class EchoBackend(Plugin):
    kind = "backends"
    name = "echo"
    reads = ()
    requires = (Requirement("curate_no_such_module", "pip install echo-backend-deps"),)

    def __init__(self, model):
        self.model = model

    def generate(self, prompts, params):
        raise NotImplementedError
"""


@pytest.fixture
def entry_points(tmp_path, monkeypatch):
    """Install entry points as another package would: ``add(group, name, value)``."""
    (tmp_path / "curate_third_party.py").write_text(THIRD_PARTY)
    monkeypatch.syspath_prepend(str(tmp_path))
    added: list[metadata.EntryPoint] = []
    real = metadata.entry_points

    def fake(**selection):
        group = selection.get("group")
        ours = [ep for ep in added if ep.group == group]
        return [*real(**selection), *ours] if group else real(**selection)

    monkeypatch.setattr(metadata, "entry_points", fake)

    def add(group: str, name: str, value: str) -> None:
        added.append(metadata.EntryPoint(name=name, value=value, group=group))

    return add


def test_a_third_party_scorer_is_registered_resolved_and_keeps_the_contract(entry_points, request):
    entry_points("curate.scorers", "length", "curate_third_party:LengthScorer")
    entry_points("curate.scorers", "heuristics", "curate_third_party:LengthScorer")  # shadowing
    assert "length" in plugins.names("scorers") and "length" not in plugins.names("taggers")
    assert plugins.load("scorers", "heuristics").__module__ == "scorers.heuristics"  # built-in wins
    cls = plugins.load("scorers", "length")
    assert cls.__module__ == "curate_third_party"
    check_contract("scorers", "length", cls, request)
    # `curate score --model length`: resolved through the registry, unknown options left out
    scorer = plugins.resolve("scorers", "length", key=None, device="cpu", dtype="auto")
    assert isinstance(scorer, cls) and scorer.key == "length" and scorer.device == "cpu"
    assert plugins.resolve("scorers", "length", key="chars").key == "chars"


def test_a_third_party_embedder_is_resolved_by_name(entry_points):
    entry_points("curate.embedders", "hash", "curate_third_party:HashEmbedder")
    embedder = plugins.resolve("embedders", "hash", device="cpu", batch_size=8)
    assert type(embedder).__name__ == "HashEmbedder"
    assert plugins.resolve("embedders", "owner/model").model_ref == "owner/model"  # still a hub id


def test_resolve_turns_what_a_user_typed_into_a_plugin():
    assert plugins.resolve("embedders", None).name == "use-multilingual"  # the default
    assert plugins.resolve("embedders", "minilm").name == "minilm"  # a preset, not a class name
    scorer = plugins.resolve("scorers", "skywork-reward", device="cpu")
    assert scorer.name == "reward" and scorer.key == "skywork-reward"
    assert scorer.model_ref == "Skywork/Skywork-Reward-Llama-3.1-8B-v0.2"
    assert plugins.resolve("scorers", "heuristics", key=None, device="cpu").key == "heuristics"
    assert plugins.resolve("backends", "openai", "m").model == "m"  # no resolver: by name
    assert plugins.resolve("formats", "sharegpt").name == "sharegpt"
    with pytest.raises(CurateError, match="unknown scorer"):
        plugins.resolve("scorers", "no-such-scorer")


def test_a_third_party_backend_is_resolved_and_checks_its_requirements(entry_points):
    from curate.llm import resolve_backend

    entry_points("curate.backends", "echo", "curate_third_party:EchoBackend")
    backend = resolve_backend("echo", "some-model")
    assert backend.model == "some-model"
    with pytest.raises(
        CurateError,
        match="the echo backend needs curate_no_such_module.*pip install echo-backend-deps",
    ):
        backend.load()


def test_a_broken_entry_point_is_listed_and_fails_clearly_when_loaded(entry_points):
    entry_points("curate.taggers", "gone", "curate_no_such_package.tagger:Tagger")
    entry_points("curate.taggers", "typo", "curate_third_party:NoSuchClass")
    entry_points("curate.taggers", "extras", "curate_third_party:LengthScorer [gpu]")
    assert {"gone", "typo", "extras", "cluster"} <= set(plugins.names("taggers"))
    with pytest.raises(
        CurateError, match=r"tagger 'gone' \(entry point .*curate\.taggers\).*No module named"
    ):
        plugins.load("taggers", "gone")
    with pytest.raises(CurateError, match="tagger 'typo'.*NoSuchClass"):
        plugins.load("taggers", "typo")
    assert plugins.load("taggers", "extras").__name__ == "LengthScorer"
    with pytest.raises(CurateError, match="no tagger named 'nope'; registered: cluster, extras"):
        plugins.load("taggers", "nope")
    with pytest.raises(CurateError, match="unknown plugin kind"):
        plugins.names("judges")


def test_broken_package_metadata_does_not_break_listing(monkeypatch):
    def broken(**selection):
        raise ValueError("a distribution with broken metadata")

    monkeypatch.setattr(metadata, "entry_points", broken)
    assert plugins.names("scorers") == sorted(plugins.BUILTINS["scorers"])


def test_builtins_are_the_one_list():
    """Built-ins are not repeated as entry points of this package (they would shadow nothing)."""
    config = (REPO / "setup.cfg").read_text()
    for kind in plugins.KINDS:
        assert f"curate.{kind} =" not in config and f"curate.{kind}=" not in config
    from curate.llm import BACKENDS

    assert BACKENDS is plugins.BUILTINS["backends"]


# -- the core reaches plugin packages only through the registry ----------------------------------
PLUGIN_PACKAGES = ("scorers", "taggers")


def plugin_imports(root: Path) -> list[str]:
    """``path:line module`` for every import of a plugin package under ``root``."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        nodes = sorted(
            ast.walk(tree),
            key=lambda n: (
                getattr(n, "lineno", 0),
                n.col_offset if hasattr(n, "col_offset") else 0,
            ),
        )
        for node in nodes:
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            elif (
                isinstance(node, ast.Call)
                and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                modules = [node.args[0].value]
            else:
                continue
            for module in modules:
                if module.split(".")[0] in PLUGIN_PACKAGES:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {module}")
    return found


def test_the_core_imports_no_plugin_package():
    assert plugin_imports(REPO / "curate") == []


def test_the_import_check_sees_every_spelling(tmp_path):
    core = tmp_path / "curate"
    core.mkdir()
    (core / "a.py").write_text(
        "import scorers.armorm\nfrom taggers import cluster\nimport importlib\n"
        "def f():\n    from scorers.registry import resolve\n"
        "    importlib.import_module('taggers.instag')\n"
        "from curate import plugins\nfrom . import sibling\n"
    )
    assert [line.split(" ")[1] for line in plugin_imports(core)] == [
        "scorers.armorm",
        "taggers",
        "scorers.registry",
        "taggers.instag",
    ]
