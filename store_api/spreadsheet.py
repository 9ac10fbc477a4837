"""CSV cells that stay text in a spreadsheet, wherever it splits the line into cells.

A cell starting with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel and LibreOffice, and a
formula can run commands (``=cmd|' /c calc'!A0``). Escaping only the start of our cell is not
enough: our files use ``,`` but French Excel splits on ``;``, others on tabs, and a search term
like ``lave;=cmd|' /c calc'!a0;`` then starts a cell in the middle of ours. So every place
where any spreadsheet could start a cell (the start, and after ``,`` ``;`` a tab or a line
break, spaces allowed) gets a ``'`` before a formula character: Excel shows the text as typed.
A leading tab or carriage return is escaped too (OWASP, "CSV injection").
"""

from __future__ import annotations

import re

_CELL_START = re.compile(r"(^|[,;\t\r\n])( *)(?=[=+\-@])")


def csv_text(text: str) -> str:
    """``text`` with every formula a spreadsheet could see in it neutralised."""
    escaped = _CELL_START.sub(r"\1\2'", text)
    if escaped[:1] in ("\t", "\r"):
        escaped = "'" + escaped
    return escaped
