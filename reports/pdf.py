"""Shared PDF layout: the embedded CJK font, page footers "第 x 页 / 共 y 页", table styles.

reportlab embeds only TrueType outlines (TTF/TTC); CFF .otf fonts and reportlab's built-in CID
fonts (STSong-Light) are not embedded, and a PDF without its font shows boxes on machines that
lack it. Debian's fonts-wqy-zenhei (installed by scripts/system-packages.sh) is the default;
VBP_PDF_FONT points at another TTF/TTC.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import TableStyle

FONT = "VbpCJK"
_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)


class FontMissing(RuntimeError):
    pass


@cache
def cjk_font() -> str:
    """Register the CJK TrueType font once per process and return its name."""
    configured = os.environ.get("VBP_PDF_FONT")
    paths = [configured] if configured else list(_CANDIDATES)
    for path in paths:
        if path and Path(path).is_file():
            pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
            return FONT
    raise FontMissing(
        "找不到可嵌入的中文字体 (no embeddable CJK TrueType font): run scripts/system-packages.sh "
        "(Debian fonts-wqy-zenhei) or set VBP_PDF_FONT to a .ttf/.ttc file"
    )


def style(size: float = 9, *, leading: float | None = None, bold: bool = False, **kw: Any) -> ParagraphStyle:
    return ParagraphStyle(
        f"vbp{size}{bold}",
        fontName=cjk_font(),
        fontSize=size,
        leading=leading or size * 1.3,
        wordWrap="CJK",  # Chinese text breaks between any two characters
        **kw,
    )


def table_style(*, numeric_from: int | None = None, numeric_to: int = -1, font_size: float = 7) -> TableStyle:
    """Grid, grey header row (repeated on every page by `repeatRows=1`), numbers right-aligned."""
    commands: list[tuple[Any, ...]] = [
        ("FONT", (0, 0), (-1, -1), cjk_font(), font_size),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef5")),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 1.5),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
        ("LEFTPADDING", (0, 0), (-1, -1), 2),
        ("RIGHTPADDING", (0, 0), (-1, -1), 2),
    ]
    if numeric_from is not None:
        commands.append(("ALIGN", (numeric_from, 1), (numeric_to, -1), "RIGHT"))
    return TableStyle(commands)


def numbered_canvas(footer_left: str) -> type[Canvas]:
    """A canvas that knows the page count: pages are kept until save(), then each gets its
    footer "第 x 页 / 共 y 页" (the total is only known at the end)."""

    class NumberedCanvas(Canvas):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            # Not Helvetica: reportlab names its initial font on every page, and an unembedded
            # standard font would then be listed in the PDF.
            # (platypus passes initialFontName=None explicitly, so a setdefault would not do.)
            kwargs["initialFontName"] = kwargs.get("initialFontName") or cjk_font()
            super().__init__(*args, **kwargs)
            self._pages: list[dict[str, Any]] = []

        def showPage(self) -> None:  # noqa: N802 - reportlab's name
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._pages)
            for number, state in enumerate(self._pages, start=1):
                self.__dict__.update(state)
                self._footer(number, total)
                super().showPage()
            super().save()

        def _footer(self, number: int, total: int) -> None:
            width, _ = self._pagesize
            self.setFont(cjk_font(), 8)
            self.setFillColor(colors.grey)
            self.drawString(28, 18, footer_left)
            self.drawRightString(width - 28, 18, f"第 {number} 页 / 共 {total} 页")

    return NumberedCanvas


def metadata(title: str, subject: str) -> Callable[[Canvas, Any], None]:
    def on_page(canvas: Canvas, _doc: Any) -> None:
        canvas.setTitle(title)
        canvas.setAuthor("VBP 集中带量采购平台")
        canvas.setSubject(subject)

    return on_page
