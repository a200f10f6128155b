"""A bounded single-producer single-consumer ring of sample blocks between two threads.

Slots are preallocated numpy arrays; neither side allocates a buffer or takes a lock.
The producer fills the slot at ``head`` and only then advances ``head``; the consumer
reads the slot at ``tail`` and only then advances ``tail``. Each counter is written by
one thread only, and a slot is touched by one side at a time, so under CPython (where an
attribute store is atomic and ordered after the array writes before it) nothing tears.
A full ring refuses the push and counts it: the producer never waits.

It carries audio-thread blocks to the network thread (to send) and decoded frames from
the network thread to the audio thread (to the jitter buffer).
"""

from __future__ import annotations

import numpy as np


def touched(shape, dtype) -> np.ndarray:
    """Zeros whose memory is written now, not on first use. A large numpy array is mapped
    lazily (and numpy asks for transparent huge pages above 4 MB): its first write to
    each page would take a page fault, and to each 2 MB huge page a zeroing that can
    take milliseconds, while the writing thread holds the GIL. In the network thread
    that stalled the audio callback every 64 frames until the ring had gone round once."""
    a = np.empty(shape, dtype)
    a.fill(0)
    return a


class BlockRing:
    def __init__(self, slots: int, channels: int, max_frames: int):
        self.slots = slots
        self.channels = channels
        self.max_frames = max_frames
        self.data = touched((slots, channels, max_frames), np.float32)
        self.position = np.zeros(slots, np.int64)
        self.frames = np.zeros(slots, np.int32)
        self.flags = np.zeros(slots, np.int32)
        self.stamp = np.zeros(slots, np.float64)  # arrival or capture time, seconds
        self.head = 0  # written by the producer only
        self.tail = 0  # written by the consumer only
        self.overflows = 0  # pushes refused because the ring was full (producer's count)

    def __len__(self):
        return self.head - self.tail

    # -- producer

    def reserve(self) -> int:
        """The slot index to fill next, or -1 if the ring is full (counted)."""
        if self.head - self.tail >= self.slots:
            self.overflows += 1
            return -1
        return self.head % self.slots

    def publish(self, slot: int, position: int, frames: int, flags: int = 0, stamp: float = 0.0):
        """Make a slot filled through ``data[slot]`` visible to the consumer."""
        self.position[slot] = position
        self.frames[slot] = frames
        self.flags[slot] = flags
        self.stamp[slot] = stamp
        self.head += 1

    def fill(self, slot: int, offset: int, block: np.ndarray):
        """Copy a (channels, frames) block into a reserved slot at sample ``offset``:
        channels beyond the ring's are left out, missing ones are zero."""
        ch, n = block.shape
        ch = min(ch, self.channels)
        self.data[slot, :ch, offset:offset + n] = block[:ch]
        if ch < self.channels:
            self.data[slot, ch:, offset:offset + n] = 0.0

    def push(self, position: int, block: np.ndarray, flags: int = 0, stamp: float = 0.0) -> bool:
        """Copy a (channels, frames) block in; False if the ring was full."""
        slot = self.reserve()
        if slot < 0:
            return False
        self.fill(slot, 0, block)
        self.publish(slot, position, block.shape[1], flags, stamp)
        return True

    # -- consumer

    def peek(self) -> int:
        """The slot index to read next, or -1 if empty."""
        return self.tail % self.slots if self.head != self.tail else -1

    def release(self):
        self.tail += 1
