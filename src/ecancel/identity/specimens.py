"""Specimen evidence made on the spot: an ID card, a passport data page, camera frames and a read-aloud video.

``ecancel selftest`` sends them through the running system as its buyers' evidence, and the tests build on
them. Nothing is downloaded: the only face is scikit-image's ``astronaut`` (public domain, NASA); card text is
drawn with Noto Sans CJK (Debian ``fonts-noto-cjk``) and MRZ lines with DejaVu Sans Mono (``fonts-dejavu-core``),
the monospace closest to OCR-B that Debian ships. Videos are encoded with PyAV: WebM (VP8 + Opus) or MP4
(H.264 + AAC).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Literal, cast

import av
import numpy as np
import skimage.data
from PIL import Image, ImageDraw, ImageFont
from skimage.transform import PiecewiseAffineTransform, warp

from ecancel.identity import faces
from ecancel.identity.id_numbers import mrz_check_digit

CJK_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
CJK_BOLD_FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"
MONO_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
CARD_SIZE = (856, 540)  # 85.6 × 54 mm at 10 px/mm
INK = (20, 20, 20)
LABEL = (40, 90, 160)


@cache
def font(path: str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(path, size)


def astronaut() -> np.ndarray:
    """The 512×512 RGB astronaut photograph."""
    return np.asarray(skimage.data.astronaut())


def portrait() -> np.ndarray:
    """Head and shoulders cut from the astronaut, upright, 230 × 280."""
    return astronaut()[20:300, 110:340].copy()


def to_jpeg(image: np.ndarray | Image.Image, quality: int = 90) -> bytes:
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    out = io.BytesIO()
    picture.convert("RGB").save(out, format="JPEG", quality=quality)
    return out.getvalue()


def card_canvas(background: tuple[int, int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    card = Image.new("RGB", CARD_SIZE, background)
    draw = ImageDraw.Draw(card)
    draw.rounded_rectangle((2, 2, CARD_SIZE[0] - 3, CARD_SIZE[1] - 3), radius=28, outline=(190, 200, 210), width=3)
    return card, draw


def paste_portrait(card: Image.Image, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    photo = Image.fromarray(portrait()).resize((right - left, bottom - top), Image.Resampling.LANCZOS)
    card.paste(photo, (left, top))


@dataclass(frozen=True)
class IdCardFront:
    name: str = "张伟"
    sex: str = "男"
    ethnicity: str = "汉"
    birth: date = date(1990, 3, 7)
    address: str = "广东省广州市天河区体育西路191号"
    number: str = "44010619900307001X"


def render_id_card_front(card_data: IdCardFront | None = None, *, with_portrait: bool = True) -> np.ndarray:
    """The front of a second-generation resident ID card (layout of GB 19027-style cards)."""
    data = card_data or IdCardFront()
    card, draw = card_canvas((236, 242, 246))
    label, text = font(CJK_FONT, 28), font(CJK_FONT, 32)
    draw.text((60, 50), "姓名", font=label, fill=LABEL)
    draw.text((160, 46), data.name, font=font(CJK_BOLD_FONT, 36), fill=INK)
    draw.text((60, 120), "性别", font=label, fill=LABEL)
    draw.text((160, 116), data.sex, font=text, fill=INK)
    draw.text((260, 120), "民族", font=label, fill=LABEL)
    draw.text((350, 116), data.ethnicity, font=text, fill=INK)
    draw.text((60, 190), "出生", font=label, fill=LABEL)
    birth = f"{data.birth.year}年{data.birth.month}月{data.birth.day}日"
    draw.text((160, 186), birth, font=text, fill=INK)
    draw.text((60, 260), "住址", font=label, fill=LABEL)
    for line_no, start in enumerate(range(0, len(data.address), 11)):
        draw.text((160, 256 + 44 * line_no), data.address[start : start + 11], font=text, fill=INK)
    draw.text((60, 440), "公民身份号码", font=label, fill=LABEL)
    draw.text((280, 434), data.number, font=font(MONO_FONT, 40), fill=INK)
    if with_portrait:
        paste_portrait(card, (560, 60, 800, 352))
    return np.asarray(card)


def render_id_card_back(
    authority: str = "广州市公安局天河分局", valid_from: date = date(2016, 5, 20), valid_to: date | None = None
) -> np.ndarray:
    """The back: the national emblem side with issuing authority and validity period (长期 when no end)."""
    card, draw = card_canvas((240, 236, 228))
    draw.ellipse((60, 40, 200, 180), outline=(200, 40, 40), width=6)
    draw.text((250, 60), "中华人民共和国", font=font(CJK_BOLD_FONT, 44), fill=INK)
    draw.text((300, 130), "居民身份证", font=font(CJK_BOLD_FONT, 52), fill=INK)
    label, text = font(CJK_FONT, 28), font(CJK_FONT, 32)
    draw.text((120, 360), "签发机关", font=label, fill=LABEL)
    draw.text((280, 356), authority, font=text, fill=INK)
    draw.text((120, 430), "有效期限", font=label, fill=LABEL)
    end = "长期" if valid_to is None else valid_to.strftime("%Y.%m.%d")
    draw.text((280, 426), f"{valid_from:%Y.%m.%d}-{end}", font=text, fill=INK)
    return np.asarray(card)


@dataclass(frozen=True)
class Passport:
    surname: str = "SMITH"
    given_names: str = "JOHN PAUL"
    number: str = "123456789"
    country: str = "GBR"
    nationality: str = "GBR"
    birth: date = date(1985, 11, 2)
    sex: str = "M"
    expiry: date = date(2031, 6, 30)


def _mrz_field(text: str, width: int) -> str:
    return text.upper().replace(" ", "<").ljust(width, "<")[:width]


def td3_lines(passport: Passport) -> tuple[str, str]:
    """The two 44-character machine-readable lines of a passport (ICAO 9303 part 4), check digits computed."""
    names = f"{passport.surname}<<{passport.given_names}"
    line1 = "P<" + _mrz_field(passport.country, 3) + _mrz_field(names, 39)
    number = _mrz_field(passport.number, 9)
    birth = f"{passport.birth:%y%m%d}"
    expiry = f"{passport.expiry:%y%m%d}"
    personal = _mrz_field("", 14)
    parts = [
        number + mrz_check_digit(number),
        _mrz_field(passport.nationality, 3),
        birth + mrz_check_digit(birth),
        passport.sex,
        expiry + mrz_check_digit(expiry),
        personal + mrz_check_digit(personal),
    ]
    composite = parts[0] + parts[2] + parts[4] + parts[5]
    line2 = "".join(parts) + mrz_check_digit(composite)
    return line1, line2


def render_passport_page(passport: Passport | None = None) -> np.ndarray:
    """A passport data page: a few printed fields, the portrait, and the MRZ at the bottom."""
    data = passport or Passport()
    page = Image.new("RGB", (1250, 880), (246, 240, 226))
    draw = ImageDraw.Draw(page)
    paste_portrait(page, (60, 150, 360, 520))
    label, text = font(CJK_FONT, 22), font(CJK_FONT, 30)
    draw.text((60, 50), "PASSPORT", font=font(CJK_BOLD_FONT, 44), fill=INK)
    rows = [
        ("Surname", data.surname),
        ("Given names", data.given_names),
        ("Nationality", data.nationality),
        ("Date of birth", f"{data.birth:%d %b %Y}".upper()),
        ("Passport No.", data.number),
    ]
    for row, (caption, value) in enumerate(rows):
        draw.text((420, 150 + row * 75), caption, font=label, fill=LABEL)
        draw.text((420, 176 + row * 75), value, font=text, fill=INK)
    mrz_font = font(MONO_FONT, 42)
    for row, line in enumerate(td3_lines(data)):
        draw.text((40, 700 + row * 70), line, font=mrz_font, fill=INK)
    return np.asarray(page)


def varied(image: np.ndarray, seed: int) -> np.ndarray:
    """The picture with faint noise of its own (±2 levels): another capture of the same scene, not a replay."""
    noise = np.random.default_rng(seed).integers(-2, 3, size=image.shape, dtype=np.int16)
    return (image.astype(np.int16) + noise).clip(0, 255).astype(np.uint8)


def signature_png(*, drawn: bool = True) -> bytes:
    """A handwritten-looking signature as the signature pad exports it: dark strokes on a transparent 340 × 200."""
    image = Image.new("RGBA", (340, 200), (0, 0, 0, 0))
    if drawn:
        ImageDraw.Draw(image).line([(20, 150), (120, 40), (220, 160), (320, 60)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def rotated(image: np.ndarray, degrees: float) -> np.ndarray:
    """Turned by a few degrees as a hand-held photo is, the corners filled with a table-top grey."""
    picture = Image.fromarray(image).rotate(
        degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=(90, 90, 90)
    )
    return np.asarray(picture)


FACE_CROP = (slice(20, 276), slice(95, 351))  # 256 × 256 around the astronaut's face


@cache
def face_crop() -> np.ndarray:
    return np.ascontiguousarray(skimage.data.astronaut()[FACE_CROP])


# Head movements for the liveness check. A turn or a nod is imitated with a piecewise-affine warp that moves the
# middle of the face (nose and mouth) sideways or up and down while the face outline stays put: in 2-D landmarks
# that is what a real head turn looks like. Frames are cropped around the face so the warps stay cheap.


@cache
def posed(dx: float, dy: float) -> np.ndarray:
    """The face with its centre moved by (dx, dy) face widths."""
    image = face_crop()
    box = faces.detect_faces(image)[0]
    cx, cy, width = (box.left + box.right) / 2, (box.top + box.bottom) / 2, box.width
    height, side = image.shape[:2]
    src: list[tuple[float, float]] = []
    dst: list[tuple[float, float]] = []
    for x in np.linspace(0, side - 1, 4):
        for y in np.linspace(0, height - 1, 4):
            src.append((x, y))
            dst.append((x, y))
    for angle in np.linspace(0, 2 * np.pi, 12, endpoint=False):
        point = (cx + 0.75 * width * np.cos(angle), cy + 0.8 * width * np.sin(angle))
        src.append(point)
        dst.append(point)
    for ox, oy, weight in ((0, 0.1, 1.0), (-0.2, -0.1, 0.6), (0.2, -0.1, 0.6), (0, 0.3, 0.8)):
        point = (cx + ox * width, cy + oy * width)
        src.append(point)
        dst.append((point[0] + weight * dx * width, point[1] + weight * dy * width))
    transform = PiecewiseAffineTransform.from_estimate(np.array(dst), np.array(src))
    if not transform:
        raise RuntimeError("the head-movement warp could not be estimated")
    return np.ascontiguousarray(warp(image, transform, preserve_range=True).astype(np.uint8))


def head_frames(action: str) -> list[np.ndarray]:
    """Eight frames of the head making ``action`` ("turn_left", "turn_right", "nod") or holding "still"."""
    steps = (0.0, 0.0, 0.07, 0.14, 0.2, 0.2, 0.1, 0.0)
    if action == "still":
        return [face_crop()] * len(steps)
    if action == "nod":
        return [posed(0.0, step * 0.75) for step in steps]
    sign = 1.0 if action == "turn_left" else -1.0
    return [posed(sign * step, 0.0) for step in steps]


# Videos.

VideoFace = Literal["moving", "still", "pair", "none"]
Container = Literal["webm", "mp4"]
CODECS = {"webm": ("libvpx", "libopus"), "mp4": ("libx264", "aac")}
AUDIO_RATE = 48_000


POSES = 12  # head turns precomputed once; frames cycle through them


def _frame_maker(face: VideoFace, size: tuple[int, int], variant: int = 0) -> Callable[[int, int], np.ndarray]:
    """Frame ``index`` at ``fps``: the astronaut's head swaying and turning, held still, twice, or no face."""
    width, height = size
    background = np.zeros((height, width, 3), dtype=np.uint8)
    background[:] = np.linspace(60 + variant % 40, 140 + variant % 40, width, dtype=np.uint8)[None, :, None]
    head = Image.fromarray(astronaut()[40:250, 130:320])
    scale = min(0.92 * height / head.height, 0.48 * width / head.width if face == "pair" else 10.0)
    head = head.resize((round(head.width * scale), round(head.height * scale)), Image.Resampling.BILINEAR)
    turns = [4.0 * math.sin(2 * math.pi * k / POSES) for k in range(POSES)]
    poses = [
        np.asarray(head.rotate(turn, resample=Image.Resampling.BILINEAR, fillcolor=(100, 100, 100))) for turn in turns
    ]
    side = height // 4
    ball = np.full((side, side, 3), (200, 170, 60), dtype=np.uint8)

    def frame(index: int, fps: int) -> np.ndarray:
        canvas = background.copy()
        t = index / fps
        if face == "none":
            x = int((width - side) * (0.5 + 0.4 * math.sin(t)))
            canvas[height // 3 : height // 3 + side, x : x + side] = ball
            return canvas
        if face == "pair":
            pose = poses[0]
            top = (height - pose.shape[0]) // 2
            canvas[top : top + pose.shape[0], 8 : 8 + pose.shape[1]] = pose
            canvas[top : top + pose.shape[0], width - 8 - pose.shape[1] : width - 8] = pose
            return canvas
        moving = face == "moving"
        pose = poses[int(t * 4) % POSES] if moving else poses[0]
        dx, dy = (round(12 * math.sin(0.9 * t)), round(6 * math.cos(1.1 * t))) if moving else (0, 0)
        top = max(0, (height - pose.shape[0]) // 2 + dy)
        left = max(0, (width - pose.shape[1]) // 2 + dx)
        part = pose[: height - top, : width - left]
        canvas[top : top + part.shape[0], left : left + part.shape[1]] = part
        return canvas

    return frame


def _tone(samples: int, start: int, loud: bool) -> np.ndarray:
    """A 440 Hz tone at about -20 dBFS with a little noise, or a near-silent hiss at about -80 dBFS."""
    t = (np.arange(samples) + start) / AUDIO_RATE
    rng = np.random.default_rng(start)
    if loud:
        wave = 0.14 * np.sin(2 * np.pi * 440 * t) + 0.01 * rng.standard_normal(samples)
    else:
        wave = 0.0001 * rng.standard_normal(samples)
    return wave.astype(np.float32)


@cache
def make_video(
    seconds: float,
    *,
    audio: bool = True,
    silent: bool = False,
    face: VideoFace = "moving",
    variant: int = 0,
    size: tuple[int, int] = (640, 480),
    container: Container = "webm",
    fps: int = 10,
) -> bytes:
    """An encoded video (kept per arguments for the process: encoding is the slow part); another ``variant``
    shades the background differently, so its bytes and frames are not a replay of another variant's."""
    video_codec, audio_codec = CODECS[container]
    out = io.BytesIO()
    with av.open(out, mode="w", format=container) as output:
        video = cast(av.VideoStream, output.add_stream(video_codec, rate=fps))
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        # One thread: libvpx's worker threads spin badly on a busy two-core machine.
        fast = {"deadline": "realtime", "cpu-used": "8"} if container == "webm" else {"preset": "ultrafast"}
        video.options = {**fast, "threads": "1"}
        sound = cast(av.AudioStream, output.add_stream(audio_codec, rate=AUDIO_RATE)) if audio else None
        if sound is not None:
            sound.layout = "mono"
        draw = _frame_maker(face, size, variant)
        frame_count = round(seconds * fps)
        for index in range(frame_count):
            picture = av.VideoFrame.from_ndarray(draw(index, fps), format="rgb24")
            picture.pts = index
            output.mux(video.encode(picture))
        output.mux(video.encode(None))
        if sound is not None:
            chunk = 960 if container == "webm" else 1024
            total = round(seconds * AUDIO_RATE)
            for start in range(0, total, chunk):
                pcm = _tone(chunk, start, loud=not silent)
                samples = av.AudioFrame.from_ndarray(
                    pcm[None, :], format="fltp" if container == "mp4" else "flt", layout="mono"
                )
                samples.sample_rate = AUDIO_RATE
                samples.pts = start
                output.mux(sound.encode(samples))
            output.mux(sound.encode(None))
    return out.getvalue()
