"""The growing pause after throttle answers, shared by the controllers."""

from __future__ import annotations

from ._arguments import positive


class PauseBackoff:
    """pause, 2*pause, 4*pause ... up to max_pause, back to pause on :meth:`reset`."""

    __slots__ = ("_next", "max_pause", "pause")

    def __init__(self, pause: float, max_pause: float) -> None:
        self.pause = positive("pause", pause)
        self.max_pause = positive("max_pause", max_pause)
        if self.max_pause < self.pause:
            raise ValueError(f"max_pause must be >= pause ({pause!r}), got {max_pause!r}")
        self._next = self.pause

    def next(self) -> float:
        current = self._next
        self._next = min(self.max_pause, current * 2)
        return current

    def reset(self) -> None:
        self._next = self.pause
