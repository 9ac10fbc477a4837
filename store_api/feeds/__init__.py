"""Supplier feeds: read CSV, XLSX and BMEcat files, map them, compare them with the catalog.

Readers (csv_reader, xlsx_reader, bmecat) turn bytes into a :class:`~store_api.feeds.table.Table`
of text cells with line numbers; :mod:`mapping` turns each record into a feed line with typed
values; :mod:`diff` matches lines to products and says what would change; :mod:`apply` makes
those changes in the caller's transaction. Nothing here imports Flask.
"""
