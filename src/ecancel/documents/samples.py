"""演示 (demo) data for every document template: one contract, its seller, two buyers, a notary office.

Used by ``ecancel render_samples`` when no seeded demo contract is in the database, by the benchmark
and by the tests. Every name, number and picture here is invented and marked 演示; the pictures
(business licence, ID cards, handwritten signatures) are drawn on the fly.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from PIL import Image, ImageDraw, ImageFont

from ecancel.documents import fonts
from ecancel.documents.seal import cjk_face
from ecancel.documents.services import verification_url

DEMO_MARK = "演示"

SELLER: dict[str, Any] = {
    "name": "中山市翠亨湾置业有限公司（演示）",
    "credit_code": "91442000MA4UCH8Q6R",
    "legal_representative": "张建国",
    "address": "广东省中山市东区博爱七路88号",
    "phone": "0760-88886666",
}
LEGAL_REP_ID = {"id_type": "mainland_id", "id_number": "442000197005010511"}
OFFICE: dict[str, Any] = {
    "name": "广东省中山市中山公证处（演示）",
    "address": "广东省中山市东区中山四路1号",
    "phone": "0760-88123456",
}
NOTARY_NAME = "陈喆"
CERTIFICATE_NO = "(2026)粤中中证字第00012号"
CASE_NO = "(2026)中证受字第00345号"
APPLICATION_NO = "ZX20260408001"
AGREEMENT_NO = "ZZXY-ZS2026000123"

CONTRACT: dict[str, Any] = {
    "contract_no": "ZS2026000123",
    "filing_no": "BA2026000456",
    "signed_on": "2026-03-02",
    "filed_on": "2026-03-05",
    "total_price": "1580000.00",
}
UNIT: dict[str, Any] = {
    "project_name": "翠亨湾花园（演示）",
    "district": "东区",
    "address": "广东省中山市东区翠亨湾路18号",
    "building": "3幢",
    "room_no": "1602",
    "floor": 16,
    "floor_area": "98.36",
    "usage": "住宅",
    "presale_permit_no": "中山预许字(2025)第0088号",
}
BUYERS: list[dict[str, Any]] = [
    {
        "name": "李玥",
        "id_type": "mainland_id",
        "id_number": "442000198803140016",
        "phone": "13900000001",
        "address": "广东省中山市石岐区民族路12号",
        "region": "中国",
        "share": "50%",
    },
    {
        "name": "王堃",
        "id_type": "mainland_id",
        "id_number": "44200019900615003X",
        "phone": "13900000002",
        "address": "广东省中山市石岐区民族路12号",
        "region": "中国",
        "share": "50%",
    },
]
REASON = "买受人因家庭经济状况变化无法继续履行付款义务，经双方协商一致退房"
RELEASE_TERMS = [
    "出卖人按本协议退还款项后，双方就原合同不再互负任何权利义务，互不追究违约责任。",
    "买受人确认该商品房尚未交付，买受人未占有、使用该商品房，亦未就该商品房设立任何抵押或其他权利负担。",
    "原合同网签备案注销后，出卖人有权将该商品房另行销售，买受人的购房资格按规定恢复。",
]


@dataclass(frozen=True)
class SampleDocument:
    template: str
    data: dict[str, Any]
    images: dict[str, bytes] = field(default_factory=dict)
    issuer: str = "seller"
    reference_no: str = ""


def _font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    path, index = cjk_face("NotoSansCJK-Bold.ttc" if bold else "NotoSansCJK-Regular.ttc", fonts.SANS)
    return ImageFont.truetype(str(path), size=size, index=index)


def _jpeg(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=82, optimize=True)
    return out.getvalue()


def _png(picture: Image.Image) -> bytes:
    out = io.BytesIO()
    picture.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _watermark(picture: Image.Image, text: str = "演示样本 仅供测试") -> None:
    layer = Image.new("RGBA", picture.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    face = _font(max(24, picture.width // 16), bold=True)
    step = picture.width // 2
    for y in range(0, picture.height, picture.height // 3):
        for x in range(-step, picture.width, step):
            draw.text((x + (y // 3) % step, y), text, font=face, fill=(200, 40, 40, 70))
    picture.paste(Image.alpha_composite(picture.convert("RGBA"), layer).convert("RGB"))


def business_licence(seller: dict[str, Any]) -> bytes:
    picture = Image.new("RGB", (1240, 880), (253, 250, 240))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((18, 18, 1222, 862), outline=(176, 32, 32), width=10)
    draw.rectangle((36, 36, 1204, 844), outline=(176, 32, 32), width=2)
    draw.text((620, 110), "营 业 执 照", font=_font(72, bold=True), fill=(150, 20, 20), anchor="mm")
    draw.text((620, 185), "（副  本）", font=_font(30), fill=(60, 60, 60), anchor="mm")
    rows = [
        ("统一社会信用代码", seller["credit_code"]),
        ("名　　称", seller["name"]),
        ("类　　型", "有限责任公司（自然人投资或控股）"),
        ("法定代表人", seller["legal_representative"]),
        ("注册资本", "人民币伍仟万元"),
        ("成立日期", "2015年06月18日"),
        ("住　　所", seller["address"]),
        ("经营范围", "房地产开发经营；物业管理；建筑材料销售"),
    ]
    label, value = _font(30, bold=True), _font(30)
    for index, (name, text) in enumerate(rows):
        y = 260 + index * 66
        draw.text((110, y), name, font=label, fill=(40, 40, 40))
        draw.text((420, y), text, font=value, fill=(20, 20, 20))
    draw.text((860, 800), "登记机关（演示）", font=_font(26), fill=(150, 20, 20))
    _watermark(picture)
    return _jpeg(picture)


def id_card_front(person: dict[str, Any]) -> bytes:
    picture = Image.new("RGB", (856, 540), (236, 242, 248))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((4, 4, 852, 536), radius=28, outline=(150, 170, 190), width=4)
    number = person["id_number"]
    birth = f"{number[6:10]}年{int(number[10:12])}月{int(number[12:14])}日" if len(number) == 18 else ""
    sex = ("女" if int(number[16]) % 2 == 0 else "男") if len(number) == 18 else ""
    label, value = _font(26), _font(30, bold=True)
    lines = [("姓名", person["name"]), ("性别", f"{sex}　　民族　汉"), ("出生", birth)]
    for index, (name, text) in enumerate(lines):
        draw.text((60, 60 + index * 62), name, font=label, fill=(80, 100, 130))
        draw.text((150, 56 + index * 62), text, font=value, fill=(20, 20, 20))
    draw.text((60, 250), "住址", font=label, fill=(80, 100, 130))
    draw.text((150, 246), person.get("address", "")[:13], font=_font(28), fill=(20, 20, 20))
    draw.text((150, 290), person.get("address", "")[13:26], font=_font(28), fill=(20, 20, 20))
    draw.text((60, 440), "公民身份号码", font=label, fill=(80, 100, 130))
    draw.text((260, 434), number, font=_font(36, bold=True), fill=(20, 20, 20))
    draw.rectangle((600, 70, 800, 330), fill=(205, 214, 224))
    draw.ellipse((650, 105, 750, 215), fill=(160, 172, 186))
    draw.pieslice((620, 220, 780, 400), 180, 360, fill=(160, 172, 186))
    _watermark(picture)
    return _jpeg(picture)


def id_card_back(person: dict[str, Any]) -> bytes:
    picture = Image.new("RGB", (856, 540), (240, 244, 236))
    draw = ImageDraw.Draw(picture)
    draw.rounded_rectangle((4, 4, 852, 536), radius=28, outline=(150, 170, 150), width=4)
    draw.ellipse((60, 50, 200, 190), outline=(190, 40, 40), width=8)
    draw.text((500, 110), "中华人民共和国", font=_font(48, bold=True), fill=(30, 30, 30), anchor="mm")
    draw.text((500, 200), "居 民 身 份 证", font=_font(56, bold=True), fill=(30, 30, 30), anchor="mm")
    draw.text((140, 380), "签发机关　中山市公安局（演示）", font=_font(28), fill=(30, 30, 30))
    number = person.get("id_number", "")
    issued = f"20{int(number[12:14]) % 10 + 15}.{number[10:12]}.{number[12:14]}" if len(number) == 18 else "2020.01.01"
    until = f"{int(issued[:4]) + 20}{issued[4:]}"
    draw.text((140, 440), f"有效期限　{issued}-{until}", font=_font(28), fill=(30, 30, 30))
    _watermark(picture)
    return _jpeg(picture)


def handwritten_signature(name: str) -> bytes:
    """A signature-like picture of the name: slanted, uneven strokes on a transparent ground."""
    picture = Image.new("RGBA", (640, 220), (255, 255, 255, 0))
    draw = ImageDraw.Draw(picture)
    face = _font(120, bold=True)
    x = 40
    for index, char in enumerate(name):
        glyph = Image.new("RGBA", (200, 200), (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((20, 10), char, font=face, fill=(20, 24, 60, 255))
        glyph = glyph.rotate(8 - 6 * index, resample=Image.Resampling.BICUBIC)
        picture.alpha_composite(glyph, (x, 10 + round(8 * math.sin(index))))
        x += 130
    draw.line((30, 190, x + 40, 170), fill=(20, 24, 60, 255), width=5)
    return _png(picture)


@dataclass(frozen=True)
class DemoCase:
    """Everything one set of documents is made from; the built-in case, or one read from seeded data."""

    seller: dict[str, Any]
    legal_rep_id: dict[str, Any]
    office: dict[str, Any]
    contract: dict[str, Any]
    unit: dict[str, Any]
    buyers: list[dict[str, Any]]
    notary_name: str = NOTARY_NAME
    certificate_no: str = CERTIFICATE_NO
    case_no: str = CASE_NO
    application_no: str = APPLICATION_NO
    agreement_no: str = AGREEMENT_NO
    operator: str = "黄晓珺"
    clerk: str = "周玉珺"
    reason: str = REASON
    refund_amount: str = "474000.00"
    delivery_date: str | None = "2027-06-30"
    images: dict[str, bytes] = field(default_factory=dict)


def demo_images(case: DemoCase) -> dict[str, bytes]:
    """The case's own pictures, with drawn 演示 ones for whatever it lacks."""
    drawn: dict[str, Any] = {
        "business_licence": lambda: business_licence(case.seller),
        "legal_rep_id_front": lambda: id_card_front({"name": case.seller["legal_representative"], **case.legal_rep_id}),
        "legal_rep_id_back": lambda: id_card_back(case.legal_rep_id),
    }
    for index, buyer in enumerate(case.buyers, start=1):
        drawn[f"buyer{index}_signature"] = lambda b=buyer: handwritten_signature(b["name"])
        drawn[f"buyer{index}_id_front"] = lambda b=buyer: id_card_front(b)
        drawn[f"buyer{index}_id_back"] = lambda b=buyer: id_card_back(b)
    return {key: case.images[key] if key in case.images else make() for key, make in drawn.items()}


@cache
def _builtin_images() -> dict[str, bytes]:
    return demo_images(DEMO_CASE)


def _buyers(case: DemoCase, *, signatures: bool = False, ids: bool = False) -> list[dict[str, Any]]:
    out = []
    for index, buyer in enumerate(case.buyers, start=1):
        entry = dict(buyer)
        if signatures:
            entry["signature_image"] = f"buyer{index}_signature"
        if ids:
            entry["id_front_image"] = f"buyer{index}_id_front"
            entry["id_back_image"] = f"buyer{index}_id_back" if buyer["id_type"] == "mainland_id" else None
        out.append(entry)
    return out


def _pick(images: dict[str, bytes], data: dict[str, Any]) -> dict[str, bytes]:
    """The pictures a data dict refers to (values of ``*_image`` keys at any depth)."""
    wanted: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if key.endswith("_image") and isinstance(item, str):
                    wanted.add(item)
                else:
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(data)
    return {key: images[key] for key in sorted(wanted)}


def contract_data(case: DemoCase) -> dict[str, Any]:
    return {
        "contract": case.contract,
        "unit": case.unit,
        "seller": case.seller,
        "buyers": _buyers(case),
        "payment_method": "一次性付款",
        "delivery_date": case.delivery_date,
    }


def material(name: str, filename: str, pdf: bytes, pages: int | None = None) -> dict[str, Any]:
    """A 收案记录 entry for a file actually received."""
    return {
        "name": name,
        "filename": filename,
        "size": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "pages": pages,
    }


def sample_documents(
    case: DemoCase | None = None,
    *,
    materials: list[dict[str, Any]] | None = None,
    verification_code: str = "DEMOCODE2345",
) -> list[SampleDocument]:
    """Every document of one case, in the order the flow produces them."""
    case = case or DEMO_CASE
    images = _builtin_images() if case is DEMO_CASE else demo_images(case)
    received_at = dt.datetime(2026, 4, 8, 2, 31, 7, tzinfo=dt.UTC)
    form = {
        "application_no": case.application_no,
        "contract": case.contract,
        "unit": case.unit,
        "seller": case.seller,
        "buyers": _buyers(case),
        "agent": None,
        "reason": case.reason,
        "notary_office": case.office["name"],
        "operator": case.operator,
        "applied_on": "2026-04-08",
    }
    agreement = {
        "agreement_no": case.agreement_no,
        "contract": case.contract,
        "unit": case.unit,
        "seller": case.seller,
        "buyers": _buyers(case, signatures=True),
        "reason": case.reason,
        "refund_amount": case.refund_amount,
        "refund_method": f"银行转账至买受人{case.buyers[0]['name']}名下账户",
        "refund_deadline": "2026-05-08",
        "release_terms": RELEASE_TERMS,
        "agreed_on": "2026-04-08",
    }
    parties = {"seller": case.seller, "buyers": _buyers(case)}
    application = {
        "case_no": case.case_no,
        "office": case.office,
        **parties,
        "contract": case.contract,
        "unit": case.unit,
        "agreement_no": case.agreement_no,
        "applied_on": "2026-04-08",
    }
    notice = {"case_no": case.case_no, "office": case.office, **parties, "notified_on": "2026-04-08"}
    intake = {
        "case_no": case.case_no,
        "office": case.office,
        "application_no": case.application_no,
        "received_at": received_at.isoformat(),
        "received_by": case.clerk,
        **parties,
        "contract": case.contract,
        "materials": materials
        or [
            material("商品房买卖合同注销备案申请表", f"{case.application_no}-申请表.pdf", b"demo application form", 2),
            material("商品房买卖合同终止协议", f"{case.agreement_no}.pdf", b"demo termination agreement", 2),
        ],
    }
    certificate = {
        "certificate_no": case.certificate_no,
        "office": case.office,
        "notary_name": case.notary_name,
        "issued_on": "2026-04-10",
        "agreement_no": case.agreement_no,
        "agreed_on": "2026-04-08",
        "buyers": _buyers(case, ids=True),
        "contract": contract_data(case),
        "verification_code": verification_code,
        "verification_url": verification_url(case.certificate_no, verification_code),
        "business_licence_image": "business_licence",
        "legal_representative_id_front_image": "legal_rep_id_front",
        "legal_representative_id_back_image": "legal_rep_id_back",
    }
    return [
        SampleDocument("contract", contract_data(case), issuer="seller"),
        SampleDocument("cancellation_form", form, issuer="seller"),
        SampleDocument("termination_agreement", agreement, _pick(images, agreement), issuer="seller"),
        SampleDocument("notarization_application", application, issuer="notary"),
        SampleDocument("notarization_notice", notice, issuer="notary"),
        SampleDocument("intake_record", intake, issuer="notary"),
        SampleDocument(
            "certificate", certificate, _pick(images, certificate), issuer="notary", reference_no=case.certificate_no
        ),
    ]


DEMO_CASE = DemoCase(
    seller=SELLER, legal_rep_id=LEGAL_REP_ID, office=OFFICE, contract=CONTRACT, unit=UNIT, buyers=BUYERS
)


def sample(template: str) -> SampleDocument:
    return next(s for s in sample_documents() if s.template == template)
