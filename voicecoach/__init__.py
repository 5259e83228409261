"""voicecoach: a hands-free, offline voice coach for sciatica exercises."""

__version__ = "0.1.0"
