"""The seller's tablet: a French progressive web app served at /tablet (docs/tablet.md).

Plain ES modules in ``static/`` (no build step), an app shell and a service worker that keep it
working without the network, and a JSON catalogue of its French texts. It talks only to the
public API (/api/v1) with the seller key it keeps in IndexedDB.
"""
