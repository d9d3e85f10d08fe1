"""Upload safety: type by content, size and pixel limits, clean re-encoding, refusals with stable codes."""

from __future__ import annotations

import io
import zipfile

import av
import numpy as np
import pytest
from PIL import Image

from ecancel.identity.uploads import MAX_IMAGE_BYTES, MAX_VIDEO_BYTES, UploadRefused, sanitize_upload
from tests.identity import makers


def _refusal(data: bytes, kind: str = "photo") -> UploadRefused:
    with pytest.raises(UploadRefused) as caught:
        sanitize_upload(data, kind=kind)  # type: ignore[arg-type]
    return caught.value


def _photo_with_gps(orientation: int = 1) -> bytes:
    """A portrait JPEG carrying EXIF: a camera model, a GPS position and an orientation tag."""
    image = Image.fromarray(makers.portrait())
    exif = Image.Exif()
    exif[0x0110] = "PhoneCam 9"  # Model
    exif[0x0112] = orientation
    exif.get_ifd(0x8825).update({1: "N", 2: (22.0, 32.0, 10.0), 3: "E", 4: (113.0, 23.0, 5.0)})
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif, comment=b"hello")
    return out.getvalue()


def test_a_photo_is_re_encoded_without_exif_or_gps_and_turned_upright() -> None:
    original = _photo_with_gps(orientation=6)  # "rotate 90° clockwise to display"
    clean = sanitize_upload(original, kind="photo")
    assert clean.media_type == "image/jpeg" and clean.extension == "jpg"
    with Image.open(io.BytesIO(clean.content)) as stored:
        assert not stored.getexif()
        assert "comment" not in stored.info
        assert stored.size == (280, 230)  # the 230×280 portrait, turned as its orientation said
    assert (clean.width, clean.height) == (280, 230)
    assert b"PhoneCam" not in clean.content
    assert len(clean.sha256) == 64


def test_a_png_signature_keeps_its_transparency_and_a_png_photo_is_flattened() -> None:
    signature = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    signature.paste((10, 10, 10, 255), (20, 50, 280, 60))
    data = makers.to_png(signature)
    assert Image.open(io.BytesIO(sanitize_upload(data, kind="signature").content)).mode == "RGBA"
    assert Image.open(io.BytesIO(sanitize_upload(data, kind="photo").content)).mode == "RGB"


def test_a_jpeg_with_a_zip_or_html_appended_is_stored_clean() -> None:
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("payload.html", "<script>alert(1)</script>")
    polyglot = makers.to_jpeg(makers.portrait()) + archive.getvalue() + b"<html><script>alert(2)</script></html>"
    clean = sanitize_upload(polyglot, kind="photo")
    assert b"PK\x03\x04" not in clean.content
    assert b"<script>" not in clean.content
    assert clean.content.endswith(b"\xff\xd9")


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body><script>alert(1)</script></body></html>",
        b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"GIF89a" + bytes(100),
        b"%PDF-1.7\n%...",
    ],
    ids=["html-renamed-jpg", "svg", "gif", "pdf"],
)
def test_anything_but_jpeg_or_png_is_refused_whatever_its_name(data: bytes) -> None:
    refusal = _refusal(data)
    assert refusal.code == "wrong_type"
    assert refusal.zh.startswith("只能上传JPEG或PNG图片")
    assert refusal.en == "Only JPEG or PNG images are accepted"
    assert refusal.fields["file"].en == refusal.en


@pytest.mark.parametrize("encode", [makers.to_jpeg, makers.to_png], ids=["jpeg", "png"])
def test_a_truncated_image_is_refused(encode: object) -> None:
    whole = encode(makers.astronaut())  # type: ignore[operator]
    assert _refusal(whole[: len(whole) // 2]).code == "truncated"


def test_a_jpeg_header_on_garbage_is_refused_as_damaged() -> None:
    assert _refusal(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4).code == "damaged"


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    bomb = makers.to_png(Image.new("1", (10_000, 10_000)))  # 100 MP in ~12 kB
    assert len(bomb) < 100_000
    assert _refusal(bomb).code == "bomb"


def test_an_image_over_forty_megapixels_is_refused() -> None:
    assert _refusal(makers.to_png(Image.new("1", (8_000, 5_001)))).code == "too_many_pixels"


def test_size_limits_and_empty_files() -> None:
    assert _refusal(b"").code == "empty"
    assert _refusal(b"\xff\xd8\xff" + bytes(MAX_IMAGE_BYTES)).code == "too_large"
    refusal = _refusal(b"\x1aE\xdf\xa3" + bytes(MAX_VIDEO_BYTES), kind="video")
    assert (refusal.code, refusal.en) == ("too_large", "The video must be at most 50 MB")


def test_videos_are_accepted_by_content_with_their_length() -> None:
    for container in ("webm", "mp4"):
        clean = sanitize_upload(makers.make_video(3, container=container, size=(160, 120)), kind="video")
        assert clean.media_type == f"video/{container}" and clean.extension == container
        assert (clean.width, clean.height) == (160, 120)
        assert clean.duration_s == pytest.approx(3, abs=0.1)


def test_a_video_with_other_codecs_or_no_picture_is_refused() -> None:
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as output:  # Opus alone: sound, no picture
        sound = output.add_stream("libopus", rate=48_000)
        sound.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 960), dtype=np.float32), format="flt", layout="mono")
        frame.sample_rate, frame.pts = 48_000, 0
        output.mux(sound.encode(frame))
        output.mux(sound.encode(None))
    assert _refusal(out.getvalue(), kind="video").code == "no_video"

    mpeg4 = io.BytesIO()
    with av.open(mpeg4, mode="w", format="mp4") as output:
        picture = output.add_stream("mpeg4", rate=10)
        picture.width, picture.height, picture.pix_fmt = 64, 48, "yuv420p"
        for index in range(5):
            still = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), dtype=np.uint8), format="rgb24")
            still.pts = index
            output.mux(picture.encode(still))
        output.mux(picture.encode(None))
    assert _refusal(mpeg4.getvalue(), kind="video").code == "wrong_codec"


def test_a_photo_is_not_a_video_and_a_video_is_not_a_photo() -> None:
    assert _refusal(makers.to_jpeg(makers.portrait()), kind="video").code == "wrong_type"
    assert _refusal(makers.make_video(3, size=(160, 120))).code == "wrong_type"
    broken = makers.make_video(3, size=(160, 120))[:200]
    assert _refusal(broken, kind="video").code in {"damaged", "wrong_codec", "no_video"}
