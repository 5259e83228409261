"""Issue 22's rules under randomised play of many sessions in a row on one history: a reduced,
derandomised run of ``scripts/explore_method.py`` (fixed seeds, histories in memory and in a
SQLite file). The explorer builds each session as ``voicecoach`` does (``compose.build_coach``
from the history, ``session.loop.Session``) and checks the rules from the issue and the README
after every event and every session; see the script for what it covers."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from voicecoach.content.vocabulary import Vocabulary

SCRIPT = Path(__file__).resolve().parents[3] / "scripts" / "explore_method.py"


@pytest.fixture(scope="module")
def explore():
    spec = importlib.util.spec_from_file_location("explore_method", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _run(explore, seed, histories, sessions, memory, folder=None):
    x = explore.Explorer(seed, memory=memory, folder=folder, examples=2)
    try:
        for h in range(histories):
            x.history(sessions, h)
    finally:
        x.close()
    return x


def test_no_answer_of_a_context_is_shadowed_by_a_command(explore, library):
    assert explore.shadowed_answers(Vocabulary.load().with_routines(library.spoken_names())) == []


@pytest.mark.parametrize("seed,memory", [(1, True), (2, False)])
def test_many_sessions_in_a_row_keep_the_method(explore, tmp_path, seed, memory):
    x = _run(explore, seed, histories=3, sessions=40, memory=memory, folder=tmp_path)
    found = {rule: x.examples[rule] for rule in x.counts if x.counts[rule]}
    assert found == {}, found
    assert x.sessions == 120 and x.events > 2000
    # the rules were exercised, not passed by never getting there
    for what in ("ratings answered", "interrupted", "sessions after a safety stop", "'my routine' started"):
        assert x.seen[what] > 0, (what, x.seen)


def test_the_explorer_gives_the_history_its_real_clock_back(explore):
    import time

    from voicecoach.store import history
    x = explore.Explorer(3, memory=True)
    x.close()
    assert history.time is time
