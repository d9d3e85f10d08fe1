"""Typesetting documents with typst: data in, PDF/A-2b out, the same bytes for the same input and time.

Each template keeps one ``typst.Compiler`` per process (font loading and typst's caches are paid once;
a warm two-page form takes a few milliseconds). A render gets its own private root folder holding the
template sources and the pictures it places, removed as soon as the PDF is made, so identity photos
never linger on disk and two renders never see each other's files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import shutil
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

import typst
from PIL import Image

from ecancel.core.errors import FieldMessage, ValidationFailed
from ecancel.documents import fonts
from ecancel.documents.qr import qr_svg
from ecancel.documents.schemas import DocumentData, field_label, schema_for, validate_data

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
PDF_STANDARD: Final = "a-2b"
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    version: str


# Bump a version when a template's wording or layout changes; the digest of the sources is appended
# automatically, so an edit without a bump still shows in every output's recorded version.
TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("cancellation_form", "商品房买卖合同注销备案申请表", "1"),
        Template("termination_agreement", "商品房买卖合同终止协议", "1"),
        Template("notarization_application", "终止协议公证申请表", "1"),
        Template("notarization_notice", "终止协议合同公证告知", "1"),
        Template("intake_record", "收案记录", "1"),
        Template("contract", "商品房买卖合同", "1"),
        Template("certificate", "公证书", "1"),
    )
}


@dataclass(frozen=True)
class SealBox:
    """Where the issuer's visible seal goes: a 0-based page and (x1, y1, x2, y2) in PDF points from
    the bottom-left corner, as pyHanko takes it."""

    page: int
    box: tuple[float, float, float, float]


@dataclass(frozen=True)
class RenderedDocument:
    pdf: bytes
    template: str
    template_version: str
    sha256: str
    page_count: int
    seal: SealBox | None


class DocumentRenderError(RuntimeError):
    """A template fault (not bad input): typst refused to compile what we wrote."""


@cache
def _sources() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(TEMPLATES_DIR.glob("*.typ"))}


@cache
def template_version(template: str) -> str:
    """The declared version plus a short digest of every typst source the template can import."""
    spec = _spec(template)
    digest = hashlib.sha256()
    for name, text in _sources().items():
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    return f"{spec.version}+{digest.hexdigest()[:10]}"


def _spec(template: str) -> Template:
    schema_for(template)
    return TEMPLATES[template]


@cache
def _fonts() -> typst.Fonts:
    return typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(fonts.font_dir())])


class _TemplateCompiler:
    def __init__(self) -> None:
        self.compiler = typst.Compiler(font_paths=_fonts(), ignore_system_fonts=True)
        self.lock = threading.Lock()


@cache
def _compiler(template: str) -> _TemplateCompiler:
    return _TemplateCompiler()


def render_document(
    template: str,
    data: Mapping[str, Any] | DocumentData,
    *,
    images: Mapping[str, bytes] | None = None,
    timestamp: dt.datetime | None = None,
) -> RenderedDocument:
    """Check the data and pictures against the template's schema, then typeset a PDF/A-2b."""
    spec = _spec(template)
    model = validate_data(template, data)
    checked = _checked_images(model, images or {})
    version = template_version(template)
    payload = model.model_dump(mode="json")
    payload["_meta"] = {"template": template, "version": version, "title": spec.title}
    payload["_images"] = {key: f"/img/{key}.{ext}" for key, (_, ext) in checked.items()}
    qr_codes = model.qr_codes()
    payload["_images"].update({key: f"/img/{key}.svg" for key in qr_codes})
    inputs = {"data": json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))}
    when = (timestamp or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)

    unit = _compiler(template)
    root = Path(tempfile.mkdtemp(prefix="ecancel-render-"))
    try:
        for name, text in _sources().items():
            (root / name).write_text(text, encoding="utf-8")
        (root / "img").mkdir()
        for key, (content, ext) in checked.items():
            (root / "img" / f"{key}.{ext}").write_bytes(content)
        for key, target in qr_codes.items():
            (root / "img" / f"{key}.svg").write_text(qr_svg(target), encoding="ascii")
        with unit.lock:
            pdf = _compile(unit.compiler, root / f"{template}.typ", root, inputs, when, model)
            seals = json.loads(unit.compiler.query("<ecancel-seal>", field="value", format="json", root=str(root)))
            pages = json.loads(unit.compiler.query("<ecancel-pages>", field="value", format="json", root=str(root)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if len(seals) > 1:
        raise DocumentRenderError(f"template {template!r} has {len(seals)} seal areas; one is allowed")
    return RenderedDocument(
        pdf=pdf,
        template=template,
        template_version=version,
        sha256=hashlib.sha256(pdf).hexdigest(),
        page_count=int(pages[0]) if pages else 0,
        seal=_seal_box(seals[0]) if seals else None,
    )


def _compile(
    compiler: typst.Compiler, main: Path, root: Path, inputs: dict[str, str], when: dt.datetime, model: DocumentData
) -> bytes:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            pdf, problems = compiler.compile_with_warnings(
                input=str(main), root=str(root), sys_inputs=inputs, pdf_standards=PDF_STANDARD, timestamp=when
            )
    except typst.TypstError as exc:
        missing = _undisplayable(exc.message)
        if missing:
            raise _glyph_refusal(model, missing) from None
        raise DocumentRenderError(f"typst refused {main.name}: {exc.diagnostic or exc.message}") from None
    if problems:
        raise DocumentRenderError(f"typst warned on {main.name}: " + "; ".join(w.message for w in problems))
    if not isinstance(pdf, bytes):
        raise DocumentRenderError(f"typst returned no PDF for {main.name}")
    return pdf


def _seal_box(found: Mapping[str, Any]) -> SealBox:
    x, y, w, h, page_height = (float(found[k]) for k in ("x", "y", "w", "h", "ph"))
    top = page_height - y
    return SealBox(page=int(found["page"]) - 1, box=(round(x, 2), round(top - h, 2), round(x + w, 2), round(top, 2)))


_UNDISPLAYABLE = re.compile(r"the text `\"(?P<text>.*?)\"` could not be displayed")
_ESCAPE = re.compile(r"\\u\{([0-9a-fA-F]+)\}")


def _undisplayable(message: str) -> str:
    """The characters typst's PDF/A export refused because no embedded font has them."""
    found = _UNDISPLAYABLE.search(message)
    if not found:
        return ""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), found.group("text"))


def _glyph_refusal(model: DocumentData, characters: str) -> ValidationFailed:
    wanted = set(characters)
    shown = "、".join(f"「{c}」(U+{ord(c):04X})" for c in sorted(wanted))
    fields: dict[str, FieldMessage] = {}
    for path, text in _strings(model.model_dump(mode="json"), ()):
        if wanted & set(text):
            dotted = ".".join(str(p) for p in path)
            label = field_label(type(model), path)
            fields[dotted] = FieldMessage(
                f"{label}中的字符{shown}无法用文书字体显示", f"{dotted} has characters the document fonts lack"
            )
    where = "、".join(m.zh.split("中的字符")[0] for m in fields.values()) or "文书数据"
    return ValidationFailed(
        f"{where}中的字符{shown}在文书字体中不存在，无法生成文书；请核对并改用规范汉字",
        "Characters " + ", ".join(f"U+{ord(c):04X}" for c in sorted(wanted)) + " have no glyph in the document fonts",
        fields=fields,
    )


def _strings(value: Any, path: tuple[int | str, ...]) -> Iterator[tuple[tuple[int | str, ...], str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, index))


def _checked_images(model: DocumentData, images: Mapping[str, bytes]) -> dict[str, tuple[bytes, str]]:
    """Every picture the data names, decoded to prove it is a real PNG or JPEG; nothing unnamed."""
    refs = list(model.image_refs())
    problems: dict[str, FieldMessage] = {}
    for path, key in refs:
        if key not in images:
            label = field_label(type(model), tuple(int(p) if p.isdigit() else p for p in path.split(".")))
            problems[path] = FieldMessage(f"{label}：缺少图片「{key}」", f"{path}: image {key!r} was not supplied")
    named = {key for _, key in refs}
    for key in images:
        if key not in named:
            problems[f"images.{key}"] = FieldMessage(
                f"图片「{key}」未被文书引用", f"image {key!r} is not used by this document"
            )
    checked: dict[str, tuple[bytes, str]] = {}
    for key, content in images.items():
        if key in named:
            ext = _image_kind(content)
            if ext is None:
                problems[f"images.{key}"] = FieldMessage(
                    f"图片「{key}」不是有效的 PNG 或 JPEG 图片", f"image {key!r} is not a valid PNG or JPEG"
                )
            else:
                checked[key] = (content, ext)
    if problems:
        raise ValidationFailed(
            "文书图片有误：" + "；".join(m.zh for m in problems.values()),
            "Document images wrong: " + "; ".join(m.en for m in problems.values()),
            fields=problems,
        )
    return checked


def _image_kind(content: bytes) -> str | None:
    """'png' or 'jpg' when the bytes fully decode as such an image of sane size, else None."""
    if not content or len(content) > MAX_IMAGE_BYTES:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as picture:
                kind = picture.format
                if kind not in {"PNG", "JPEG"} or picture.width * picture.height > MAX_IMAGE_PIXELS:
                    return None
                if kind == "JPEG":
                    # Reads every entropy-coded block (a truncated or corrupt file still fails) but skips
                    # most of the inverse DCT; typst embeds the JPEG as it is.
                    picture.draft(picture.mode, (max(1, picture.width // 8), max(1, picture.height // 8)))
                picture.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    return "png" if kind == "PNG" else "jpg"
