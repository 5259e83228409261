"""Speech: voices, cues and captions."""
