"""Models for the GUI tests: a scope-like module with traces and a radio-like module
with a status dict and a handle (stand-ins until core.Scope and radio.* exist)."""

import numpy as np

from modular.module import Input, Module, Output, Param, Plugin, kernel


@kernel
def probe_kernel(inp, out, p0, p1, state, mem, nch, ctx):
    n = inp.shape[1]
    for i in range(n):
        mem[i] = inp[0, i]
        out[0, i] = inp[0, i] * p1[0]


class Probe(Module):
    model = "Probe"
    title = "Probe"
    description = "Shows its input as a trace (a stand-in for core.Scope)"
    hp = 8
    params = (Param("gain", 0.0, 2.0, 1.0, label="Gain"),)
    inputs = (Input("in", "In"),)
    outputs = (Output("out", "Out"),)
    kernel = probe_kernel

    def memory_size(self, sample_rate, block):
        return block

    def scope_traces(self):
        return [self.mem]


@kernel
def link_kernel(inp, out, p0, p1, state, mem, nch, ctx):
    for i in range(inp.shape[1]):
        out[0, i] = inp[0, i]


class Link(Module):
    model = "Link"
    title = "Link"
    description = "Pretends to be a network client (status and handle)"
    hp = 8
    params = (Param("depth", 0.0, 100.0, 20.0, unit="ms", label="Depth"),)
    inputs = (Input("in", "In"),)
    outputs = (Output("out", "Out"),)
    data_keys = ("handle", "server")
    kernel = link_kernel

    def status(self):
        return {"handle": self.data.get("handle", "-"), "state": "connected", "rtt_ms": 12.25}


plugin = Plugin("guitest", models=[Probe, Link])
