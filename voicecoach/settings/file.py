"""The settings file: reading, checking the size of, and atomically changing the TOML file."""

from __future__ import annotations

import os
import re
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import platformdirs
import tomlkit

from voicecoach.content.loader import Library
from voicecoach.settings.schema import Settings, SettingsError, _shown, all_keys, validate

MAX_FILE_BYTES = 100_000  # a settings file is a few hundred bytes
MAX_ENTRIES = 2_000       # keys and values in all; every setting there is, for every routine, is a few hundred
MAX_NESTING = 8           # tables and lists inside each other (exercise.ROUTINE.EXERCISE.key is 4)


def settings_path() -> Path:
    return Path(platformdirs.user_config_dir("voicecoach")) / "settings.toml"


class SettingsFile:
    """The TOML file: read, change one key at a time, written atomically."""

    def __init__(self, path: Path | None = None):
        self.path = path or settings_path()

    def read_data(self) -> dict:
        """The file's table; a :class:`SettingsError` ``file:line: problem`` if it cannot be read,
        or holds more than :data:`MAX_ENTRIES` entries or :data:`MAX_NESTING` levels (each
        would be checked and reported one by one: minutes for a file of junk tables)."""
        text = self.read_text()
        if text is None:
            return {}
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:  # message ends "(at line L, column C)"
            found = re.search(r"\(at line (\d+), column \d+\)", str(exc))
            line = int(found.group(1)) if found else 1
            problem = re.sub(r"\s*\(at line \d+, column \d+\)|\s*\(at end of document\)", "", str(exc))
            raise self._error(line, f"not valid TOML: {problem}") from None
        except RecursionError:  # inline tables nested thousands deep
            raise self._error(1, "tables nested too deeply") from None
        except ValueError:  # an integer with thousands of digits (Python's conversion limit)
            found = re.search(r"\d{1000,}", text)
            line = text.count("\n", 0, found.start()) + 1 if found else 1
            raise self._error(line, "a number is far too large") from None
        problem = _size_problem(data)
        if problem:
            raise self._error(1, problem)
        return data

    def read_text(self) -> str | None:
        """The file's UTF-8 text (None if there is no file)."""
        import stat
        try:
            # O_NONBLOCK: a FIFO must not wait for a writer; only a regular file is read, and
            # at most one byte past the limit (a symlink to /dev/zero would never end)
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
            with open(fd, "rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise self._error(1, "is not a regular file (a folder, a pipe or a device); only files are read")
                data = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return None
        except IsADirectoryError:
            raise self._error(1, "is a folder, not a file") from None
        except OSError as exc:
            raise self._error(1, f"cannot be read ({exc.strerror or exc})") from None
        if len(data) > MAX_FILE_BYTES:
            raise self._error(1, f"the file is over {MAX_FILE_BYTES:,} bytes; a settings file is a few hundred")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise self._error(data.count(b"\n", 0, exc.start) + 1,
                              f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save it as UTF-8") from None

    def _error(self, line: int, message: str) -> SettingsError:
        return SettingsError([("(file)", message)], self.path, line)

    def line_of(self, key: str) -> int:
        """Line of a dotted key in the file (best effort: 1 if not found)."""
        try:
            text = self.read_text() or ""
        except SettingsError:
            return 1
        table: list[str] = []
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            header = re.match(r"^\[\s*([^\[\]]+?)\s*\]", line)
            if header:
                table = [p.strip().strip('"\'') for p in header.group(1).split(".")]
                if ".".join(table) == key:
                    return number
                continue
            name = re.match(r"^([A-Za-z0-9_.\-\"' ]+?)\s*=", line)
            if name:
                dotted = ".".join(table + [p.strip().strip('"\'') for p in name.group(1).split(".")])
                if dotted == key or key.startswith(dotted + "."):
                    return number
        return 1

    def load(self, library: Library) -> tuple[Settings, list[tuple[str, str]]]:
        return validate(self.read_data(), library)

    def set(self, key: str, value: Any, library: Library) -> None:
        self.set_many({key: value}, library)

    def set_many(self, values: dict[str, Any], library: Library) -> None:
        """Change keys; refuse (file untouched) if any of them is not valid."""
        doc = self._document()
        known = {k.key for k in all_keys(library)}
        for key, value in values.items():
            if key not in known and not key.startswith("exercise."):
                raise SettingsError([(key, "unknown setting (see 'voicecoach config' for the keys)")])
            _assign(doc, key, value)
        _, problems = validate(doc.unwrap(), library)
        mine = [(k, m) for k, m in problems if any(_overlaps(k, v) for v in values)]
        if mine:
            raise SettingsError(mine)
        self._write(tomlkit.dumps(doc))

    def unset(self, key: str) -> bool:
        """Remove a key (False if it was not in the file); tables left empty go too."""
        doc = self._document()
        parts = key.split(".")
        chain = [doc]
        for part in parts[:-1]:
            node = chain[-1]
            if not isinstance(node, dict) or part not in node:
                return False
            chain.append(node[part])
        if not isinstance(chain[-1], dict) or parts[-1] not in chain[-1]:
            return False
        del chain[-1][parts[-1]]
        for depth in range(len(chain) - 1, 0, -1):  # [exercise.x.y] with nothing left in it
            if len(chain[depth]) == 0:
                del chain[depth - 1][parts[depth - 1]]
        self._write(tomlkit.dumps(doc))
        return True

    def _document(self) -> tomlkit.TOMLDocument:
        self.read_data()  # a broken file is reported, not overwritten
        if not self.path.exists():
            doc = tomlkit.document()
            doc.add(tomlkit.comment("voicecoach settings; change with 'voicecoach config set KEY VALUE'"))
            return doc
        return tomlkit.parse(self.read_text() or "")

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".settings-", suffix=".toml")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            os.unlink(tmp)
            raise


def _size_problem(data) -> str | None:
    """Why a settings table is too big or too deep to be a settings file (iteratively)."""
    todo, count = [(data, 1)], 0
    while todo:
        node, depth = todo.pop()
        if depth > MAX_NESTING:
            return f"tables or lists nested more than {MAX_NESTING} deep; a settings file needs 4"
        children = list(node.values()) if isinstance(node, dict) else node if isinstance(node, list) else []
        count += len(children)
        if count > MAX_ENTRIES:
            return f"more than {MAX_ENTRIES:,} entries; a settings file has a few dozen"
        todo.extend((c, depth + 1) for c in children if isinstance(c, (dict, list)))
    return None


def _overlaps(problem_key: str, key: str) -> bool:
    """Is a problem about ``key`` (or a section it created or belongs to)?"""
    return problem_key == key or key.startswith(problem_key + ".") or problem_key.startswith(key + ".")


def _assign(doc, key: str, value: Any) -> None:
    parts = key.split(".")
    if not all(parts):
        raise SettingsError([(key, "a key is names joined by dots, e.g. speech.rate")])
    node = doc
    for depth, part in enumerate(parts[:-1]):
        if part not in node:
            # only the innermost table gets a header: [exercise.hip-stretches.figure-4]
            node[part] = tomlkit.table(is_super_table=depth < len(parts) - 2)
        node = node[part]
        if not isinstance(node, dict):
            raise SettingsError([(key, f"{'.'.join(parts[:depth + 1])} is a value, not a table of settings "
                                       "(see 'voicecoach config' for the keys)")])
    node[parts[-1]] = value


def parse_value(text: str, key: str = "value") -> Any:
    """A command-line value as TOML would read it: 150 -> int, true -> bool, else text."""
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except (tomllib.TOMLDecodeError, RecursionError):
        return text
    except ValueError as exc:  # an integer with thousands of digits
        raise SettingsError([(key, f"{_shown(text)} is far too large")]) from exc
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        raise SettingsError([(key, f"{text} is not a finite number")])
    return value