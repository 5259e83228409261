"""PulseAudio's echo canceller as the program loads and unloads it, against a fake sound server."""

from __future__ import annotations

from voicecoach.devices.pulse_echo import EC_SINK, EC_SOURCE, MODULE, open_system_echo_cancel
from voicecoach.hearing.echo import SystemEchoCanceller, level_removal_db

from tests.support.fakes import FakeSoundServer


def test_loads_between_the_default_devices_and_points_new_streams_at_it():
    server, env = FakeSoundServer("room_speaker", "room_mic"), {}
    ec, why = open_system_echo_cancel(server, env)
    assert why == "" and ec is not None
    (name, args), = server.loaded.values()
    assert name == MODULE
    for part in ("aec_method=webrtc", "source_master=room_mic", "sink_master=room_speaker", "noise_suppression=0",
                 "analog_gain_control=0", "digital_gain_control=0", "extended_filter=1"):
        assert part in args
    assert env == {"PULSE_SINK": EC_SINK, "PULSE_SOURCE": EC_SOURCE}
    with ec.master_microphone():
        assert env["PULSE_SOURCE"] == "room_mic"
    assert env["PULSE_SOURCE"] == EC_SOURCE
    ec.close()
    assert server.loaded == {} and env == {}
    ec.close()  # twice is harmless (atexit after the session's own close)


def test_another_method_and_its_arguments_can_be_asked_for_measuring():
    from voicecoach.devices.pulse_echo import AEC_ARGS, SystemEchoCancel
    server = FakeSoundServer("room_speaker", "room_mic")
    ec = SystemEchoCancel(server, {}, method="speex", aec_args="echo_suppress=0")
    assert ec.start() == ""
    (_, args), = server.loaded.values()
    assert "aec_method=speex" in args and 'aec_args="echo_suppress=0"' in args and AEC_ARGS not in args
    ec.close()


def test_a_module_left_by_a_killed_run_is_unloaded_first():
    server = FakeSoundServer()
    server.loaded[3] = (MODULE, f"aec_method=webrtc sink_name={EC_SINK} source_name={EC_SOURCE}")
    server.loaded[4] = (MODULE, "sink_name=someone_elses")
    ec, _ = open_system_echo_cancel(server, {})
    assert 3 not in server.loaded and 4 in server.loaded and len(server.loaded) == 2
    ec.close()
    assert list(server.loaded) == [4]


def test_keeps_the_environment_of_the_caller():
    env = {"PULSE_SINK": "mine"}
    ec, _ = open_system_echo_cancel(FakeSoundServer(), env)
    ec.close()
    assert env == {"PULSE_SINK": "mine"}


def test_says_why_not_and_loads_nothing():
    ec, why = open_system_echo_cancel(FakeSoundServer(fail_load=True), {})
    assert ec is None and "could not be loaded" in why and "Module initialization failed" in why
    server = FakeSoundServer(source="speaker.monitor")
    ec, why = open_system_echo_cancel(server, {})
    assert ec is None and "cannot be used" in why and server.loaded == {}


def test_a_sound_server_gone_at_the_end_is_not_an_error():
    server, env = FakeSoundServer(), {}
    ec, _ = open_system_echo_cancel(server, env)
    server.loaded.clear()  # the daemon died and took the module with it
    ec.close()
    assert env == {}


def test_the_system_canceller_passes_frames_through_and_levels_give_the_db():
    canceller = SystemEchoCanceller("pulseaudio")
    frame = (b"\x10\x00" * 480)
    assert canceller.process(frame, b"\0" * 960) == frame
    loud = (b"\x00\x10" * 480)    # 4096
    quiet = (b"\x80\x00" * 480)   # 128: 30 dB lower
    before = [(t * 0.03, loud) for t in range(10)]
    after = [(t * 0.03, quiet) for t in range(10)] + [(5.0, loud)]  # outside the window: not counted
    assert abs(level_removal_db(before, after, 0.0, 1.0) - 30.1) < 0.2
    assert level_removal_db([], after, 0.0, 1.0) == 0.0
