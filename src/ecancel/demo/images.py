"""Sample images for demo companies: ID card sides and a business licence, each marked 演示样本.

They look like the real documents closely enough for the certificate and the review pages to be
judged, and carry a watermark no one could mistake for a genuine document. Drawing is
deterministic, so each image is drawn once per process.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from functools import cache

import segno
from PIL import Image, ImageDraw, ImageFont

from ecancel.documents.fonts import SANS
from ecancel.documents.seal import cjk_face

INK = (30, 30, 30)
LABEL = (40, 90, 150)
SEAL_RED = (200, 30, 30)
WATERMARK = (210, 20, 20, 70)
MARK_TEXT = "演示样本 · 非真实证件"


@cache
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    # The documents' own font files and face, found where the documents find them.
    path, index = cjk_face("NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc", SANS)
    return ImageFont.truetype(str(path), size, index=index)


@dataclass(frozen=True)
class IdCardHolder:
    name: str
    sex: str
    ethnicity: str
    birth: dt.date
    address: str
    id_number: str
    issuer: str
    valid_from: dt.date
    valid_to: dt.date


@dataclass(frozen=True)
class LicenceHolder:
    name: str
    credit_code: str
    company_type: str
    legal_representative: str
    registered_capital: str
    founded: dt.date
    address: str
    business_scope: str
    authority: str


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return buffer.getvalue()


def _wrap(text: str, face: ImageFont.FreeTypeFont, width: int) -> list[str]:
    """Lines no wider than ``width``; closing punctuation never starts a line."""
    lines: list[str] = []
    line = ""
    for ch in text:
        if line and face.getlength(line + ch) > width and ch not in "，。；：、）)》":
            lines.append(line)
            line = ""
        line += ch
    return [*lines, line] if line else lines


def _watermark(image: Image.Image, text: str = MARK_TEXT, size: int = 40) -> Image.Image:
    """Diagonal repeated text over the whole image, so no crop of it is free of the mark."""
    width, height = image.size
    tile = Image.new("RGBA", (width * 2, height * 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(tile)
    step_x, step_y = size * 11, size * 4
    for row, y in enumerate(range(0, height * 2, step_y)):
        for x in range(-step_x if row % 2 else 0, width * 2, step_x):
            draw.text((x, y), text, font=font(size, bold=True), fill=WATERMARK)
    tile = tile.rotate(25, resample=Image.Resampling.BICUBIC)
    left, top = width // 2, height // 2
    return Image.alpha_composite(image.convert("RGBA"), tile.crop((left, top, left + width, top + height)))


def _card_base(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    width, height = size
    card = Image.new("RGBA", size, (255, 255, 255, 0))
    gradient = Image.new("RGBA", size)
    draw = ImageDraw.Draw(gradient)
    for y in range(height):
        t = y / (height - 1)
        colour = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        draw.line([(0, y), (width, y)], fill=(*colour, 255))
    # Fine guilloche-like waves, as on real security paper.
    for k in range(0, height, 18):
        points = [(x, k + 6 * ((x // 24) % 2)) for x in range(0, width + 24, 24)]
        draw.line(points, fill=(255, 255, 255, 90), width=1)
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, width - 1, height - 1), radius=34, fill=255)
    card.paste(gradient, (0, 0), mask)
    return card


def _stamp(draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int], text: str = "演示样本") -> None:
    draw.rectangle(box, outline=SEAL_RED, width=4)
    left, top, right, bottom = box
    size = (bottom - top) * 6 // 10
    draw.text(((left + right) // 2, (top + bottom) // 2), text, font=font(size, bold=True), fill=SEAL_RED, anchor="mm")


@cache
def id_card_front(holder: IdCardHolder) -> bytes:
    """人像面: name, sex, ethnicity, birth, address, number and a placeholder portrait."""
    card = _card_base((856, 540), (236, 243, 248), (250, 246, 236))
    draw = ImageDraw.Draw(card)
    label, value = font(24), font(28)
    rows = [
        ("姓　名", holder.name, (60, 60)),
        ("性　别", holder.sex, (60, 125)),
        ("民　族", holder.ethnicity, (250, 125)),
        ("出　生", f"{holder.birth.year}年{holder.birth.month}月{holder.birth.day}日", (60, 190)),
    ]
    for caption, text, (x, y) in rows:
        draw.text((x, y + 4), caption, font=label, fill=LABEL)
        draw.text((x + 95, y), text, font=value if caption != "姓　名" else font(34, bold=True), fill=INK)
    draw.text((60, 259), "住　址", font=label, fill=LABEL)
    for i, line in enumerate(_wrap(holder.address, value, 400)[:3]):
        draw.text((155, 255 + 40 * i), line, font=value, fill=INK)
    draw.text((60, 450), "公民身份号码", font=label, fill=LABEL)
    draw.text((250, 442), holder.id_number, font=font(38), fill=INK)
    # Placeholder portrait: a neutral silhouette, never a face.
    draw.rounded_rectangle((590, 70, 800, 330), radius=8, fill=(214, 222, 230))
    draw.ellipse((650, 105, 740, 205), fill=(160, 172, 186))
    draw.pieslice((610, 205, 780, 395), 180, 360, fill=(160, 172, 186))
    draw.rectangle((590, 300, 800, 330), fill=(214, 222, 230))
    _stamp(draw, (600, 345, 790, 395))
    return _png(_watermark(card, size=34))


@cache
def id_card_back(holder: IdCardHolder) -> bytes:
    """国徽面: issuing authority and validity; the emblem is replaced by a plain demo mark."""
    card = _card_base((856, 540), (248, 244, 232), (236, 243, 248))
    draw = ImageDraw.Draw(card)
    draw.ellipse((60, 45, 200, 185), outline=SEAL_RED, width=6)
    draw.text((130, 115), "演示", font=font(40, bold=True), fill=SEAL_RED, anchor="mm")
    draw.text((250, 70), "中华人民共和国", font=font(44, bold=True), fill=INK)
    draw.text((250, 140), "居 民 身 份 证", font=font(60, bold=True), fill=INK)
    draw.text((150, 370), "签发机关", font=font(24), fill=LABEL)
    draw.text((280, 365), holder.issuer, font=font(28), fill=INK)
    draw.text((150, 430), "有效期限", font=font(24), fill=LABEL)
    draw.text((280, 425), f"{holder.valid_from:%Y.%m.%d}-{holder.valid_to:%Y.%m.%d}", font=font(28), fill=INK)
    _stamp(draw, (600, 250, 790, 300))
    return _png(_watermark(card, size=34))


def _qr(text: str, scale: int) -> Image.Image:
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=scale, border=1)
    buffer.seek(0)
    return Image.open(buffer).convert("RGBA")


@cache
def business_licence(holder: LicenceHolder) -> bytes:
    """营业执照（副本）: the layout of the 2016 national template with demo data."""
    width, height = 1400, 990
    page = Image.new("RGBA", (width, height), (252, 248, 238, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((18, 18, width - 19, height - 19), outline=(170, 60, 40), width=10)
    draw.rectangle((42, 42, width - 43, height - 43), outline=(190, 140, 60), width=3)
    for x in range(60, width - 60, 28):
        draw.line([(x, 52), (x + 14, 60), (x + 28, 52)], fill=(200, 160, 90), width=2)
        draw.line([(x, height - 52), (x + 14, height - 60), (x + 28, height - 52)], fill=(200, 160, 90), width=2)
    draw.text((width // 2, 150), "营 业 执 照", font=font(88, bold=True), fill=(40, 40, 40), anchor="mm")
    draw.text((width // 2, 225), "（副　本）", font=font(32), fill=INK, anchor="mm")
    draw.text((90, 100), "统一社会信用代码", font=font(24), fill=INK)
    draw.text((90, 135), holder.credit_code, font=font(30, bold=True), fill=INK)
    page.alpha_composite(_qr(f"演示样本，非真实营业执照：{holder.name}", 4), (width - 250, 85))
    rows = [
        ("名　　称", holder.name),
        ("类　　型", holder.company_type),
        ("法定代表人", holder.legal_representative),
        ("经营范围", holder.business_scope),
    ]
    right_rows = [
        ("注册资本", holder.registered_capital),
        ("成立日期", f"{holder.founded.year}年{holder.founded.month:02d}月{holder.founded.day:02d}日"),
        ("营业期限", f"{holder.founded.year}年{holder.founded.month:02d}月{holder.founded.day:02d}日至长期"),
        ("住　　所", holder.address),
    ]
    for column, entries in ((110, rows), (740, right_rows)):
        y = 320
        for caption, text in entries:
            draw.text((column, y), caption, font=font(26, bold=True), fill=INK)
            for line in _wrap(text, font(26), 400)[:4]:
                draw.text((column + 160, y), line, font=font(26), fill=INK)
                y += 40
            y += 28
    draw.text((700, 800), "登记机关", font=font(28, bold=True), fill=INK)
    draw.text((700, 850), holder.authority, font=font(26), fill=INK)
    draw.ellipse((1080, 740, 1280, 940), outline=SEAL_RED, width=6)
    draw.text((1180, 815), "★", font=font(44), fill=SEAL_RED, anchor="mm")
    draw.text((1180, 880), "演示样本", font=font(30, bold=True), fill=SEAL_RED, anchor="mm")
    draw.text((110, 900), "本执照为演示样本，仅用于系统演示，不具有任何法律效力。", font=font(22), fill=SEAL_RED)
    return _png(_watermark(page, size=46))


@cache
def power_of_attorney(principal: str, agent: str, agent_id_number: str, contract_no: str) -> bytes:
    """授权委托书: a signed-looking letter of authority for the demo agent, marked as a sample."""
    width, height = 1240, 1754
    page = Image.new("RGBA", (width, height), (255, 255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.text((width // 2, 180), "授 权 委 托 书", font=font(72, bold=True), fill=INK, anchor="mm")
    body = (
        f"委托人{principal}，系商品房买卖合同（合同编号 {contract_no}）的买受人，因长期居住海外，"
        f"现委托{agent}（证件号码 {agent_id_number}）为本人的代理人，代为办理该合同注销备案及相关电子公证"
        "事宜，包括签署终止协议、提交及领取相关材料。代理人在代理权限内签署的文件，本人均予以承认。"
        "委托期限自签署之日起至上述事项办结之日止。"
    )
    y = 320
    for line in _wrap(body, font(40), width - 240):
        draw.text((120, y), line, font=font(40), fill=INK)
        y += 72
    draw.text((700, y + 120), f"委托人（签名）：{principal}", font=font(40), fill=INK)
    draw.text((700, y + 200), "2026年11月1日", font=font(40), fill=INK)
    _stamp(draw, (120, height - 260, 520, height - 140))
    return _png(_watermark(page))
