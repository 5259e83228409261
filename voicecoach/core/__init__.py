"""The pure core: the coach's state machine, its program and its rules. No I/O."""
