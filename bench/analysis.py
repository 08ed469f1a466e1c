"""Speed and memory of the video pipeline, as ratios against bare decoding and PySceneDetect.

Targets: pipeline >= 0.9x the speed of ``ffmpeg -threads N -i FILE -f null -`` (N = the decoder threads
the pipeline gets, one per core); >= 1.3x faster than
PySceneDetect's content detector with default settings; peak RSS for a 60-minute clip within 10% of a
10-minute one (memory flat in clip length). Each measurement runs in a fresh subprocess so imports,
caches and peak RSS do not leak between them. Prints ratios, never asserts: the machine drifts ~15%.

    python bench/analysis.py            # 3-minute 720p25 and 1080p30 clips, 10 and 60 minute low-res
    python bench/analysis.py --quick    # seconds-long clips, 1 and 6 minute low-res: checks it works
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _child(mode: str, path: str) -> None:
    """Runs inside the measuring subprocess: one job, then a JSON line with time and peak RSS."""
    started = time.perf_counter()
    frames = 0
    if mode == "pipeline":
        from workers.video.pipeline import analyse_file

        t0 = time.perf_counter()
        result = analyse_file(path)
        work = time.perf_counter() - t0
        frames = result.frame_count
        extra = {"cuts": sum(1 for k in result.keyframes if k["reason"] == "scene_change")}
    elif mode == "scenedetect":
        from scenedetect import ContentDetector, detect, open_video

        t0 = time.perf_counter()
        scenes = detect(path, ContentDetector())
        work = time.perf_counter() - t0
        frames = open_video(path).duration.get_frames()
        extra = {"cuts": max(0, len(scenes) - 1)}
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps({"work_s": work, "wall_s": time.perf_counter() - started, "frames": frames,
                      "peak_rss_mb": _peak_rss_mb(), **extra}))  # fmt: skip


def _peak_rss_mb() -> float:
    """This process's own high-water mark.

    Not ``ru_maxrss``: Linux carries it over from the parent across fork+exec, so a child started by a
    parent that once held 400 MB of generated frames reports 400 MB. ``VmHWM`` belongs to this image only.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _run_child(mode: str, path: Path) -> dict[str, float]:
    cpu0 = _children_cpu_s()
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(path)], capture_output=True, text=True, check=True
    )
    return {**json.loads(out.stdout.strip().splitlines()[-1]), "cpu_s": _children_cpu_s() - cpu0}


def _ffmpeg(path: Path, threads: int) -> dict[str, float]:
    """Wall and CPU seconds of a bare decode with as many decoder threads as the pipeline gets."""
    t0, cpu0 = time.perf_counter(), _children_cpu_s()
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-threads", str(threads), "-i", str(path), "-f", "null", "-"],
        check=True,
    )
    return {"wall_s": time.perf_counter() - t0, "cpu_s": _children_cpu_s() - cpu0}


def _make(path: Path, seconds: float, size: tuple[int, int], fps: float) -> Path:
    from workers.video.synth import make_clip

    if path.exists():
        return path  # cached: generating is slower than analysing
    # A cut every 20 s (or 4 scenes in a short clip) and a covered-lens stretch, like a walk through a wing.
    step = min(20.0, seconds / 4)
    scenes = [step * i for i in range(1, int(seconds / step)) if step * i < seconds - 1]
    dark = [(seconds * 0.6, seconds * 0.6 + min(10.0, seconds * 0.1))]
    t0 = time.perf_counter()
    partial = path.with_suffix(".partial.mp4")  # an interrupted run must not leave a "cached" broken clip
    make_clip(partial, seconds=seconds, size=size, fps=fps, scenes=scenes, dark=dark, noise=8,
              overlay_text="BWV 0042")  # fmt: skip
    partial.rename(path)
    took = time.perf_counter() - t0
    print(f"  generated {path.name}: {seconds:.0f} s {size[0]}x{size[1]}@{fps:g} in {took:.0f} s")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    ap.add_argument("--minutes", type=float, default=3.0, help="length of the 720p/1080p clips")
    ap.add_argument("--long-minutes", type=float, nargs=2, default=(10.0, 60.0), metavar=("SHORT", "LONG"))
    ap.add_argument("--repeats", type=int, help="runs per measurement, median reported (default 2, quick 1)")
    ap.add_argument("--quick", action="store_true", help="tiny clips: check that the bench runs")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/bwv-bench"), help="clips are cached here")
    args = ap.parse_args()
    if args.child:
        _child(*args.child)
        return 0

    seconds = 20.0 if args.quick else args.minutes * 60
    long_short, long_long = (1.0, 6.0) if args.quick else args.long_minutes
    repeats = args.repeats or (1 if args.quick else 2)
    work = args.workdir / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)

    print("generating clips (cached in", work, ")")
    clips = {
        "720p25": _make(work / f"720p25_{seconds:.0f}s.mp4", seconds, (1280, 720), 25),
        "1080p30": _make(work / f"1080p30_{seconds:.0f}s.mp4", seconds, (1920, 1080), 30),
    }
    low = {f"{m:g} min": _make(work / f"low_{m:g}min.mp4", m * 60, (320, 180), 25) for m in (long_short, long_long)}

    from workers.video.pipeline import decode_threads

    threads = decode_threads()
    print(f"\nspeed (median of {repeats} runs, interleaved; ratios > 1 mean the pipeline is faster)")
    print(f"  baseline: ffmpeg -threads {threads} -i FILE -f null - ; the pipeline's decoder gets the same "
          f"{threads} frame threads (one per core); {os.getloadavg()[0]:.1f} load average at the start")  # fmt: skip
    print(f"{'clip':<9} {'ffmpeg s':>9} {'pipe s':>8} {'scdet s':>8} {'vs ffmpeg':>10} {'(no imports)':>12} "
          f"{'(cpu)':>6} {'vs scdet':>9} {'pipe fps':>9} {'x realtime':>11} {'cuts p/s':>9}")  # fmt: skip
    for name, path in clips.items():
        ff_runs, pipe_runs, sd_runs = [], [], []
        for _ in range(repeats):  # interleaved, so a drift of the shared machine hits all three alike
            ff_runs.append(_ffmpeg(path, threads))
            pipe_runs.append(_run_child("pipeline", path))
            sd_runs.append(_run_child("scenedetect", path))
        ff = statistics.median(r["wall_s"] for r in ff_runs)
        ff_cpu = statistics.median(r["cpu_s"] for r in ff_runs)
        pipe = statistics.median(r["wall_s"] for r in pipe_runs)
        pipe_work = statistics.median(r["work_s"] for r in pipe_runs)
        pipe_cpu = statistics.median(r["cpu_s"] for r in pipe_runs)
        sd = statistics.median(r["wall_s"] for r in sd_runs)
        frames = pipe_runs[0]["frames"]
        duration = seconds
        print(f"{name:<9} {ff:9.2f} {pipe:8.2f} {sd:8.2f} {ff / pipe:9.2f}x {ff / pipe_work:11.2f}x "
              f"{ff_cpu / pipe_cpu:5.2f}x {sd / pipe:8.2f}x "
              f"{frames / pipe_work:9.0f} {duration / pipe_work:10.1f}x "
              f"{pipe_runs[0]['cuts']:>4.0f}/{sd_runs[0]['cuts']:<4.0f}")  # fmt: skip
    print("  (wall time of each whole process incl. Python imports; '(no imports)' uses the analysis time only,")
    print("   as do fps and x realtime; '(cpu)': ffmpeg's CPU seconds / the pipeline's, steadier than wall")
    print("   time on a busy machine; cuts: found by pipeline / PySceneDetect)")

    print("\nmemory: peak RSS of the pipeline process")
    rss = {}
    for name, path in low.items():
        r = _run_child("pipeline", path)
        rss[name] = r["peak_rss_mb"]
        mb = r["peak_rss_mb"]
        print(f"  {name:<8} {r['frames']:>7.0f} frames  peak RSS {mb:7.1f} MB  ({r['work_s']:.1f} s)")
    a, b = rss.values()
    print(f"  long/short peak RSS ratio: {b / a:.3f} (target <= 1.10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
