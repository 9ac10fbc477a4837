"""The month as a one-page PDF, in pure Python (fpdf2): no browser on the server.

fpdf2's built-in Helvetica needs no font file; with the Windows-1252 encoding it writes every
French character (é, œ, «, €). French numbers use narrow no-break spaces, which that encoding
lacks: they become ordinary no-break spaces.
"""

from __future__ import annotations

from fpdf import FPDF

from store_api.i18n import text
from store_api.month.service import Month
from store_api.month.texts import period, sections, title

INK = (15, 23, 42)
MUTED = (100, 116, 139)
LINE = (226, 232, 240)


def _plain(value: str) -> str:
    """What Windows-1252 can write: narrow no-break spaces become no-break spaces, and arrows
    (U+2192) single angle quotation marks (U+203A)."""
    value = value.replace("\u202f", "\u00a0").replace("\u2192", "\u203a")
    return value.encode("cp1252", "replace").decode("cp1252")


def render(month: Month, locale: str, shop: str = "Comptoir") -> bytes:
    pdf = FPDF(format="A4")
    pdf.core_fonts_encoding = "windows-1252"
    pdf.set_title(_plain(title(month, locale)))
    pdf.set_author(_plain(shop))
    pdf.set_creator("Comptoir")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_margins(18, 16, 18)
    pdf.set_xy(18, 16)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 9, _plain(title(month, locale)), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*MUTED)
    pdf.cell(0, 6, _plain(f"{shop} · {period(month, locale)}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    for section in sections(month, locale):
        pdf.set_draw_color(*LINE)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(2)
        pdf.set_text_color(*INK)
        pdf.set_font("Helvetica", "B", 12)
        pdf.cell(0, 7, _plain(section.title), new_x="LMARGIN", new_y="NEXT")
        for figure in section.figures:
            pdf.set_font("Helvetica", "", 10)
            pdf.set_text_color(*MUTED)
            pdf.cell(width * 0.55, 6, _plain(figure.label))
            pdf.set_font("Helvetica", "B", 10)
            pdf.set_text_color(*INK)
            pdf.cell(0, 6, _plain(figure.value), new_x="LMARGIN", new_y="NEXT")
        if section.note:
            pdf.set_font("Helvetica", "I", 9)
            pdf.set_text_color(*MUTED)
            pdf.multi_cell(0, 5, _plain(section.note), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0,
        4,
        _plain(text(locale, "Every figure is measured from what the shop recorded; the page "
                            "/dashboard/month links each one to its detailed report.")),
    )  # fmt: skip
    return bytes(pdf.output())
