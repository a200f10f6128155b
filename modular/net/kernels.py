"""Per-sample loops of the jitter buffer, compiled: storing, playing out with concealment,
cross-fading an audio stream's moves of the playout point, and the decaying histogram
behind the automatic depth."""

import numpy as np
from numba import njit

# The stamp of a ring slot that holds no sample. Not -1: a playout point may stand before
# a stream's first position (a buffer that deepens right after the start steps back
# over position 0, a return played at t + L before t reaches 0), and position -1 would
# then find every empty slot it maps to holding it.
EMPTY = -(1 << 62)


@njit(cache=True, nogil=True)
def store(ring, stamp, mask, position, data, channels, frames, low):
    """Write ``frames`` samples from ``data`` (channels, >=frames) at timeline ``position``
    into a power-of-two sample ring; samples before ``low`` (already played) are skipped.
    Each ring slot remembers the position it holds, so stale laps never play."""
    start = 0
    if position < low:
        start = low - position
    for i in range(start, frames):
        p = position + i
        j = p & mask
        stamp[j] = p
        for c in range(channels):
            ring[c, j] = data[c, i]
    return frames - start


@njit(cache=True, nogil=True)
def play(ring, stamp, mask, position, out, held, state, cv, decay, recover, quiet_end):
    """Fill ``out`` (channels, block) with the samples at ``position ..``; return how many
    were missing. A missing CV sample holds the last value exactly; missing audio fades
    from the last value towards 0 (``decay`` per sample) and, when samples return, the
    fade is crossfaded into them over ``recover`` samples, so neither clicks.
    ``state[0]`` counts samples since the last gap (>= recover means clean). Missing
    samples before ``quiet_end`` are concealed the same way but not counted."""
    missing = 0
    channels = out.shape[0]
    for i in range(out.shape[1]):
        p = position + i
        j = p & mask
        if stamp[j] == p:
            k = state[0]
            if cv or k >= recover:
                for c in range(channels):
                    v = ring[c, j]
                    out[c, i] = v
                    held[c] = v
            else:
                g = (k + 1) / (recover + 1.0)
                for c in range(channels):
                    held[c] *= decay
                    out[c, i] = g * ring[c, j] + (1.0 - g) * held[c]
                if k + 1 >= recover:
                    for c in range(channels):
                        held[c] = ring[c, j]
            state[0] = k + 1
        else:
            if p >= quiet_end:
                missing += 1
            state[0] = 0
            for c in range(channels):
                if not cv:
                    held[c] *= decay
                out[c, i] = held[c]
    return missing


@njit(cache=True, nogil=True)
def crossfade(ring, stamp, mask, position, out, old, fade, decay):
    """Blend the start of ``out`` (just played from ``position``) from what the playout
    point left behind into it, so that moving the point on an audio stream does not click.

    ``fade`` (int64): [jump, done, length, live]. The playout point moved by ``jump``
    samples (forwards to shrink the buffer, backwards to deepen it), so the old
    continuation of sample ``position + i`` is at ``position + i - jump``. ``done`` of
    ``length`` samples are faded so far; the gain of the new material rises linearly,
    (done + 1) / (length + 1), and the old one's falls with it (the two sum to 1).
    While ``live``, the old continuation is read from the ring; from its first missing
    sample on (or from the start, when ``live`` is 0) it is concealed as ``play``
    conceals audio, its last value (``old``, per channel) decaying by ``decay`` per
    sample, and it stays so for the rest of the fade: never switching back keeps the
    blend free of steps. Updates ``done`` and ``live``; returns the samples faded."""
    jump, done, length, live = fade[0], fade[1], fade[2], fade[3]
    n = min(out.shape[1], length - done)
    channels = out.shape[0]
    for i in range(n):
        j = 0
        if live:
            q = position + i - jump
            j = q & mask
            if stamp[j] != q:
                live = 0
        g = (done + i + 1) / (length + 1.0)
        for c in range(channels):
            if live:
                old[c] = ring[c, j]
            else:
                old[c] *= decay
            out[c, i] = g * out[c, i] + (1.0 - g) * old[c]
    fade[1] = done + n
    fade[3] = live
    return n


@njit(cache=True, nogil=True)
def forget(stamp, mask, start, end):
    """Mark positions ``start .. end`` as absent (the playout point stepped back over them)."""
    for p in range(start, end):
        j = p & mask
        if stamp[j] == p:
            stamp[j] = EMPTY


@njit(cache=True, nogil=True)
def hist_add(hist, index, decay):
    """Age every bin by ``decay`` and count one observation in bin ``index``."""
    for i in range(hist.shape[0]):
        hist[i] *= decay
    hist[index] += 1.0


@njit(cache=True, nogil=True)
def hist_shift(hist, k):
    """Move the histogram ``k`` bins down (k > 0) or up (k < 0), dropping what falls off."""
    n = hist.shape[0]
    if k > 0:
        for i in range(n):
            hist[i] = hist[i + k] if i + k < n else 0.0
    elif k < 0:
        for i in range(n - 1, -1, -1):
            hist[i] = hist[i + k] if i + k >= 0 else 0.0


@njit(cache=True, nogil=True)
def hist_quantile(hist, q):
    """The lowest bin index at which the cumulative mass reaches fraction ``q``."""
    total = 0.0
    for i in range(hist.shape[0]):
        total += hist[i]
    if total <= 0.0:
        return -1
    goal = q * total
    acc = 0.0
    for i in range(hist.shape[0]):
        acc += hist[i]
        if acc >= goal:
            return i
    return hist.shape[0] - 1


@njit(cache=True, nogil=True)
def held_run(ring_bits, stamp, mask, position, limit, held_bits):
    """How many samples from ``position`` on (at most ``limit``) are present and equal,
    bit for bit in every channel, to ``held`` (the last values played): a CV buffer can
    skip those without changing what is heard, only shortening a held value."""
    channels = ring_bits.shape[0]
    for i in range(limit):
        p = position + i
        j = p & mask
        if stamp[j] != p:
            return i
        for c in range(channels):
            if ring_bits[c, j] != held_bits[c]:
                return i
    return limit


@njit(cache=True, nogil=True)
def trend_fit(clocks, values, start, n):
    """Least-squares line through ``n`` points of two circular arrays, from index
    ``start`` on: (slope, the slope's standard error, mean clock, mean value)."""
    cap = clocks.shape[0]
    if n < 3:
        return 0.0, np.inf, 0.0, 0.0
    mc = 0.0
    mv = 0.0
    for k in range(n):
        i = (start + k) % cap
        mc += clocks[i]
        mv += values[i]
    mc /= n
    mv /= n
    sxx = 0.0
    sxy = 0.0
    for k in range(n):
        i = (start + k) % cap
        dx = clocks[i] - mc
        sxx += dx * dx
        sxy += dx * (values[i] - mv)
    if sxx <= 0.0:
        return 0.0, np.inf, mc, mv
    slope = sxy / sxx
    res = 0.0
    for k in range(n):
        i = (start + k) % cap
        e = values[i] - mv - slope * (clocks[i] - mc)
        res += e * e
    return slope, np.sqrt(res / (n - 2) / sxx), mc, mv
