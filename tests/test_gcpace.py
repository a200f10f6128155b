"""GcPacer: long-lived objects leave the collector's way, so an automatic collection
walks only the young; garbage in cycles among them is reclaimed when nobody is served,
or at the latest every reclaim_every seconds."""

import gc
import weakref

from modular.gcpace import GcPacer


class Node:
    pass


def _cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a


def test_survivors_are_frozen_and_cycles_wait_for_a_reclaim():
    now = [0.0]
    pacer = GcPacer(freeze_every=1.0, reclaim_every=600.0, clock=lambda: now[0])
    try:
        a = _cycle()
        gone = weakref.ref(a)
        now[0] = 1.5
        pacer.tick(idle=False)
        assert pacer.freezes == 1 and gc.get_freeze_count() > 0
        del a  # garbage now, but in a cycle and frozen: the collector does not walk it
        gc.collect()
        assert gone() is not None, "a frozen cycle is left alone (that is what keeps collections short)"
        now[0] = 2.0
        pacer.tick(idle=True)  # nobody served: the full collection costs nothing
        assert pacer.reclaims == 1 and gone() is None
        pacer.tick(idle=True)
        assert pacer.reclaims == 1, "once for each spell of idleness"
        b = _cycle()
        gone = weakref.ref(b)
        now[0] = 3.5
        pacer.tick(idle=False)
        del b
        now[0] = 500.0
        pacer.tick(idle=False)
        gc.collect()
        assert gone() is not None
        now[0] = 602.5
        pacer.tick(idle=False)  # busy all along: reclaimed at the latest after reclaim_every
        assert pacer.reclaims == 2 and gone() is None
    finally:
        pacer.close()
    assert gc.get_freeze_count() == 0


def test_the_young_are_collected_as_usual():
    pacer = GcPacer(freeze_every=1.0, clock=lambda: 0.0)
    try:
        a = _cycle()
        gone = weakref.ref(a)
        del a
        gc.collect()
        assert gone() is None, "a cycle made after the last freeze is ordinary garbage"
    finally:
        pacer.close()
