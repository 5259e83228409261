"""YAML reading with line numbers, shared by the routine loader and the vocabulary.

PyYAML follows YAML 1.1, where an unquoted ``yes`` or ``no`` is a boolean. Routine files
use ``yes:`` and ``no:`` as answer names, so this loader only takes ``true``/``false``
as booleans (as YAML 1.2 does). Numbers follow YAML 1.2 too: ``1e3`` is a number, not
the text "1e3".

Every problem is a :class:`YamlError` with the file and line, never a traceback: text
that is not UTF-8, a NUL byte, a file over :data:`MAX_FILE_BYTES`, nesting deeper than
:data:`MAX_DEPTH`. Numbers too large or not finite (``.inf``, ``.nan``) are left to the
models, which refuse them at their key with the allowed range.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 1_000_000   # a routine or vocabulary file is a few kB; 1 MB is plenty
MAX_DEPTH = 20               # mappings/lists inside each other (a routine needs about 6)
MAX_INT_DIGITS = 18          # longer integers are read as floats (see _bounded_int)
MAX_NODES = 100_000          # values once aliases are expanded ("billion laughs"); a routine has a few hundred


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: a 1 MB file in about a second


class StrictBoolLoader(_Base):  # type: ignore[misc, valid-type]
    """SafeLoader whose booleans are only true/false (YAML 1.2), so yes/no stay strings."""


StrictBoolLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:float")]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
# YAML 1.2 floats: "1e308" and "2.5" are numbers (YAML 1.1 wants a dot before an exponent)
StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
                  |[-+]?\.(?:inf|Inf|INF)
                  |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."),
)


def _bounded_int(loader: StrictBoolLoader, node: yaml.ScalarNode):
    # A huge integer becomes a float (infinity past 1e308), which the models refuse with a
    # range message at its key, instead of Python's int-conversion limit failing here.
    if sum(ch.isdigit() for ch in node.value) > MAX_INT_DIGITS:
        try:
            return float(node.value.replace("_", ""))
        except ValueError:  # hex, octal or sexagesimal that long: plain text
            return node.value
    return yaml.SafeLoader.construct_yaml_int(loader, node)


StrictBoolLoader.add_constructor("tag:yaml.org,2002:int", _bounded_int)


class YamlError(ValueError):
    """A YAML file could not be read; ``str()`` is ``file:line: message``."""

    def __init__(self, path: str, line: int, message: str):
        message = " ".join(message.splitlines())  # one line, whatever a key or value held
        super().__init__(f"{shown(path)}:{line}: {shown(message)}")
        self.path, self.line, self.message = path, line, message


def read_text(path: Path | str, data: bytes | None = None, what: str = "file") -> str:
    """The UTF-8 text of a file, or a :class:`YamlError` saying why it is not text."""
    path = str(path)
    if data is None:
        try:
            # O_NONBLOCK: opening a FIFO must not wait for a writer; only regular files are read
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with open(fd, "rb") as f:
                info = os.fstat(f.fileno())
                if stat.S_ISDIR(info.st_mode):
                    raise IsADirectoryError
                if not stat.S_ISREG(info.st_mode):
                    raise YamlError(path, 1, "is not a regular file (a pipe or device?); only files are read")
                if info.st_size > MAX_FILE_BYTES:
                    raise YamlError(path, 1, f"{what} is {info.st_size:,} bytes; the limit is {MAX_FILE_BYTES:,} (1 MB)")
                data = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            raise YamlError(path, 1, "no such file") from None
        except IsADirectoryError:
            raise YamlError(path, 1, "is a folder, not a file") from None
        except OSError as exc:
            raise YamlError(path, 1, f"cannot be read ({exc.strerror or exc})") from None
    if len(data) > MAX_FILE_BYTES:
        raise YamlError(path, 1, f"{what} is over {MAX_FILE_BYTES:,} bytes (1 MB), the limit")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(path, line, f"not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                                    "save it as UTF-8") from None
    return check_text(path, text)


def check_text(path: str, text: str) -> str:
    """Refuse text no editor would write: NUL and other control characters."""
    if len(text) > MAX_FILE_BYTES:
        raise YamlError(path, 1, f"file is over {MAX_FILE_BYTES:,} characters (1 MB), the limit")
    bad = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff]", text[1:] if text.startswith("\ufeff") else text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        what = "a NUL byte" if bad.group() == "\0" else f"a control character (U+{ord(bad.group()):04X})"
        raise YamlError(path, line, f"contains {what}: is this a text file?")
    return text


def load_with_nodes(path: Path | str, text: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file into plain data plus its node tree (for line numbers)."""
    path = str(path)
    text = read_text(path) if text is None else check_text(path, text)
    loader = StrictBoolLoader(text)
    try:
        node = loader.get_single_node()
        problem = _shape_problem(node) if node is not None else None
        if problem:
            raise YamlError(path, *problem)
        data = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise YamlError(path, line, exc.problem or str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:  # reader errors carry no mark
        raise YamlError(path, 1, f"not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        line = loader.get_mark().line + 1
        raise YamlError(path, line, f"nested more than {MAX_DEPTH} levels deep") from None
    finally:
        loader.dispose()
    return data, node


def _shape_problem(node: yaml.Node) -> tuple[int, str] | None:
    """(line, problem) of the first node nested deeper than :data:`MAX_DEPTH`, or of the
    value that takes the document past :data:`MAX_NODES` values with its aliases expanded
    (an alias shares its node, so exponential aliases are counted as what they expand to,
    without building it). Iterative: no recursion, and it stops at the first problem."""
    todo = [(node, 1)]
    seen = 0
    while todo:
        current, depth = todo.pop()
        seen += 1
        if seen > MAX_NODES:
            return (current.start_mark.line + 1,
                    f"more than {MAX_NODES:,} values once its aliases (*name) are expanded; is it an alias bomb?")
        if depth > MAX_DEPTH:
            return current.start_mark.line + 1, f"nested more than {MAX_DEPTH} levels deep"
        if isinstance(current, yaml.MappingNode):
            todo.extend((v, depth + 1) for kv in current.value for v in kv)
        elif isinstance(current, yaml.SequenceNode):
            todo.extend((v, depth + 1) for v in current.value)
    return None


# Characters that change how a terminal shows text rather than being text: C0/C1 controls
# (escape sequences, carriage return), format characters (bidirectional overrides,
# zero-width spaces and joiners, BOM), line and paragraph separators.
_UNSAFE_CATEGORIES = {"Cc", "Cf", "Zl", "Zp"}


def unsafe_chars(text: str, keep: str = "") -> list[str]:
    """The characters of ``text`` that are controls or invisible formatting (``keep``: allowed ones)."""
    return [ch for ch in text if ch not in keep and unicodedata.category(ch) in _UNSAFE_CATEGORIES]


def clean_text(text: str, keep: str = "\n\t") -> str:
    """``text`` without control and invisible formatting characters (newlines and tabs kept)."""
    if text.isprintable():  # the common case, fast
        return text
    return "".join(ch for ch in text if ch in keep or unicodedata.category(ch) not in _UNSAFE_CATEGORIES)


def shown(text: str) -> str:
    """``text`` safe to print on one terminal line: every control or invisible character
    written as an escape (``\\x1b``, ``\\u202e``), so nothing is hidden and nothing acts."""
    if text.isprintable():
        return text
    return "".join(ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _UNSAFE_CATEGORIES
                   else ch for ch in text)


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node along ``loc`` (keys and list indexes)."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for key in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key):
                    child = v
                    line = k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
