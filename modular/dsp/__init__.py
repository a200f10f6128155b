"""Shared DSP kernels for modules: numba functions on scalars, per-channel state slices
and (channels, block) float32 buffers.

Files: approx (fast exp2/tan/tanh/sine), block (ramp, row, clamp), osc (VCO, LFO),
filters (TPT state-variable filter, one-pole), env (ADSR), triggers (Schmitt, pulse,
clock, divider/multiplier, sample & hold, slew), noise (white, pink), delay (delay line),
quantize (scales to 1 V/oct).  Each file documents its state layouts.
"""
