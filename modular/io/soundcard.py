"""Is there a sound card? PortAudio through sounddevice, imported only when asked."""

from __future__ import annotations


def unavailable_reason() -> str | None:
    """None when an output device exists, else a short reason."""
    try:
        import sounddevice as sd
    except OSError as e:  # PortAudio itself is missing
        return f"PortAudio not found: {e}"
    try:
        sd.query_devices(kind="output")
    except Exception as e:  # no devices, or no default output
        return str(e) or "no output device"
    return None


def play(path: str) -> str:
    """Play a WAV file to the end if a card exists; returns what happened, for printing."""
    reason = unavailable_reason()
    if reason is not None:
        return f"not playing {path}: no sound card ({reason})"
    import sounddevice as sd
    import soundfile as sf

    data, sr = sf.read(path, dtype="float32")
    sd.play(data, sr)
    sd.wait()
    return f"played {path}"


if __name__ == "__main__":
    import sys

    for p in sys.argv[1:]:
        print(play(p))
