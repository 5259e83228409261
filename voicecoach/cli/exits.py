"""Exit codes (listed in the README), one meaning each whatever the command, and the one
line on stderr that says why."""

from __future__ import annotations

import sys

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE, EXIT_SESSION, EXIT_FILES, EXIT_INTERNAL = 0, 1, 2, 3, 4, 70
EXIT_INTERRUPTED, EXIT_PIPE = 130, 141  # Ctrl-C; output into a closed pipe (128 + SIGPIPE, as shells do)


def say(line: str) -> None:
    """One line on stderr, even if stderr itself is closed or a closed pipe."""
    try:
        print(line, file=sys.stderr, flush=True)
    except (OSError, AttributeError, ValueError):
        pass
