"""``ecancel identity …``: JSON out, exit 0 when the check passes, 1 when it fails, 2 when the input is unusable."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.management import call_command

from tests.identity import makers
from tests.identity.engine_support import face_crop, face_models, head_frames, jpeg

__all__ = ["face_models"]
pytestmark = pytest.mark.usefixtures("face_models")


def run(*args: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    try:
        call_command("identity", *args, stdout=out)
        code = 0
    except SystemExit as exit:
        code = int(exit.code or 0)
    return code, json.loads(out.getvalue())


@pytest.fixture
def face_file(tmp_path: Path) -> Path:
    path = tmp_path / "face.jpg"
    path.write_bytes(jpeg(face_crop()))
    return path


def write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def test_compare_same_person_passes(tmp_path: Path, face_file: Path) -> None:
    other = write(tmp_path, "other.jpg", jpeg(face_crop()[8:, 8:], quality=40))
    code, result = run("compare", str(face_file), other)
    assert code == 0
    assert result["decision"] == "passed"
    assert result["scores"]["distance"] < result["threshold"]
    assert "shape_predictor_5_face_landmarks" in result["model"]


def test_compare_without_a_face_fails(tmp_path: Path, face_file: Path) -> None:
    blank = write(tmp_path, "wall.jpg", jpeg(np.full((240, 240, 3), 170, dtype=np.uint8)))
    code, result = run("compare", str(face_file), blank)
    assert (code, result["reasons"]) == (1, ["no_face_b"])
    assert result["messages"] == ["没有找到人脸：请正对镜头，让整张脸出现在画面中"]


@pytest.mark.parametrize(("content", "reason"), [(None, "file_not_found"), (b"plain text", "unreadable_image")])
def test_compare_unusable_input(tmp_path: Path, face_file: Path, content: bytes | None, reason: str) -> None:
    other = tmp_path / "other.jpg"
    if content is not None:
        other.write_bytes(content)
    code, result = run("compare", str(face_file), str(other))
    assert (code, result["decision"], result["reasons"]) == (2, "unusable", [reason])


@pytest.mark.parametrize(("number", "code"), [("44010619900307001X", 0), ("110105194912310038", 1)])
def test_read_id_card_front(tmp_path: Path, number: str, code: int) -> None:
    card = write(tmp_path, "card.jpg", makers.to_jpeg(makers.render_id_card_front()))
    exit_code, result = run("read", "--kind", "id_card_front", "--today", "2026-12-04", "--number", number, card)
    assert exit_code == code, result
    assert result["details"]["fields"]["number"] == "44010619900307001X"
    assert result["reasons"] == ([] if code == 0 else ["number_mismatch"])


def test_read_unusable_image(tmp_path: Path) -> None:
    code, result = run("read", "--kind", "id_card_front", write(tmp_path, "card.jpg", b"\xff\xd8 broken"))
    assert (code, result["reasons"]) == (2, ["unreadable_image"])


def frames_dir(tmp_path: Path, action: str) -> str:
    folder = tmp_path / action
    folder.mkdir()
    for index, frame in enumerate(head_frames(action)):
        (folder / f"{index:03d}.jpg").write_bytes(jpeg(frame))
    return str(folder)


def test_liveness_action_done(tmp_path: Path) -> None:
    code, result = run("liveness", "--action", "turn_right", frames_dir(tmp_path, "turn_right"))
    assert (code, result["decision"]) == (0, "passed")
    assert result["scores"]["yaw_change"] >= result["thresholds"]["turn_min_yaw"]


def test_liveness_still_photo_fails(tmp_path: Path) -> None:
    code, result = run("liveness", "--action", "nod", frames_dir(tmp_path, "still"))
    assert (code, result["reasons"]) == (1, ["no_motion"])


@pytest.mark.parametrize("make", ["empty_folder", "not_a_video"])
def test_liveness_unusable_input(tmp_path: Path, make: str) -> None:
    if make == "empty_folder":
        (tmp_path / "frames").mkdir()
        target = str(tmp_path / "frames")
    else:
        target = write(tmp_path, "capture.webm", b"\x1a\x45\xdf\xa3 not really")
    code, result = run("liveness", "--action", "nod", target)
    assert code == 2
    assert result["reasons"] in (["too_few_frames"], ["unreadable_video"])


@pytest.mark.slow
def test_video_of_fifteen_seconds_with_sound_passes(tmp_path: Path, face_file: Path) -> None:
    video = write(tmp_path, "statement.webm", makers.make_video(15, size=(320, 240)))
    code, result = run("video", video, "--text", "本人自愿申请注销商品房买卖合同，核验码123456")
    assert (code, result["decision"]) == (0, "passed"), result
    assert result["details"]["text"].endswith("123456")


def test_video_too_short_fails(tmp_path: Path) -> None:
    video = write(tmp_path, "statement.webm", makers.make_video(3, size=(320, 240)))
    code, result = run("video", video, "--text", "…")
    assert code == 1
    assert "too_short" in result["reasons"]


def test_video_unusable(tmp_path: Path) -> None:
    code, result = run("video", write(tmp_path, "statement.webm", b"no video here"), "--text", "…")
    assert (code, result["decision"]) == (2, "unusable")


def test_sanitize_writes_a_clean_copy(tmp_path: Path, face_file: Path) -> None:
    out = tmp_path / "clean.jpg"
    code, result = run("sanitize", str(face_file), str(out))
    assert (code, result["media_type"]) == (0, "image/jpeg")
    assert out.read_bytes()[:3] == b"\xff\xd8\xff"


def test_sanitize_refuses(tmp_path: Path) -> None:
    out = tmp_path / "clean.jpg"
    code, result = run("sanitize", write(tmp_path, "x.jpg", b"<html>not a photo</html>"), str(out))
    assert (code, result["reasons"]) == (2, ["wrong_type"])
    assert not out.exists()


def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("check", ["compare", "read", "video"])
def test_the_engine_downloads_nothing(tmp_path: Path, face_file: Path, check: str) -> None:
    """In a fresh process with every proxy pointing at a dead port: models come from installed packages."""
    proxy = f"http://127.0.0.1:{dead_port()}"
    env = {
        **os.environ,
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "ALL_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "all_proxy": proxy,
        "NO_PROXY": "",
        "ECANCEL_DATA_DIR": str(tmp_path / "data"),
        "ECANCEL_IDENTITY_PROVIDER": "local",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    arguments = {
        "compare": [str(face_file), write(tmp_path, "other.jpg", jpeg(face_crop(), quality=50))],
        "read": [
            "--kind",
            "id_card_front",
            "--today",
            "2026-12-04",
            write(tmp_path, "card.jpg", makers.to_jpeg(makers.render_id_card_front())),
        ],
        "video": [
            write(tmp_path, "statement.webm", makers.make_video(15, size=(320, 240))),
            "--text",
            "本人自愿申请注销商品房买卖合同，核验码123456",
        ],
    }[check]
    done = subprocess.run(
        [sys.executable, "-m", "ecancel.manage", "identity", check, *arguments],
        env=env,
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode() + done.stdout.decode()
    assert json.loads(done.stdout)["decision"] == "passed"
