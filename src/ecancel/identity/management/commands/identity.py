"""``ecancel identity compare|read|liveness|video|sanitize``: the identity engine from the command line.

Each prints one JSON object and exits 0 when the check passes, 1 when it fails and 2 when the input
cannot be used (the JSON says why). Runs the configured provider (``ECANCEL_IDENTITY_PROVIDER``),
except ``liveness``, which is the local engine's head-pose judgement.
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from ecancel.identity import faces, liveness
from ecancel.identity.messages import reason_messages
from ecancel.identity.providers import identity_provider
from ecancel.identity.providers.base import DOCUMENT_KINDS, Outcome, ProviderRefused, ProviderUnavailable
from ecancel.identity.uploads import UploadKind, UploadRefused, sanitize_upload

EXIT = {"passed": 0, "failed": 1, "unusable": 2}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


class Unusable(Exception):
    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


def _read_file(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise Unusable("file_not_found", f"{path}: no such file") from exc
    except IsADirectoryError as exc:
        raise Unusable("not_a_file", f"{path} is a folder") from exc
    except OSError as exc:
        raise Unusable("unreadable_file", str(exc)) from exc


def _outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "decision": outcome.decision,
        "reasons": list(outcome.reasons),
        "messages": reason_messages(outcome.reasons),
        "scores": outcome.scores,
        "threshold": outcome.threshold,
        "model": outcome.model,
        "model_version": outcome.model_version,
        "details": outcome.details,
    }


class Command(BaseCommand):
    help = (
        "Run one identity check on files: compare, read, liveness, video, sanitize (exit 0 pass, 1 fail, 2 unusable)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        compare = sub.add_parser("compare", help="is the one face in IMAGE_A the person in IMAGE_B?")
        compare.add_argument("image_a")
        compare.add_argument("image_b")
        read = sub.add_parser("read", help="read an identity document")
        read.add_argument("--kind", required=True, choices=DOCUMENT_KINDS)
        read.add_argument("--today", type=date.fromisoformat, help="validity is judged on this day (YYYY-MM-DD)")
        read.add_argument("--name", help="the name the document must show")
        read.add_argument("--number", help="the number the document must show")
        read.add_argument("image")
        live = sub.add_parser("liveness", help="did the head make ACTION in a video or a folder of frames?")
        live.add_argument("--action", required=True, choices=liveness.ACTIONS)
        live.add_argument("capture", help="a WebM/MP4 video, or a folder of JPEG/PNG frames in name order")
        video = sub.add_parser("video", help="check a statement video")
        video.add_argument("--text", required=True, help="the text the person was given to read")
        video.add_argument("--portrait", help="an image of the person's face to compare with")
        video.add_argument("file")
        sanitize = sub.add_parser("sanitize", help="make an upload safe: FILE in, clean OUT")
        sanitize.add_argument("--kind", choices=("photo", "signature", "video"))
        sanitize.add_argument("file")
        sanitize.add_argument("out")

    def handle(self, *args: Any, **options: Any) -> None:
        began = time.perf_counter()
        try:
            result = getattr(self, f"_{options['subcommand']}")(options)
        except Unusable as exc:
            result = {"decision": "unusable", "reasons": [exc.code], "messages": reason_messages([exc.code])}
            result["detail"] = str(exc)
        except (ProviderUnavailable, ProviderRefused) as exc:
            result = {"decision": "unusable", "reasons": [exc.code], "detail": str(exc), "retryable": exc.retryable}
        result["elapsed_ms"] = round((time.perf_counter() - began) * 1000, 1)
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2, default=str))
        code = EXIT[result["decision"]]
        if code:
            raise SystemExit(code)

    def _compare(self, options: dict[str, Any]) -> dict[str, Any]:
        image_a, image_b = _read_file(options["image_a"]), _read_file(options["image_b"])
        return _outcome_json(identity_provider().compare(image_a=image_a, image_b=image_b))

    def _read(self, options: dict[str, Any]) -> dict[str, Any]:
        image = _read_file(options["image"])
        outcome = identity_provider().read_document(
            kind=options["kind"],
            image=image,
            today=options["today"] or timezone.localdate(),
            expected_name=options["name"],
            expected_number=options["number"],
        )
        return _outcome_json(outcome)

    def _liveness(self, options: dict[str, Any]) -> dict[str, Any]:
        path = Path(options["capture"])
        try:
            if path.is_dir():
                names = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
                frames = [faces.load_image(p.read_bytes()) for p in names]
            else:
                frames = liveness.frames_from_video(_read_file(str(path)))
        except faces.ImageUnusable as exc:
            raise Unusable(exc.code, str(exc)) from exc
        except (ValueError, OSError) as exc:  # PyAV: not a video it can open
            raise Unusable("unreadable_video", str(exc)) from exc
        if not frames:
            raise Unusable("too_few_frames", "no frames found")
        result = liveness.judge_action(frames, options["action"])
        return {
            "decision": "passed" if result.passed else "failed",
            "reasons": list(result.reasons),
            "messages": reason_messages(result.reasons),
            "scores": {"yaw_change": round(result.yaw_change, 4), "pitch_swing": round(result.pitch_swing, 4)},
            "thresholds": {"turn_min_yaw": liveness.TURN_MIN_YAW, "nod_min_pitch": liveness.NOD_MIN_PITCH},
            "details": {"action": result.action, "frames": result.frames, "frames_with_face": result.frames_with_face},
        }

    def _video(self, options: dict[str, Any]) -> dict[str, Any]:
        video = _read_file(options["file"])
        portrait = _read_file(options["portrait"]) if options["portrait"] else None
        return _outcome_json(identity_provider().check_video(video=video, text=options["text"], portrait=portrait))

    def _sanitize(self, options: dict[str, Any]) -> dict[str, Any]:
        data = _read_file(options["file"])
        kind: UploadKind = options["kind"] or ("video" if liveness_video(data) else "photo")
        try:
            clean = sanitize_upload(data, kind=kind)
        except UploadRefused as exc:
            raise Unusable(exc.code, exc.en) from exc
        Path(options["out"]).write_bytes(clean.content)
        return {
            "decision": "passed",
            "reasons": [],
            "media_type": clean.media_type,
            "extension": clean.extension,
            "sha256": clean.sha256,
            "width": clean.width,
            "height": clean.height,
            "duration_s": clean.duration_s,
            "out": options["out"],
        }


def liveness_video(data: bytes) -> bool:
    """WebM (EBML magic) or MP4 (``ftyp`` box) by content."""
    return data[:4] == b"\x1a\x45\xdf\xa3" or data[4:8] == b"ftyp"
