"""The program cursor: the instructions compiled so far, and where the coach is in them.

Routines are compiled and appended as the session goes (the screen, the chosen routine,
its check-ins). Each appended routine numbers its blocks from a new multiple of
``BLOCKS_PER_ROUTINE``, so a block number tells which routine it belongs to. The cursor
remembers the start of every block entered, so that "back" can go to the one before.
"""

from __future__ import annotations

from voicecoach.content.loader import Library
from voicecoach.core.positions import position_of
from voicecoach.core.program import Block, Compiler, Instruction, Tuning, remaining_seconds
from voicecoach.core.resume import BLOCKS_PER_ROUTINE


class Cursor:
    """``program[pc]`` is the instruction under way; ``visited`` the block starts entered."""

    def __init__(self, library: Library):
        self.library = library
        self.program: list[Instruction] = []
        self.pc = 0
        self.visited: list[int] = []  # block start pcs entered, in order, for "back"
        self.blocks = 0  # block numbers used so far: the last appended routine's first - 1

    @property
    def here(self) -> Instruction | None:
        return self.program[self.pc] if 0 <= self.pc < len(self.program) else None

    @property
    def block(self) -> Block | None:
        here = self.here
        return here.block if here else None

    def append(self, routine_id: str, tuning: Tuning) -> int:
        """Compile the routine onto the end of the program; its first block number - 1."""
        first = self.blocks + BLOCKS_PER_ROUTINE
        code = Compiler(self.library, tuning).compile(routine_id, offset=len(self.program), first_block=first)
        self.blocks = first
        self.program.extend(code)
        return first

    def entered_block(self) -> bool:
        """Remember where a new block starts (for "back"); True if ``pc`` is in one."""
        block = self.program[self.pc].block
        if block and (not self.visited or self.program[self.visited[-1]].block != block):
            start = self.pc
            while start > 0 and self.program[start - 1].block == block:
                start -= 1
            self.visited.append(start)
            return True
        return False

    def past_block(self) -> None:
        """Move to the first instruction after the current block."""
        block, pc = self.block, self.pc
        while pc < len(self.program) and self.program[pc].block == block:
            pc += 1
        self.pc = pc

    def back(self) -> None:
        """Move to the start of the block before the current one."""
        # visited ends with the current block; go to the one before it
        current = self.visited.pop() if self.visited else self.pc
        target = self.visited.pop() if self.visited else current
        where = position_of(self.program, target)
        if where and where[2] < target:
            # Back onto a question about a position (its movement check, its rating): the
            # person may be in another position by now, so guide them into this one again
            # rather than ask how it felt.
            target = where[2]
            while self.visited and self.visited[-1] >= target:
                self.visited.pop()
        self.pc = target

    def seconds_after(self, pc: int, preference: str | None) -> float:
        """Estimated seconds (s) of the program from ``pc`` on, on the way ``preference`` takes."""
        return remaining_seconds(self.program, pc, preference)
