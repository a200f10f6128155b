"""Oscillators: a band-limited VCO (sine, triangle, saw, pulse). The LFO is in lfo.py.

VCO
---
Phase runs in float64 cycles. Discontinuities are corrected with 2-point polyBLEP (value
jumps) and polyBLAMP (slope corners), placed at their exact sub-sample time. Because a
correction also reaches the sample *before* the event, the output is one sample late:
each tick computes sample n+1 and returns sample n. Handling every event at its time is
what makes hard sync, reverse (soft) sync and through-zero FM alias-poor too.

Waveforms at phase p (cycles) in ±1 (modules scale to ±5 V): sine sin(2 pi p);
triangle aligned with the sine (0 at p = 0, +1 at 0.25, -1 at 0.75); rising saw
2p - 1; pulse +1 for p < pw else -1.

VCO state per channel, VCO_STATE_SIZE = 8 (all zeros is a valid start):
  0 phase in [0, 1)          1 reversed (0 forward, 1 after an odd number of soft syncs)
  2..5 pending sin, tri, saw, sqr (the next sample to output, corrections included)
  6 last sync input (V)      7 unused
"""

import math

from numba import njit

from modular.dsp.approx import exp2, sin2pi
from modular.dsp.block import INLINE, JIT, clamp, constant, ramp, row

C4 = 261.6256  # Hz at 0 V
MAX_STEP = 0.45  # cycles per sample: keeps every crossing unique within one sample

VCO_STATE_SIZE = 8
SYNC_OFF, SYNC_HARD, SYNC_SOFT = 0, 1, 2


@njit(**INLINE)
def tri_wave(p):
    """The triangle at phase p in ±1: 0 at p = 0, +1 at 0.25, -1 at 0.75."""
    if p < 0.25:
        return 4.0 * p
    if p < 0.75:
        return 2.0 - 4.0 * p
    return 4.0 * p - 4.0


@njit(**INLINE)
def _tri_slope(p):
    return 4.0 if (p < 0.25 or p >= 0.75) else -4.0


@njit(**INLINE)
def _cross(p, q, th):
    """Fraction in [0, 1] of the move p -> q (|q - p| < 1, p in [0, 1)) at which the
    phase crosses th (mod 1), or -1 if it does not."""
    if q > p:
        if p < th <= q:
            return (th - p) / (q - p)
        if p < th + 1.0 <= q:
            return (th + 1.0 - p) / (q - p)
    elif q < p:
        if q < th <= p:
            return (p - th) / (p - q)
        if q < th - 1.0 <= p:
            return (p - th + 1.0) / (p - q)
    return -1.0


@njit(**INLINE)
def blep_before(a):
    """polyBLEP residual, per unit jump, for the sample before a jump at time a in (0, 1]
    after it (a = 1: the jump lands on the next sample)."""
    b = 1.0 - a
    return 0.5 * b * b


@njit(**INLINE)
def blep_after(a):
    """polyBLEP residual, per unit jump, for the sample after a jump at time a."""
    return -0.5 * a * a


@njit(**INLINE)
def blamp_before(a):
    """polyBLAMP residual, per unit slope change (value per sample), sample before."""
    b = 1.0 - a
    return b * b * b / 6.0


@njit(**INLINE)
def blamp_after(a):
    """polyBLAMP residual, per unit slope change, sample after."""
    return a * a * a / 6.0


@njit(**INLINE)
def _segment(p, d, t0, tl, s, pw, st):
    """Move the phase from p by d over the part [t0, t0 + tl] of the sample interval.

    Corrections for the sample before every crossing go straight into the pending
    samples st[3..5]; those for the sample after are returned with the new (unwrapped)
    phase: (q, tri, saw, sqr)."""
    q = p + d
    ct = 0.0
    cw = 0.0
    cq = 0.0
    # Wrap: the saw falls by 2 going forward (rises going backward); the pulse the opposite.
    u = _cross(p, q, 0.0)
    if u >= 0.0:
        a = t0 + u * tl
        h = -2.0 if d > 0.0 else 2.0
        st[4] += h * blep_before(a)
        cw += h * blep_after(a)
        st[5] -= h * blep_before(a)
        cq -= h * blep_after(a)
    u = _cross(p, q, pw)
    if u >= 0.0:
        a = t0 + u * tl
        h = -2.0 if d > 0.0 else 2.0
        st[5] += h * blep_before(a)
        cq += h * blep_after(a)
    # Triangle corners: the slope (per sample) turns by -8|s| at the peak, +8|s| at the trough.
    m = 8.0 * abs(s)
    u = _cross(p, q, 0.25)
    if u >= 0.0:
        a = t0 + u * tl
        st[3] -= m * blamp_before(a)
        ct -= m * blamp_after(a)
    u = _cross(p, q, 0.75)
    if u >= 0.0:
        a = t0 + u * tl
        st[3] += m * blamp_before(a)
        ct += m * blamp_after(a)
    return q, ct, cw, cq


@njit(**INLINE)
def _wrap(q):
    if q >= 1.0:
        return q - 1.0
    if q < 0.0:
        return q + 1.0
    return q


@njit(**INLINE)
def _cos2pi(p):
    return sin2pi(p + 0.25 if p < 0.75 else p - 0.75)


@njit(**INLINE)
def vco_tick(st, step, pw, sync_at, sync_mode):
    """Advance one VCO channel by one sample; returns (sin, tri, saw, sqr) in ±1, one
    sample late (see the module docstring).

    st: the channel's state (VCO_STATE_SIZE). step: frequency / sample rate, signed
    (through-zero FM runs the phase backwards), |step| <= MAX_STEP. pw in (0, 1).
    sync_at: time in [0, 1] within this sample of a sync event (0 = the previous sample,
    1 = this one), or -1 for none. sync_mode: SYNC_OFF, SYNC_HARD or SYNC_SOFT.
    """
    s = -step if st[1] != 0.0 else step
    p = st[0]
    cs = 0.0  # corrections to the next sample (sin, tri, saw, sqr)
    ct = 0.0
    cw = 0.0
    cq = 0.0
    t0 = 0.0
    if sync_at >= 0.0 and sync_mode != SYNC_OFF:
        a = sync_at
        q, ct, cw, cq = _segment(p, a * s, 0.0, a, s, pw, st)
        p = _wrap(q)
        hb = blep_before(a)
        ha = blep_after(a)
        mb = blamp_before(a)
        ma = blamp_after(a)
        if sync_mode == SYNC_HARD:
            # Reset to phase 0: every wave jumps to its value there and takes its slope there.
            js = -sin2pi(p)
            jt = -tri_wave(p)
            jw = -1.0 - (2.0 * p - 1.0)
            jq = 1.0 - (1.0 if p < pw else -1.0)
            ds = 2.0 * math.pi * (1.0 - _cos2pi(p)) * s
            dt = (4.0 - _tri_slope(p)) * s
            st[2] += js * hb + ds * mb
            st[3] += jt * hb + dt * mb
            st[4] += jw * hb
            st[5] += jq * hb
            cs += js * ha + ds * ma
            ct += jt * ha + dt * ma
            cw += jw * ha
            cq += jq * ha
            p = 0.0
        else:
            # Reverse: nothing jumps, every slope flips sign.
            ds = -4.0 * math.pi * _cos2pi(p) * s
            dt = -2.0 * _tri_slope(p) * s
            dw = -4.0 * s
            st[2] += ds * mb
            st[3] += dt * mb
            st[4] += dw * mb
            cs += ds * ma
            ct += dt * ma
            cw += dw * ma
            s = -s
            st[1] = 1.0 - st[1]
        t0 = a
    tl = 1.0 - t0
    q, t, w, r = _segment(p, tl * s, t0, tl, s, pw, st)
    p = _wrap(q)
    st[0] = p
    out_s = st[2]
    out_t = st[3]
    out_w = st[4]
    out_q = st[5]
    st[2] = sin2pi(p) + cs
    st[3] = tri_wave(p) + ct + t
    st[4] = 2.0 * p - 1.0 + cw + w
    st[5] = (1.0 if p < pw else -1.0) + cq + r
    return out_s, out_t, out_w, out_q


@njit(**INLINE)
def sync_crossing(last, now):
    """Time in (0, 1] within this sample at which a sync input rose through 0 V
    (linear interpolation between the two samples), or -1."""
    if last <= 0.0 and now > 0.0:
        return -last / (now - last)
    return -1.0


@njit(**INLINE)
def _cross_fwd(p, q, th):
    """_cross for a forward move (q > p): the fraction of the move at the crossing, or -1."""
    if p < th <= q:
        return (th - p) / (q - p)
    if p < th + 1.0 <= q:
        return (th + 1.0 - p) / (q - p)
    return -1.0


LANES = 16  # channels the side-by-side path handles at once
# vco_block's scratch: per-sample step and pulse width, then (block, LANES) saw and pulse
VCO_WORK_ROWS = 2 + 2 * LANES


@njit(**JIT)
def _steady(pitch, pw_cv, state, nch):
    """Every channel runs forward with a pitch and pulse width that hold for the block."""
    for c in range(nch):
        if state[c, 1] != 0.0 or not constant(pitch[row(pitch, c)]) or not constant(pw_cv[row(pw_cv, c)]):
            return False
    return True


@njit(**JIT)
def _saw_pulse_lanes(pitch, pw_cv, out_saw, out_sqr, state, work, nch, c4_step, freq, pw_knob, pwm,
                     do_saw, do_sqr):
    """Saw and pulse for all channels side by side (SIMD across channels), when no
    channel syncs, reverses or glides within the block: the same arithmetic as the
    per-channel loop, so the same samples, several times faster for a wide cable.
    Branch-free inner loop; samples go to (block, channels) scratch first, so the
    stores are contiguous, then are transposed into the outputs."""
    n = out_saw.shape[1] if do_saw else out_sqr.shape[1]
    ph = work[0, 0:nch]
    st = work[0, nch:2 * nch]
    pws = work[0, 2 * nch:3 * nch]
    yw_next = work[1, 0:nch]
    yq_next = work[1, nch:2 * nch]
    saw_t = work[2:2 + LANES].reshape((n, LANES))
    sqr_t = work[2 + LANES:2 + 2 * LANES].reshape((n, LANES))
    for c in range(nch):
        ph[c] = state[c, 0]
        yw_next[c] = state[c, 4]
        yq_next[c] = state[c, 5]
        st[c] = clamp(c4_step * exp2(pitch[row(pitch, c), 0] + freq), -MAX_STEP, MAX_STEP)
        pws[c] = clamp(pw_knob + pwm * 0.1 * pw_cv[row(pw_cv, c), 0], 0.01, 0.99)
    for i in range(n):
        ts = saw_t[i]
        tq = sqr_t[i]
        for c in range(nch):
            p = ph[c]
            s = st[c]
            pw = pws[c]
            q = p + s  # unwrapped
            wrapped = q >= 1.0
            a = (1.0 - p) / s
            bb = blep_before(a) if wrapped else 0.0
            ba = blep_after(a) if wrapped else 0.0
            yw = yw_next[c] - 2.0 * bb
            cw = -2.0 * ba
            yq = yq_next[c] + 2.0 * bb
            cq = 2.0 * ba
            # The pulse's falling edge, where the phase crosses pw (or pw + 1).
            d = q - p
            u1 = (pw - p) / d
            u2 = (pw + 1.0 - p) / d
            first = p < pw and pw <= q
            second = p < pw + 1.0 and pw + 1.0 <= q
            cross = first or second
            u = u1 if first else u2
            yq -= 2.0 * blep_before(u) if cross else 0.0
            cq -= 2.0 * blep_after(u) if cross else 0.0
            p = q - 1.0 if wrapped else q
            ph[c] = p
            yw_next[c] = 2.0 * p - 1.0 + cw
            yq_next[c] = (1.0 if p < pw else -1.0) + cq
            ts[c] = 5.0 * yw
            tq[c] = 5.0 * yq
    if do_saw:
        for c in range(nch):
            for i in range(n):
                out_saw[c, i] = saw_t[i, c]
    if do_sqr:
        for c in range(nch):
            for i in range(n):
                out_sqr[c, i] = sqr_t[i, c]
    for c in range(nch):
        state[c, 0] = ph[c]
        state[c, 4] = yw_next[c]
        state[c, 5] = yq_next[c]


@njit(**JIT)
def vco_block(pitch, fm, pw_cv, sync, out_sin, out_tri, out_saw, out_sqr, state, work,
              freq_p0, freq_p1, fm_p0, fm_p1, pw_p0, pw_p1, pwm_p0, pwm_p1,
              sync_mode, sample_rate):
    """One block of a polyphonic VCO; channels = state.shape[0].

    Inputs (channels or 1, block) float32: pitch (V/oct), fm (V), pw_cv (V), sync (V).
    Outputs (channels, block) float32, ±5 V; an output of shape (0, 0) is skipped (and
    costs nothing). state: (channels, VCO_STATE_SIZE) float64. work: caller-owned
    float64 scratch of shape (VCO_WORK_ROWS, block).
    Params ramp from *_p0 to *_p1 across the block:
      freq: volts added to pitch (f = C4 * 2**(pitch + freq));
      fm: through-zero linear FM depth; f *= 1 + fm * fm_cv / 5 V, so depth 1 and a
          ±5 V modulator sweeps 0 .. 2f; beyond that the phase runs backwards;
      pw: pulse width 0..1; pwm: PW CV depth, pw += pwm * pw_cv / 10 V; clamped 0.01..0.99.
    sync_mode: SYNC_OFF, SYNC_HARD (reset on a rising zero crossing of sync) or SYNC_SOFT
    (reverse direction on it).
    """
    nch = state.shape[0]
    n = pitch.shape[1]
    c4_step = C4 / sample_rate
    do_sin = out_sin.shape[0] > 0
    do_tri = out_tri.shape[0] > 0
    do_saw = out_saw.shape[0] > 0
    do_sqr = out_sqr.shape[0] > 0
    use_fm = fm_p0 != 0.0 or fm_p1 != 0.0
    steps = work[0]
    pws = work[1]
    if (sync_mode == SYNC_OFF and not use_fm and not do_sin and not do_tri and n >= 3 * nch
            and freq_p0 == freq_p1 and pw_p0 == pw_p1 and pwm_p0 == pwm_p1
            and nch <= LANES and _steady(pitch, pw_cv, state, nch)):
        _saw_pulse_lanes(pitch, pw_cv, out_saw, out_sqr, state, work, nch, c4_step, freq_p1, pw_p1, pwm_p1,
                         do_saw, do_sqr)
        return
    for c in range(nch):
        rp = row(pitch, c)
        rf = row(fm, c)
        rw = row(pw_cv, c)
        rs = row(sync, c)
        # Pass 1, branch-free so it vectorises: step and pulse width per sample.
        for i in range(n):
            steps[i] = c4_step * exp2(pitch[rp, i] + ramp(freq_p0, freq_p1, i, n))
        if use_fm:
            for i in range(n):
                steps[i] *= 1.0 + ramp(fm_p0, fm_p1, i, n) * 0.2 * fm[rf, i]
        for i in range(n):
            steps[i] = clamp(steps[i], -MAX_STEP, MAX_STEP)
            pws[i] = clamp(ramp(pw_p0, pw_p1, i, n) + ramp(pwm_p0, pwm_p1, i, n) * 0.1 * pw_cv[rw, i],
                           0.01, 0.99)
        # Pass 2: the oscillator. The common case (running forward, no sync event) is
        # handled here with the state in registers; everything else goes to vco_tick.
        st = state[c]
        last_sync = st[6]
        p = st[0]
        ps = st[2]
        pt = st[3]
        pw_ = st[4]
        pq = st[5]
        if sync_mode == SYNC_OFF and st[1] == 0.0 and not do_sin and not do_tri and not use_fm:
            # The common case in a big patch: saw and/or pulse, running forward, no sync,
            # no FM. The same arithmetic as below, with nothing else in the loop.
            for i in range(n):
                s = steps[i]
                pw = pws[i]
                q = p + s  # unwrapped
                yw = pw_
                yq = pq
                cw = 0.0
                cq = 0.0
                if q >= 1.0:
                    a = (1.0 - p) / s
                    yw -= 2.0 * blep_before(a)
                    cw = -2.0 * blep_after(a)
                    yq += 2.0 * blep_before(a)
                    cq = 2.0 * blep_after(a)
                if do_sqr:
                    u = _cross_fwd(p, q, pw)
                    if u >= 0.0:
                        yq -= 2.0 * blep_before(u)
                        cq -= 2.0 * blep_after(u)
                p = q - 1.0 if q >= 1.0 else q
                pw_ = 2.0 * p - 1.0 + cw
                pq = (1.0 if p < pw else -1.0) + cq
                if do_saw:
                    out_saw[c, i] = 5.0 * yw
                if do_sqr:
                    out_sqr[c, i] = 5.0 * yq
            st[0] = p
            st[4] = pw_
            st[5] = pq
            continue
        for i in range(n):
            s = steps[i]
            pw = pws[i]
            at = -1.0
            if sync_mode != SYNC_OFF:
                now = sync[rs, i]
                at = sync_crossing(last_sync, now)
                last_sync = now
            if at < 0.0 and s > 0.0 and st[1] == 0.0:
                q = p + s  # unwrapped
                ys = ps
                yt = pt
                yw = pw_
                yq = pq
                cw = 0.0
                cq = 0.0
                ct = 0.0
                if q >= 1.0:
                    a = (1.0 - p) / s
                    yw -= 2.0 * blep_before(a)
                    cw = -2.0 * blep_after(a)
                    yq += 2.0 * blep_before(a)
                    cq = 2.0 * blep_after(a)
                if do_sqr:
                    u = _cross_fwd(p, q, pw)
                    if u >= 0.0:
                        yq -= 2.0 * blep_before(u)
                        cq -= 2.0 * blep_after(u)
                if do_tri:
                    m = 8.0 * s
                    u = _cross_fwd(p, q, 0.25)
                    if u >= 0.0:
                        yt -= m * blamp_before(u)
                        ct -= m * blamp_after(u)
                    u = _cross_fwd(p, q, 0.75)
                    if u >= 0.0:
                        yt += m * blamp_before(u)
                        ct += m * blamp_after(u)
                p = q - 1.0 if q >= 1.0 else q
                if do_sin:
                    ps = sin2pi(p)
                if do_tri:
                    pt = tri_wave(p) + ct
                pw_ = 2.0 * p - 1.0 + cw
                pq = (1.0 if p < pw else -1.0) + cq
            else:
                st[0] = p
                st[2] = ps
                st[3] = pt
                st[4] = pw_
                st[5] = pq
                ys, yt, yw, yq = vco_tick(st, s, pw, at, sync_mode)
                p = st[0]
                ps = st[2]
                pt = st[3]
                pw_ = st[4]
                pq = st[5]
            if do_sin:
                out_sin[c, i] = 5.0 * ys
            if do_tri:
                out_tri[c, i] = 5.0 * yt
            if do_saw:
                out_saw[c, i] = 5.0 * yw
            if do_sqr:
                out_sqr[c, i] = 5.0 * yq
        st[0] = p
        st[2] = ps
        st[3] = pt
        st[4] = pw_
        st[5] = pq
        st[6] = last_sync
