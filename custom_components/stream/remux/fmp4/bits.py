"""A big-endian bit reader with Exp-Golomb codes, for parsing parameter sets (run once per stream, not per packet)."""

from __future__ import annotations


class BitReader:
    """Reads bits MSB first from an RBSP (emulation-prevention bytes already removed)."""

    __slots__ = ("_position", "_size", "_value")

    def __init__(self, data: bytes) -> None:
        # One big int makes every read a shift and a mask.
        self._value = int.from_bytes(data)
        self._size = len(data) * 8
        self._position = 0

    @property
    def position(self) -> int:
        return self._position

    def u(self, count: int) -> int:
        """An unsigned integer of `count` bits."""
        end = self._position + count
        if end > self._size:
            raise ValueError("Truncated parameter set")
        self._position = end
        return (self._value >> (self._size - end)) & ((1 << count) - 1)

    def flag(self) -> bool:
        return self.u(1) == 1

    def skip(self, count: int) -> None:
        self.u(count)

    def ue(self) -> int:
        """An unsigned Exp-Golomb code, ue(v)."""
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ValueError("Invalid Exp-Golomb code in parameter set")
        return (1 << zeros) - 1 + self.u(zeros)

    def se(self) -> int:
        """A signed Exp-Golomb code, se(v)."""
        code = self.ue()
        return (code + 1) // 2 if code & 1 else -(code // 2)
