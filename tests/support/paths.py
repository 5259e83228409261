"""Where the test data lives, whichever folder a test sits in."""

from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent          # the checkout
AUDIO = TESTS / "audio"       # recorded and synthetic answers
