"""Devices: the PortAudio microphone and loudspeaker."""
