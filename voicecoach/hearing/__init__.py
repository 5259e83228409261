"""Hearing: endpointing, VAD, recognizers behind one protocol, rejection."""
