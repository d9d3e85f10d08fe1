"""Identity engine timings and the face-match threshold, on this machine, offline.

    uv run python benchmarks/identity.py [--runs 15] [--only compare,liveness,...]

Each measurement runs in its own fresh process (spawned), so the model load is timed cold and the
peak resident memory (``ru_maxrss``) belongs to that measurement alone. Inputs are the generated
test data of ``tests/identity/makers.py`` (the astronaut, rendered ID cards and passport pages,
PyAV-encoded videos). Targets (issue 11), on an idle 2-core machine: face compare ≤ 250 ms,
ID card ≤ 800 ms, 15-second video check ≤ 1.5 s. Prints Markdown for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import resource
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from measure import django_in_process

ROOT = Path(__file__).resolve().parents[1]
TODAY = date(2026, 12, 4)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(action: Callable[[], object], runs: int, warmup: int = 1) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per run (CPU time suffers less from other processes' load)."""
    for _ in range(warmup):
        action()
    wall, cpu = [], []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - began) * 1000)
        cpu.append((time.process_time() - began_cpu) * 1000)
    return wall, cpu


def _prepare(name: str) -> tuple[Callable[[], object], Callable[[], object]]:
    """(load the models the measurement needs, the action to time) for one measurement."""
    from tests.identity import makers

    from ecancel.identity import faces, liveness, reading, video

    if name == "compare":
        first, second = makers.same_person_pair()
        return faces.load_models, lambda: faces.compare_faces(first, second)
    if name == "liveness_3s":
        clip = makers.make_video(3, size=(640, 480))

        def judge() -> object:
            return liveness.judge_action(liveness.frames_from_video(clip), "turn_left")

        return faces.load_models, judge
    if name == "id_card":
        card = makers.phone_photo(makers.render_id_card_front())

        def read_card() -> object:
            return reading.read_document("id_card_front", card, today=TODAY)

        return reading.ocr_engine, read_card
    if name == "mrz":
        page = makers.render_passport_page()

        def read_page() -> object:
            return reading.read_document("passport", page, today=TODAY)

        return reading.ocr_engine, read_page
    if name == "video_15s":
        clip = makers.make_video(15, size=(640, 480))
        face = makers.portrait()

        def analyse() -> object:
            return video.analyse_video(clip, portrait=face)

        return faces.load_models, analyse
    raise ValueError(name)


def _measure(name: str, runs: int, queue: Any) -> None:
    django_in_process(ROOT)
    load, action = _prepare(name)
    before_load = _rss_mb()
    began = time.perf_counter()
    load()
    load_ms = (time.perf_counter() - began) * 1000
    after_load = _rss_mb()
    times, cpu = _timed(action, runs)
    queue.put(
        {
            "name": name,
            "median_ms": statistics.median(times),
            "cpu_median_ms": statistics.median(cpu),
            "min_ms": min(times),
            "max_ms": max(times),
            "runs": runs,
            "load_ms": load_ms,
            "rss_before_load_mb": before_load,
            "rss_after_load_mb": after_load,
            "peak_rss_mb": _rss_mb(),
        }
    )


def _in_fresh_process(name: str, runs: int) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_measure, args=(name, runs, queue))
    process.start()
    result: dict[str, Any] = queue.get(timeout=1800)
    process.join()
    return result


def _variants(base: Any) -> dict[str, Any]:
    """Phone-like transformations of one face: what a buyer's camera does to the same person."""
    from tests.identity import makers

    variants: dict[str, Any] = {"original": base}
    for degrees in (-10, -5, 5, 10):
        variants[f"rotated {degrees}°"] = makers.rotated(base, degrees)
    for radius in (1.0, 2.0, 3.0):
        variants[f"blur {radius}"] = makers.blurred(base, radius)
    for quality in (15, 30, 50):
        variants[f"JPEG q{quality}"] = makers.recompressed(base, quality)
    variants["glare"] = makers.with_glare(base)
    variants["phone photo (rotate+blur+glare+JPEG)"] = makers.phone_photo(base)
    return variants


def _threshold_table() -> list[str]:
    """Same-person distances over phone-like transformations of one face, and different-person distances between
    every transformation of the two real faces installed packages ship (scikit-image's astronaut, matplotlib's
    Grace Hopper)."""
    django_in_process(ROOT)
    from tests.identity import makers

    from ecancel.identity import faces, reading

    def embedding(image: Any) -> Any:
        found = faces.detect_faces(image)
        return faces.face_embedding(image, found[0]) if len(found) == 1 else None

    base = makers.portrait()
    variants = _variants(base)
    del variants["original"]
    variants["same_person_pair()"] = makers.same_person_pair()[1]
    card = makers.phone_photo(makers.render_id_card_front())
    box = reading.find_portrait(card)
    if box is not None:
        left, top, right, bottom = box
        variants["portrait cut from a phone photo of a rendered ID card"] = card[top:bottom, left:right]
    reference = embedding(base)
    distances: dict[str, float | None] = {}
    for label, image in variants.items():
        found = embedding(image)
        distances[label] = None if found is None else faces.embedding_distance(reference, found)
    rows = ["| same-person variant | L2 distance to the original |", "|---|---|"]
    rows += [f"| {label} | {'no face found' if d is None else f'{d:.3f}'} |" for label, d in distances.items()]
    same = [d for d in distances.values() if d is not None]

    first = [e for e in (embedding(image) for image in _variants(base).values()) if e is not None]
    second = [e for e in (embedding(image) for image in _variants(makers.other_person()).values()) if e is not None]
    different = [faces.embedding_distance(a, b) for a in first for b in second]
    rows.append("")
    rows.append(
        f"Different-person pairs: {len(first)} × {len(second)} = {len(different)} (astronaut × Grace Hopper, every "
        f"variant of one against every variant of the other): distance {min(different):.3f}–{max(different):.3f}, "
        f"median {statistics.median(different):.3f}."
    )
    rows.append("")
    rows.append(
        "| threshold | same-person pairs rejected (false rejects) | different-person pairs accepted (false accepts) |"
    )
    rows.append("|---|---|---|")
    for threshold in (0.4, 0.45, 0.5, 0.55, 0.6):
        rejected = sum(1 for d in same if d > threshold)
        accepted = sum(1 for d in different if d <= threshold)
        rows.append(f"| {threshold} | {rejected} of {len(same)} | {accepted} of {len(different)} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--only", default="compare,liveness_3s,id_card,mrz,video_15s,threshold")
    args = parser.parse_args()
    wanted = args.only.split(",")
    load = os.getloadavg()
    print(f"Run of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, Python {platform.python_version()}, {os.cpu_count()} cores,")
    print(f"load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) at the start\n")
    print("| measurement | median | min–max | CPU (median) | runs | model load (cold) | peak RSS | RSS after load |")
    print("|---|---|---|---|---|---|---|---|")
    for name in (n for n in wanted if n != "threshold"):
        r = _in_fresh_process(name, args.runs)
        print(
            f"| {name} | {r['median_ms']:.0f} ms | {r['min_ms']:.0f}–{r['max_ms']:.0f} ms "
            f"| {r['cpu_median_ms']:.0f} ms | {r['runs']} "
            f"| {r['load_ms']:.0f} ms | {r['peak_rss_mb']:.0f} MB | {r['rss_after_load_mb']:.0f} MB |"
        )
    load = os.getloadavg()
    print(f"\nload average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    if "threshold" in wanted:
        print("\n".join(_threshold_table()))


if __name__ == "__main__":
    main()
