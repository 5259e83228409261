"""When the composition root asks PulseAudio for its echo canceller (no sound server touched)."""

from __future__ import annotations

from voicecoach.cli.compose import open_system_echo
from voicecoach.settings.schema import ListeningSettings, Settings


def test_not_asked_for_when_barge_in_is_off_or_the_program_s_own_canceller_is_chosen():
    assert open_system_echo(Settings()) == (None, "")  # barge-in is off by default
    settings = Settings(listening=ListeningSettings(barge_in="on", echo_canceller="webrtc"))
    assert open_system_echo(settings) == (None, "")
    settings = Settings(listening=ListeningSettings(barge_in="on", engine="pocketsphinx"))  # no barge-in then
    assert open_system_echo(settings) == (None, "")


def test_a_device_chosen_by_name_keeps_the_program_s_canceller():
    settings = Settings(listening=ListeningSettings(barge_in="on", input_device="USB"))
    ec, why = open_system_echo(settings)
    assert ec is None and "default microphone and loudspeaker" in why
