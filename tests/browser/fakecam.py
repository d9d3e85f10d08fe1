"""Fake camera files: Chromium plays a .y4m file as the camera (--use-file-for-fake-video-capture) and loops it."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import segno
from PIL import Image

WIDTH, HEIGHT, FPS = 640, 480, 15


def _yuv420(rgb: np.ndarray) -> bytes:
    """Planar Y, U, V (BT.601 full range, the chroma halved both ways) of an RGB picture."""
    r, g, b = (rgb[..., channel].astype(np.float32) for channel in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    u = (b - y) * 0.564 + 128
    v = (r - y) * 0.713 + 128
    planes = [
        y,
        u.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3)),
        v.reshape(HEIGHT // 2, 2, WIDTH // 2, 2).mean(axis=(1, 3)),
    ]
    return b"".join(np.clip(plane, 0, 255).astype(np.uint8).tobytes() for plane in planes)


def _fit(picture: Image.Image) -> np.ndarray:
    """The picture scaled into the camera frame on a white ground, centred."""
    canvas = Image.new("RGB", (WIDTH, HEIGHT), "white")
    picture = picture.convert("RGB")
    picture.thumbnail((WIDTH, HEIGHT))
    canvas.paste(picture, ((WIDTH - picture.width) // 2, (HEIGHT - picture.height) // 2))
    return np.asarray(canvas)


def write_y4m(path: Path, picture: Image.Image, *, seconds: float = 2.0) -> Path:
    """A y4m clip of the picture with a bar that moves, so that every frame differs a little as a real camera's."""
    still = _fit(picture)
    frames = int(seconds * FPS)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for index in range(frames):
            frame = still.copy()
            left = index * (WIDTH - 16) // max(frames - 1, 1)
            frame[HEIGHT - 8 :, left : left + 16] = (40, 40, 40)
            out.write(b"FRAME\n" + _yuv420(frame))
    return path


def face_camera(path: Path, *, turned: float = 0) -> Path:
    """A camera showing a face (the portrait the identity tests use), the head turned by some degrees: another
    take of the same person gives other frames, as the replay check of the face step expects."""
    from tests.identity.makers import portrait, rotated

    return write_y4m(path, Image.fromarray(rotated(portrait(), turned)))


def qr_camera(path: Path, text: str) -> Path:
    """A camera showing a QR code of the text, as a seller's screen held up to the phone."""
    qr = segno.make(text, error="m")
    size = 360 // (qr.symbol_size(border=4)[0]) or 1
    png = io.BytesIO()
    qr.save(png, kind="png", scale=size, border=4)
    png.seek(0)
    return write_y4m(path, Image.open(png))
