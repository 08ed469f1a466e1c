"""Command line: ``bwv-review analyse FILE [--json] [--interval S] [--thumbs DIR]``.

Reviewers and support staff run this on a clip someone says "won't play"; an unreadable file must give
one plain sentence and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys

from .errors import VideoError
from .pipeline import AnalysisResult, analyse_file

EXIT_UNREADABLE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bwv-review analyse", description="Analyse one body-worn video clip.")
    p.add_argument("file", help="video file to analyse")
    p.add_argument("--json", action="store_true", help="print the full result as JSON")
    p.add_argument("--interval", type=float, default=10.0, help="seconds between interval keyframes")
    p.add_argument("--thumbs", metavar="DIR", help="write keyframe thumbnails and a filmstrip here")
    p.add_argument("--claimed-duration", type=float, help="duration (s) stated by the upload metadata")
    return p


def _mmss(seconds: float) -> str:
    m, s = divmod(seconds, 60)
    return f"{int(m)}:{s:04.1f}"


def summary(result: AnalysisResult) -> str:
    """A short human report; the JSON form carries everything."""
    lines = [
        f"{result.container} / {result.codec}  {result.width}x{result.height}  {result.fps:.2f} fps",
        f"duration {_mmss(result.duration_s)} ({result.duration_s:.2f} s), {result.frame_count} frames",
    ]
    if result.truncated:
        lines.append(f"truncated: analysed first {result.duration_s:.1f} s")
    for f in result.findings:
        lines.append(f"finding {f['kind']}: {f['detail']}")
    for seg in result.segments:
        lines.append(f"{seg['kind']:<6} {_mmss(seg['start'])} - {_mmss(seg['end'])}")
    cuts = [k for k in result.keyframes if k["reason"] == "scene_change"]
    lines.append(f"{len(cuts)} scene changes, {len(result.keyframes)} keyframes")
    if result.filmstrip:
        lines.append(f"filmstrip: {result.filmstrip}")
    lines.extend(f"note: {n}" for n in result.notes)
    lines.append(f"analysed in {result.decode_seconds:.2f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result = analyse_file(
            args.file,
            interval_s=args.interval,
            thumbs_dir=args.thumbs,
            claimed_duration_s=args.claimed_duration,
        )
    except VideoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except OSError as exc:  # e.g. the thumbnails directory cannot be created
        print(f"error: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        print(summary(result))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
