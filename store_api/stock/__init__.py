"""The one stock shared by the store and the webshop: levels, reservations, ledger."""
