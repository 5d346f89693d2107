"""What an uploaded file is, decided by decoding all of it (issue 13 point 5), never by its name or declared type.

A file is accepted as JPEG or PNG only if Pillow decodes the whole image and nothing follows the image's end (a
PNG with an HTML page after its IEND chunk is an HTML page to a browser that sniffs); as PDF only if pypdf
parses it, every page, and nothing follows its last ``%%EOF``; and a PDF that carries JavaScript, launches
programs or embeds files is refused, wherever in its objects (compressed object streams included) that sits.
"""

from __future__ import annotations

import io
import struct
import warnings

from PIL import Image
from pypdf import PdfReader
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject

from nrmm_kernel.errors import ValidationFailed

MAX_PIXELS = 60_000_000  # a 60-megapixel photo; more is a decompression bomb, not a nameplate
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# what makes a PDF act rather than show: scripts, launched programs, embedded or attached files, rich media
ACTIVE_KEYS = frozenset({"/JS", "/JavaScript", "/Launch", "/EmbeddedFile", "/EmbeddedFiles", "/RichMedia", "/EF"})
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/GoToE"})
ACTIVE_SUBTYPES = frozenset({"/FileAttachment", "/RichMedia", "/Screen", "/Movie", "/Sound", "/3D"})
MAX_PDF_OBJECTS = 100_000


def refused(message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, code=code, field="file")


def sniff(head: bytes) -> str | None:
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(PNG_SIGNATURE):
        return "image/png"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def check_file(data: bytes) -> str:
    """The content type of ``data``, decoded whole; raises ValidationFailed (field ``file``) otherwise."""
    content_type = sniff(data[:8])
    if content_type is None:
        raise refused("仅支持 JPEG、PNG 或 PDF 文件 (only JPEG, PNG or PDF)", "unsupported_file_type")
    if content_type == "application/pdf":
        check_pdf(data)
    else:
        check_image(data, content_type)
    return content_type


# images ----------------------------------------------------------------------------------------------------------
def check_image(data: bytes, content_type: str) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=["JPEG" if content_type == "image/jpeg" else "PNG"]) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise refused("图片像素过多 (image too large)", "image_too_large")
                image.load()  # every pixel decoded: a truncated or corrupt image fails here
    except ValidationFailed:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise refused("图片像素过多 (image too large)", "image_too_large") from None
    except Exception:  # noqa: BLE001 - Pillow raises many kinds for a broken file
        raise refused("图片无法解码 (the image does not decode)", "corrupt_file") from None
    end = png_end(data) if content_type == "image/png" else jpeg_end(data)
    if end is None or data[end:].strip(b"\x00"):
        raise refused("图片结束后还有其他数据 (data after the end of the image)", "trailing_data")


def png_end(data: bytes) -> int | None:
    """The offset just past the IEND chunk, walking the chunks; None when the chunk structure is broken."""
    offset = len(PNG_SIGNATURE)
    while offset + 12 <= len(data):
        (length,) = struct.unpack(">I", data[offset:offset + 4])
        kind = data[offset + 4:offset + 8]
        offset += 12 + length
        if kind == b"IEND":
            return offset if offset <= len(data) else None
    return None


def jpeg_end(data: bytes) -> int | None:
    """Just past the last end-of-image marker (a phone's photo may carry further JPEGs, its previews, after the
    first one: they end with one too)."""
    at = data.rstrip(b"\x00").rfind(b"\xff\xd9")
    return None if at < 0 else at + 2


# PDFs ------------------------------------------------------------------------------------------------------------
def check_pdf(data: bytes) -> None:
    tail = data.rstrip()
    if not tail.endswith(b"%%EOF"):
        raise refused("PDF 结束后还有其他数据 (data after the end of the PDF)", "trailing_data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data), strict=False)
            if reader.is_encrypted:
                raise refused("不接受加密的 PDF (encrypted PDF)", "encrypted_pdf")
            if len(reader.pages) == 0:
                raise refused("PDF 没有页面 (no pages)", "corrupt_file")
            for page in reader.pages:
                page.get_contents()  # each page's content streams decode
            active = _active_content(reader)
    except ValidationFailed:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError, IndexError):
        raise refused("PDF 无法解析 (the PDF does not parse)", "corrupt_file") from None
    if active:
        raise refused(f"PDF 不得包含脚本或附件 ({active})", "active_pdf_content")


def _object_ids(reader: PdfReader) -> list[tuple[int, int]]:
    ids = [(num, gen) for gen, objects in reader.xref.items() for num in objects]
    ids += [(num, 0) for num in reader.xref_objStm]
    return ids[:MAX_PDF_OBJECTS]


def _active_content(reader: PdfReader) -> str | None:
    """The first active key found in any object of the file (the catalog and the trailer included)."""
    roots: list[object] = [reader.trailer]
    for num, gen in _object_ids(reader):
        try:
            roots.append(reader.get_object(IndirectObject(num, gen, reader)))
        except (PyPdfError, ValueError, KeyError, OSError):
            continue
    for root in roots:
        found = _active_in(root, depth=0)
        if found:
            return found
    return None


def _active_in(value: object, depth: int) -> str | None:
    if depth > 50 or isinstance(value, IndirectObject):
        return None  # indirect objects are walked on their own
    if isinstance(value, DictionaryObject):
        for key, item in value.items():
            if key in ACTIVE_KEYS:
                return str(key)
            if key == "/S" and isinstance(item, NameObject) and item in ACTIVE_ACTIONS:
                return str(item)
            if key == "/Subtype" and isinstance(item, NameObject) and item in ACTIVE_SUBTYPES:
                return str(item)
            found = _active_in(item, depth + 1)
            if found:
                return found
    elif isinstance(value, ArrayObject):
        for item in value:
            found = _active_in(item, depth + 1)
            if found:
                return found
    return None
