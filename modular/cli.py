"""The ``modular`` command."""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import PackageNotFoundError, version

EXIT_BAD_INPUT = 2


def _version() -> str:
    try:
        return version("modular")
    except PackageNotFoundError:
        return "unknown"


def _fail(msg: str) -> int:
    print(f"modular: error: {msg}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _parse_set(values: list[str]) -> list[tuple[str, float]]:
    from .patch import PatchError

    out = []
    for item in values or []:
        target, eq, value = item.partition("=")
        if not eq or "." not in target:
            raise PatchError(f"--set {item!r}: expected MODULE.PARAM=VALUE")
        try:
            out.append((target, float(value)))
        except ValueError:
            raise PatchError(f"--set {item!r}: {value!r} is not a number") from None
    return out


def _load(args):
    """Load, override and build: every error here happens before anything runs."""
    from .engine import Engine
    from .patch import load

    p = load(args.patch)
    if args.sample_rate is not None:
        p.sample_rate = args.sample_rate
    if args.block_size is not None:
        p.block_size = args.block_size
    p.check_rates()
    for target, value in _parse_set(args.set):
        p.set_param(target, value)
    return Engine(p)


def _add_engine_args(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("patch", help="patch file (JSON)")
    sp.add_argument("--set", action="append", metavar="MODULE.PARAM=VALUE", help="override a param (repeatable)")
    sp.add_argument("--sample-rate", type=int, metavar="HZ", help="default: the patch's, else 48000")
    sp.add_argument("--block-size", type=int, metavar="N", help="default: the patch's, else 64")


def _positive(kind):
    def parse(s):
        v = kind(s)
        if v <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {s}")
        return v
    return parse


def _print_stats(engine, report=None) -> None:
    rows = engine.meter()
    if report is not None:
        print(f"backend: {report.backend}  blocks: {report.blocks}  late blocks: {report.late_blocks}  "
              f"underflows: {report.underflows}  worst block: {report.worst_block_ms:.3f} ms")
        if report.callbacks:
            print(f"card: callbacks: {report.callbacks}  starved: {report.starved}  "
                  f"card underflows: {report.card_underflows}  ahead: {report.ahead_ms:.2f} ms")
        if report.underflow_frames:
            print("underflows at frames: " + " ".join(str(f) for f in report.underflow_frames[:20]))
    block_us = engine.block / engine.sample_rate * 1e6
    print(f"{'module':<20} {'model':<20} {'ch':>3} {'us/block':>10} {'% of block':>10}")
    total = 0.0
    for r in rows:
        total += r["us_per_block"]
        print(f"{r['id']:<20} {r['model']:<20} {r['channels']:>3} {r['us_per_block']:>10.2f} {r['percent']:>10.2f}")
    print(f"{'total':<20} {'':<20} {'':>3} {total:>10.2f} {100 * total / block_us:>10.2f}")
    for mid, st in engine.status().items():
        print(f"{mid}: " + "  ".join(f"{k}={v}" for k, v in st.items()))


def cmd_render(args) -> int:
    from .io.render import render

    engine = _load(args)
    engine.metering = args.stats
    frames = render(engine, args.seconds, args.output, progress=not args.quiet)
    if not args.quiet:
        print(f"wrote {args.output}: {frames} frames at {engine.sample_rate} Hz ({frames / engine.sample_rate:.2f} s)")
    if args.stats:
        _print_stats(engine)
    return 0


def cmd_run(args) -> int:
    from .io.realtime import Runner

    engine = _load(args)
    engine.metering = args.stats
    kw = {} if args.ahead is None else {"ahead": args.ahead}
    runner = Runner(engine, use_card=not args.no_audio, record=args.record, duration=args.duration, **kw)
    report = runner.run()
    for note in report.notes:
        print(f"modular: {note}", file=sys.stderr)
    if args.stats:
        _print_stats(engine, report)
    return 0


def cmd_modules(args) -> int:
    from . import plugins

    models = plugins.models()
    if args.json:
        json.dump([models[k].describe() for k in sorted(models)], sys.stdout, indent=2)
        print()
        return 0
    for name in sorted(models):
        d = models[name].describe()
        print(f"{name} — {d['description']}")
        if d["inputs"]:
            print("  inputs:  " + ", ".join(i["name"] for i in d["inputs"]))
        if d["outputs"]:
            print("  outputs: " + ", ".join(o["name"] for o in d["outputs"]))
        for p in d["params"]:
            unit = f" {p['unit']}" if p["unit"] else ""
            print(f"  param {p['name']}: {p['min']}..{p['max']}{unit}, default {p['default']}")
        if d["data"]:
            print("  data:    " + ", ".join(d["data"]))
    return 0


def cmd_gui(args) -> int:
    if args.screenshot:
        import os

        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
    from .gui.app import main as gui_main

    return gui_main(args.patch, args.screenshot, use_card=not args.no_audio, size=tuple(args.size))


def cmd_impair(args) -> int:
    from .net.impair import main as impair_main

    return impair_main(args.impair_args)


def cmd_server(args) -> int:
    from .server.app import run

    return run(args)


def cmd_streams(args) -> int:
    from .server.client import list_streams

    try:
        entries = list_streams(args.server, args.tag, timeout=args.timeout)
    except ValueError as exc:
        return _fail(str(exc))
    except (TimeoutError, OSError) as exc:
        print(f"modular streams: no answer from {args.server}: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps([{"handle": e.handle, "tags": list(e.tags), "listeners": e.listeners} for e in entries]))
    elif not entries:
        print(f"no live handles on {args.server}")
    else:
        width = max(len(e.handle) for e in entries)
        for e in entries:
            print(f"{e.handle:<{width}}  {e.listeners:>4} listening  {' '.join(e.tags)}")
    return 0


def cmd_demo(args) -> int:
    from .demo import run

    return run(args)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="modular", description="A modular patch engine in the style of VCV Rack.")
    ap.add_argument("--version", action="version", version=f"modular {_version()}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    sp = sub.add_parser("render", help="render a patch offline to a WAV file, as fast as possible")
    _add_engine_args(sp)
    sp.add_argument("-o", "--output", required=True, metavar="OUT.wav")
    sp.add_argument("--seconds", type=_positive(float), required=True, metavar="S")
    sp.add_argument("--stats", action="store_true", help="print the per-module CPU meter")
    sp.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    sp.set_defaults(func=cmd_render)

    sp = sub.add_parser("run", help="run a patch in real time (sound card, or software clock)")
    _add_engine_args(sp)
    sp.add_argument("--no-audio", action="store_true", help="software clock even if a sound card exists")
    sp.add_argument("--duration", type=_positive(float), metavar="S", help="stop after S seconds")
    sp.add_argument("--record", metavar="OUT.wav", help="record the AudioOut mix")
    sp.add_argument("--stats", action="store_true", help="print the per-module CPU meter and module status")
    sp.add_argument("--ahead", type=_positive(int), default=None, metavar="BLOCKS",
                    help="sound card: blocks the engine renders ahead of the card; stalls shorter than "
                         "this are not heard, and it adds as much output latency (default: 10 ms worth, 8 at 64 samples)")
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("modules", help="list installed models with their ports and params")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_modules)

    sp = sub.add_parser("gui", help="open the rack: patch, play and watch it live")
    sp.add_argument("patch", nargs="?", help="patch file to open (JSON)")
    sp.add_argument("--screenshot", metavar="OUT.png", help="draw the patch once, write a PNG and exit (headless)")
    sp.add_argument("--no-audio", action="store_true", help="software clock even if a sound card exists")
    sp.add_argument("--size", type=_positive(int), nargs=2, default=[1280, 800], metavar=("W", "H"),
                    help="window size in pixels (default 1280 800)")
    sp.set_defaults(func=cmd_gui)

    from .server.app import add_arguments as _server_arguments

    sp = sub.add_parser("server", help="the radio server: handles, listeners, relay (GET /api/streams)")
    _server_arguments(sp)
    sp.set_defaults(func=cmd_server)

    sp = sub.add_parser("streams", help="live handles on a radio server (over the protocol)")
    sp.add_argument("--server", required=True, metavar="HOST:PORT")
    sp.add_argument("--tag", default="", help="only handles with this tag")
    sp.add_argument("--timeout", type=_positive(float), default=3.0, metavar="S")
    sp.add_argument("--json", action="store_true")
    sp.set_defaults(func=cmd_streams)

    from .demo import add_arguments as _demo_arguments

    sp = sub.add_parser("demo", help="the main job on loopback: a server, a broadcaster and two listeners, "
                        "the mix to demo.wav, a report")
    _demo_arguments(sp)
    sp.set_defaults(func=cmd_demo)

    # its arguments are modular.net.impair's own (main() hands them over untouched)
    sp = sub.add_parser("impair", add_help=False, help="UDP relay that loses, delays and reorders datagrams "
                        "(modular impair --help)")
    sp.set_defaults(func=cmd_impair, impair_args=[])
    return ap


def main(argv: list[str] | None = None) -> int:
    from .patch import PatchError

    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["impair"]:
        return cmd_impair(argparse.Namespace(impair_args=argv[1:]))
    ap = parser()
    args = ap.parse_args(argv)
    if not getattr(args, "func", None):
        ap.print_help()
        return EXIT_BAD_INPUT
    try:
        return args.func(args)
    except PatchError as e:
        return _fail(str(e))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
