"""YAML reading with line numbers, shared by the routine loader and the vocabulary.

PyYAML follows YAML 1.1, where an unquoted ``yes`` or ``no`` is a boolean. Routine files
use ``yes:`` and ``no:`` as answer names, so this loader only takes ``true``/``false``
as booleans (as YAML 1.2 does).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml


class StrictBoolLoader(yaml.SafeLoader):
    """SafeLoader whose booleans are only true/false (YAML 1.2), so yes/no stay strings."""


StrictBoolLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictBoolLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class YamlError(ValueError):
    """A YAML file could not be read; ``str()`` is ``file:line: message``."""

    def __init__(self, path: str, line: int, message: str):
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line, self.message = path, line, message


def load_with_nodes(path: Path | str, text: str | None = None) -> tuple[Any, yaml.Node | None]:
    """Parse a YAML file into plain data plus its node tree (for line numbers)."""
    path = str(path)
    if text is None:
        text = Path(path).read_text(encoding="utf-8")
    try:
        node = yaml.compose(text, Loader=StrictBoolLoader)
        data = yaml.load(text, Loader=StrictBoolLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise YamlError(path, line, f"not valid YAML: {exc.problem or exc}") from None
    return data, node


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
