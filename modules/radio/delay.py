"""radio.RadioDelay: delays local signals by a radio link's latency, so they line up.

On a broadcaster, patch RadioReturn's ``latency`` output into ``latency``: the
broadcaster's own drums then play at t + L, in step with the listeners' returns. On a
listener, patch RadioClient's ``latency``: local parts line up with the broadcast.
``latency`` and the ``delay`` output use the radio modules' scale, 1 V per 10 ms.

Modes:
- follow: the delay is the latency, plus ``offset``;
- beats / bars: the latency rounded up to whole beats or bars at ``bpm`` (interval
  sync, as NINJAM does: the returns arrive a whole number of beats late, in time);
- manual: ``time`` (seconds) plus the ``time`` input (1 V per 10 ms), plus ``offset``.

A change of delay never clicks: the output cross-fades from the old delay to the new
one over ``xfade`` milliseconds, both read from the same delay line. Delays are whole
samples, so a signal delayed here lines up sample for sample.
"""

import math

from modular.module import MAX_CHANNELS, Input, Module, Output, Param, kernel, row

MAX_SECONDS = 10.0
VOLT_SECONDS = 0.01  # 1 V per 10 ms, as the radio modules' latency outputs
MODE_FOLLOW, MODE_BEATS, MODE_BARS, MODE_MANUAL = 0, 1, 2, 3
# State: write position, current delay, delay being faded out, fade progress 0..1,
# and whether a delay was set yet (the first one applies at once, with no fade).
S_WRITE, S_DELAY, S_OLD, S_FADE, S_SET = range(5)


@kernel
def radio_delay_kernel(inp, latency, time_cv, out, delay_out, p0, p1, state, mem, nch, ctx):
    n = inp.shape[1]
    sr = ctx[0]
    length = mem.shape[0] // MAX_CHANNELS
    mode = int(p1[0])
    if mode == MODE_MANUAL:
        seconds = p1[2] + time_cv[0, 0] * VOLT_SECONDS
    else:
        seconds = latency[0, 0] * VOLT_SECONDS
        if mode == MODE_BEATS or mode == MODE_BARS:
            unit = 60.0 / p1[1] * (4.0 if mode == MODE_BARS else 1.0)
            seconds = math.ceil(seconds / unit - 1e-9) * unit
    seconds += p1[3] * 0.001
    target = float(round(min(max(seconds, 0.0), MAX_SECONDS) * sr))
    fade_step = 1.0 / max(1.0, p1[4] * 0.001 * sr)
    w = int(state[S_WRITE])
    d_new = state[S_DELAY]
    d_old = state[S_OLD]
    fade = state[S_FADE]
    if state[S_SET] == 0.0:
        d_new = d_old = target
        state[S_SET] = 1.0
    elif fade >= 1.0 and target != d_new:
        d_old = d_new  # start a new fade; one already running finishes first
        d_new = target
        fade = 0.0
    for i in range(n):
        pos = w + i
        if pos >= length:
            pos -= length
        r_new = pos - int(d_new)
        if r_new < 0:
            r_new += length
        r_old = pos - int(d_old)
        if r_old < 0:
            r_old += length
        g = min(fade, 1.0)
        for c in range(nch):
            base = c * length
            mem[base + pos] = inp[row(inp, c), i]
            if out.shape[0] > 0:
                a = mem[base + r_new]
                if g < 1.0:
                    a = g * a + (1.0 - g) * mem[base + r_old]
                out[c, i] = a
        if delay_out.shape[0] > 0:
            delay_out[0, i] = (g * d_new + (1.0 - g) * d_old) / sr / VOLT_SECONDS
        if fade < 1.0:
            fade += fade_step
    w += n
    if w >= length:
        w -= length
    state[S_WRITE] = w
    state[S_DELAY] = d_new
    state[S_OLD] = d_old
    state[S_FADE] = min(fade, 1.0)


class RadioDelay(Module):
    model = "RadioDelay"
    title = "Radio Delay"
    description = "Delays local signals by a radio link's latency (or whole beats of it); click-free changes"
    hp = 6
    params = (
        Param("mode", 0, 3, 0, label="Mode", options=("follow", "beats", "bars", "manual")),
        Param("bpm", 20.0, 300.0, 120.0, unit="BPM", label="Tempo"),
        Param("time", 0.0, MAX_SECONDS, 0.0, unit="s", label="Manual time"),
        Param("offset", -1000.0, 1000.0, 0.0, unit="ms", label="Offset"),
        Param("xfade", 1.0, 1000.0, 50.0, unit="ms", label="Cross-fade"),
    )
    inputs = (Input("in", "In"), Input("latency", "Latency (1 V/10 ms)"), Input("time", "Time CV"))
    outputs = (Output("out", "Out"), Output("delay", "Delay (1 V/10 ms)"))
    kernel = radio_delay_kernel
    state_fixed = 5
    finite_outputs = True  # a mix of stored finite input samples
    skips_unconnected = True

    def memory_size(self, sample_rate, block):
        # Whole seconds plus a block, so the longest delay never reads what this block wrote.
        return MAX_CHANNELS * (int(MAX_SECONDS * sample_rate) + 2 * block)

    def init(self, sample_rate, block):
        self.state[S_FADE] = 1.0
