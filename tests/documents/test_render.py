"""Typesetting: the text is there, fonts embedded, PDF/A-2b, reproducible, Chinese (rare characters too)."""

from __future__ import annotations

import copy
import hashlib
import io
import json
from typing import Any

import pytest
import typst
from pypdf import PdfReader
from pypdf.generic import DictionaryObject

from ecancel.core.errors import ValidationFailed
from ecancel.documents import fonts
from ecancel.documents.render import TEMPLATES, RenderedDocument, render_document
from ecancel.documents.samples import CERTIFICATE_NO, REASON, SampleDocument
from ecancel.documents.schemas import SCHEMAS
from tests.documents.conftest import FIXED_TIME, page_texts, pdf_text

A4 = (595.28, 841.89)


def test_every_document_kind_has_a_template_and_a_schema(rendered: dict[str, RenderedDocument]) -> None:
    assert set(TEMPLATES) == set(SCHEMAS) == set(rendered)
    assert len(rendered) == 7


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "cancellation_form",
            [
                "商品房买卖合同注销备案申请表",
                "ZX20260408001",
                "ZS2026000123",
                "BA2026000456",
                "李玥",
                "王堃",
                "中山市翠亨湾置业有限公司（演示）",
                "91442000MA4UCH8Q6R",
                "1,580,000.00",
                "壹佰伍拾捌万元整",
                "广东省中山市中山公证处（演示）",
                "黄晓珺",
                REASON,
                "申请人声明",
            ],
        ),
        (
            "termination_agreement",
            [
                "商品房买卖合同终止协议",
                "ZZXY-ZS2026000123",
                "ZS2026000123",
                "李玥",
                "王堃",
                "474,000.00",
                "肆拾柒万肆仟元整",
                "2026年5月8日",
                "银行转账至买受人李玥名下账户",
                REASON,
                "互不追究违约责任",
            ],
        ),
        (
            "notarization_application",
            [
                "公证申请表",
                "(2026)中证受字第00345号",
                "商品房买卖合同终止协议公证",
                "办理商品房买卖合同网签备案注销",
                "442000198803140016",
                "44200019900615003X",
                "ZZXY-ZS2026000123",
            ],
        ),
        (
            "notarization_notice",
            [
                "公证告知书",
                "公证的法律意义",
                "申请人的权利",
                "申请人的义务",
                "风险提示",
                "个人信息保护法",
                "中山市翠亨湾置业有限公司（演示）、李玥、王堃",
            ],
        ),
        (
            "intake_record",
            ["收案记录", "(2026)中证受字第00345号", "2026年4月8日10:31:07", "周玉珺", "网签备案系统电子推送"],
        ),
        (
            "contract",
            [
                "商品房买卖合同",
                "ZS2026000123",
                "BA2026000456",
                "中山预许字(2025)第0088号",
                "16,063.44",
                "第十四条",
                "2027年6月30日",
                "张建国",
            ],
        ),
        (
            "certificate",
            [
                "公证书",
                CERTIFICATE_NO,
                "陈喆",
                "二〇二六年四月十日",
                "二〇二六年四月八日",
                "ZZXY-ZS2026000123",
                "中华人民共和国民法典",
                "附件一",
                "附件二",
                "附件三",
                "DEMO-CODE-2345",
                "ZS2026000123",
            ],
        ),
    ],
)
def test_the_text_carries_names_numbers_and_reason(
    rendered: dict[str, RenderedDocument], template: str, expected: list[str]
) -> None:
    text = pdf_text(rendered[template].pdf)
    for item in expected:
        assert "".join(item.split()) in text, item


def test_intake_record_lists_each_material_hash(
    samples: dict[str, SampleDocument], rendered: dict[str, RenderedDocument]
) -> None:
    text = pdf_text(rendered["intake_record"].pdf)
    for material in samples["intake_record"].data["materials"]:
        assert material["sha256"] in text


def test_pages_are_numbered_x_of_y(rendered: dict[str, RenderedDocument]) -> None:
    for name, doc in rendered.items():
        texts = list(page_texts(doc.pdf))
        assert len(texts) == doc.page_count, name
        for number, text in enumerate(texts, start=1):
            assert f"第{number}页共{doc.page_count}页" in text, (name, number)


def test_the_two_page_form_is_two_pages(rendered: dict[str, RenderedDocument]) -> None:
    assert rendered["cancellation_form"].page_count == 2


def _fonts_of(reader: PdfReader) -> list[DictionaryObject]:
    found = []
    for page in reader.pages:
        resources = page.get("/Resources")
        if resources is None:
            continue
        for font in resources.get_object().get("/Font", DictionaryObject()).values():
            found.append(font.get_object())
    return found


def test_all_fonts_are_embedded_subset_noto_cjk(rendered: dict[str, RenderedDocument]) -> None:
    for name, doc in rendered.items():
        reader = PdfReader(io.BytesIO(doc.pdf))
        used = _fonts_of(reader)
        assert used, name
        for font in used:
            base = str(font["/BaseFont"])
            assert "+NotoS" in base, (name, base)
            assert len(base.split("+")[0]) == 7, (name, base)
            descendants = font.get("/DescendantFonts")
            descriptors = (
                [d.get_object()["/FontDescriptor"].get_object() for d in descendants]
                if descendants
                else [font["/FontDescriptor"].get_object()]
            )
            for descriptor in descriptors:
                assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), (name, base)


def test_pdf_a_2b_is_declared(rendered: dict[str, RenderedDocument]) -> None:
    for name, doc in rendered.items():
        reader = PdfReader(io.BytesIO(doc.pdf))
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
        assert "<pdfaid:part>2</pdfaid:part>" in xmp, name
        assert "<pdfaid:conformance>B</pdfaid:conformance>" in xmp, name
        assert "/OutputIntents" in reader.trailer["/Root"], name


def test_the_template_version_is_recorded_in_the_output(rendered: dict[str, RenderedDocument]) -> None:
    for name, doc in rendered.items():
        assert doc.template == name
        assert doc.template_version.startswith(TEMPLATES[name].version + "+")
        keywords = str(PdfReader(io.BytesIO(doc.pdf)).metadata["/Keywords"])
        assert name in keywords and doc.template_version in keywords


def test_same_input_and_time_give_the_same_bytes(
    samples: dict[str, SampleDocument], rendered: dict[str, RenderedDocument]
) -> None:
    sample = samples["termination_agreement"]
    again = render_document(sample.template, sample.data, images=sample.images, timestamp=FIXED_TIME)
    assert again.pdf == rendered["termination_agreement"].pdf
    assert again.sha256 == rendered["termination_agreement"].sha256
    later = render_document(sample.template, sample.data, images=sample.images, timestamp=FIXED_TIME.replace(hour=11))
    assert later.pdf != again.pdf


def test_the_seal_area_is_reported_in_pdf_coordinates(rendered: dict[str, RenderedDocument]) -> None:
    for name, doc in rendered.items():
        assert doc.seal is not None, name
        x1, y1, x2, y2 = doc.seal.box
        assert 0 <= x1 < x2 <= A4[0] and 0 <= y1 < y2 <= A4[1], name
        assert 110 < x2 - x1 < 130 and 120 < y2 - y1 < 145, name
        assert 0 <= doc.seal.page < doc.page_count, name
    assert rendered["certificate"].seal is not None and rendered["certificate"].seal.page == 1
    assert (
        rendered["contract"].seal is not None and rendered["contract"].seal.page == rendered["contract"].page_count - 1
    )


def test_buyer_signature_images_are_placed(rendered: dict[str, RenderedDocument]) -> None:
    reader = PdfReader(io.BytesIO(rendered["termination_agreement"].pdf))
    images = [image for page in reader.pages for image in page.images]
    assert len(images) >= 2


def test_certificate_appends_licence_and_identity_photos(rendered: dict[str, RenderedDocument]) -> None:
    reader = PdfReader(io.BytesIO(rendered["certificate"].pdf))
    placed = {hashlib.sha256(image.data).hexdigest() for page in reader.pages for image in page.images}
    # The licence, the legal representative's two sides and each buyer's two sides.
    assert len(placed) == 1 + 2 + 2 * 2


def _with(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    target: Any = changed
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return changed


RARE = "𠮷堃喆玥珺"


def test_rare_name_characters_render(samples: dict[str, SampleDocument]) -> None:
    sample = samples["cancellation_form"]
    data = _with(sample.data, ("buyers", 0, "name"), RARE)
    doc = render_document("cancellation_form", data, timestamp=FIXED_TIME)
    assert RARE in pdf_text(doc.pdf)
    for font in _fonts_of(PdfReader(io.BytesIO(doc.pdf))):
        assert "NotoS" in str(font["/BaseFont"])


def test_the_fonts_carry_the_rare_characters() -> None:
    from fontTools.ttLib import TTCollection

    files = fonts.find_font_files()
    for name in ("NotoSerifCJK-Regular.ttc", "NotoSansCJK-Regular.ttc"):
        with TTCollection(str(files[name]), lazy=True) as collection:
            face = next(f for f in collection.fonts if str(f["name"].getDebugName(1)).endswith(" SC"))
            cmap = face.getBestCmap()
            assert all(ord(c) in cmap for c in RARE), name


def test_a_character_no_font_has_fails_loudly(samples: dict[str, SampleDocument]) -> None:
    sample = samples["cancellation_form"]
    data = _with(sample.data, ("buyers", 1, "name"), "王\ue000")
    with pytest.raises(ValidationFailed) as refused:
        render_document("cancellation_form", data, timestamp=FIXED_TIME)
    assert "U+E000" in refused.value.zh
    assert "买受人第2项·姓名" in refused.value.zh
    assert "buyers.1.name" in refused.value.fields


def test_without_pdf_a_typst_would_print_a_blank_instead() -> None:
    """Why PDF/A export matters: the same missing glyph silently vanishes in a plain PDF."""
    source = '#set text(font: "Noto Serif CJK SC")\n王\ue000'.encode()
    only_noto = typst.Fonts(
        include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(fonts.font_dir())]
    )
    plain = typst.compile(source, font_paths=only_noto, ignore_system_fonts=True, timestamp=0)
    assert isinstance(plain, bytes) and "\ue000" not in pdf_text(plain)
    with pytest.raises(typst.TypstError, match="could not be displayed"):
        typst.compile(source, font_paths=only_noto, ignore_system_fonts=True, timestamp=0, pdf_standards="a-2b")


def test_a_missing_field_is_named(samples: dict[str, SampleDocument]) -> None:
    data = copy.deepcopy(samples["cancellation_form"].data)
    del data["buyers"][0]["name"]
    del data["reason"]
    with pytest.raises(ValidationFailed) as refused:
        render_document("cancellation_form", data)
    assert set(refused.value.fields) == {"buyers.0.name", "reason"}
    assert "买受人第1项·姓名：缺少必填项" in refused.value.zh
    assert "注销原因：缺少必填项" in refused.value.zh


def test_an_unknown_template_is_refused() -> None:
    with pytest.raises(ValidationFailed) as refused:
        render_document("lease_agreement", {})
    assert "lease_agreement" in refused.value.zh and "template" in refused.value.fields


def test_an_image_that_is_not_an_image_is_refused(samples: dict[str, SampleDocument]) -> None:
    sample = samples["termination_agreement"]
    images = dict(sample.images, buyer1_signature=b"<svg onload=alert(1)>")
    with pytest.raises(ValidationFailed) as refused:
        render_document(sample.template, sample.data, images=images)
    assert "images.buyer1_signature" in refused.value.fields
    assert "不是有效的 PNG 或 JPEG" in refused.value.zh


def test_a_truncated_or_foreign_image_is_refused(samples: dict[str, SampleDocument]) -> None:
    from PIL import Image

    sample = samples["certificate"]
    gif = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(gif, format="GIF")
    images = dict(
        sample.images,
        business_licence=sample.images["business_licence"][:2000],
        legal_rep_id_front=gif.getvalue(),
    )
    with pytest.raises(ValidationFailed) as refused:
        render_document(sample.template, sample.data, images=images)
    assert {"images.business_licence", "images.legal_rep_id_front"} <= set(refused.value.fields)


def test_images_must_match_what_the_data_names(samples: dict[str, SampleDocument]) -> None:
    sample = samples["termination_agreement"]
    images = {k: v for k, v in sample.images.items() if k != "buyer2_signature"}
    images["stray"] = sample.images["buyer1_signature"]
    with pytest.raises(ValidationFailed) as refused:
        render_document(sample.template, sample.data, images=images)
    assert "buyers.1.signature_image" in refused.value.fields
    assert "images.stray" in refused.value.fields


def test_the_data_reaches_typst_as_json_only(samples: dict[str, SampleDocument]) -> None:
    """Typst markup in a field is printed, not executed."""
    data = _with(samples["cancellation_form"].data, ("reason",), '#read("/etc/passwd") *粗体* $x$ ]')
    text = pdf_text(render_document("cancellation_form", data, timestamp=FIXED_TIME).pdf)
    assert '#read("/etc/passwd")*粗体*$x$]' in text
    assert json.dumps(data["reason"])


def test_a_self_test_certificate_says_on_every_page_that_it_has_no_legal_effect(
    samples: dict[str, SampleDocument], rendered: dict[str, RenderedDocument]
) -> None:
    sample = samples["certificate"]
    exercise = render_document(
        "certificate", {**sample.data, "self_test": True}, images=sample.images, timestamp=FIXED_TIME
    )
    notice = "系统自检文书不具有法律效力"
    pages = [text.replace(" ", "").replace("\u3000", "") for text in page_texts(exercise.pdf)]
    assert pages and all(notice in text for text in pages)
    assert not any(notice in text.replace(" ", "") for text in page_texts(rendered["certificate"].pdf))
