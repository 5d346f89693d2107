"""Issue 13 point 5, pure: a file is what all of it decodes as; active PDFs and polyglots are refused."""

import io
import struct
import zlib

import pytest
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from nrmm_kernel.errors import ValidationFailed
from nrmm_kernel.filetypes import check_file
from tests.registry.fixtures import JPEG, PDF, PNG, image, pdf

HTML = b"<html><script>alert(document.cookie)</script></html>"


def refusal(data: bytes) -> str:
    with pytest.raises(ValidationFailed) as refused:
        check_file(data)
    assert refused.value.field == "file" and refused.value.status == 422
    return refused.value.code


def test_real_files_are_what_they_decode_as():
    assert check_file(PNG) == "image/png"
    assert check_file(JPEG) == "image/jpeg"
    assert check_file(PDF) == "application/pdf"
    assert check_file(image("JPEG") + image("JPEG")) == "image/jpeg"  # a phone photo with its preview after it


@pytest.mark.parametrize("data, code", [
    (PNG + HTML, "trailing_data"),  # a PNG-then-HTML polyglot
    (JPEG + HTML, "trailing_data"),
    (PDF + HTML, "trailing_data"),
    (PNG[: len(PNG) // 2], "corrupt_file"),  # truncated
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "corrupt_file"),  # only the magic bytes
    (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "corrupt_file"),
    (b"%PDF-1.4\n" + b"0" * 64 + b"\n%%EOF", "corrupt_file"),
    (b"GIF89a" + b"\x00" * 64, "unsupported_file_type"),
    (HTML, "unsupported_file_type"),
])
def test_files_that_are_not_wholly_their_type_are_refused(data, code):
    assert refusal(data) == code


def test_pdfs_that_run_script_or_carry_files_are_refused():
    assert refusal(pdf(javascript="app.alert('x')")) == "active_pdf_content"
    assert refusal(pdf(attachment=b"MZ payload")) == "active_pdf_content"


def test_a_script_in_a_link_annotation_is_found_too():
    writer = PdfWriter()
    page = writer.add_blank_page(width=100, height=100)
    action = DictionaryObject({NameObject("/S"): NameObject("/JavaScript"),
                               NameObject("/JS"): TextStringObject("app.alert(1)")})
    annotation = DictionaryObject({NameObject("/Type"): NameObject("/Annot"),
                                   NameObject("/Subtype"): NameObject("/Link"), NameObject("/A"): action})
    page[NameObject("/Annots")] = ArrayObject([writer._add_object(annotation)])
    out = io.BytesIO()
    writer.write(out)
    assert refusal(out.getvalue()) == "active_pdf_content"


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    # a small PNG whose header claims 100000 x 100000 pixels
    header = b"IHDR" + struct.pack(">II", 100_000, 100_000) + PNG[24:29]
    bomb = PNG[:12] + header + struct.pack(">I", zlib.crc32(header)) + PNG[33:]
    assert refusal(bomb) == "image_too_large"
