"""Supplier files as wholesalers send them, made up and reproducible (same bytes every run).

* :func:`french_csv`: a French spreadsheet export (``;``, Windows-1252, decimal commas,
  spaces as thousands separators), any number of lines (tests use 5,000, the bench 50,000);
* :func:`xlsx_price_list`: an XLSX price list with numeric cells and availability words;
* :func:`bmecat_catalog`: a BMEcat 2005 catalog with features, units and two prices.

The products are washing machines, dryers, fridges, dishwashers and ovens of the brands the
shop sells; EANs carry a correct GS1 check digit (prefix 376, unassigned to a real company
here). ``python seeds/supplier_feeds.py OUT_DIR`` writes one file of each kind.
"""

# The BMEcat template is XML as wholesalers write it: wrapping its lines would hide its shape.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import io
import random
from decimal import Decimal
from pathlib import Path

FAMILIES = {
    # supplier family -> (shop category, name, attribute builder)
    "LAVAGE FRONTAL": ("Lave-linge", "Lave-linge hublot"),
    "SECHAGE": ("Sèche-linge", "Sèche-linge pompe à chaleur"),
    "FROID": ("Réfrigérateurs", "Réfrigérateur combiné"),
    "LAVE-VAISSELLE": ("Lave-vaisselle", "Lave-vaisselle pose libre"),
    "CUISSON": ("Fours", "Four encastrable"),
}
BRANDS = ("Bosch", "Siemens", "Miele", "Samsung", "LG", "Whirlpool", "Electrolux", "Beko")
COLOURS = ("Blanc", "Inox", "Noir", "Gris anthracite")
CLASSES = ("A", "B", "C", "D")
CSV_HEADER = (
    "Réf. fournisseur", "EAN", "Marque", "Réf. fabricant", "Désignation", "Famille",
    "Couleur", "Prix achat HT", "PVC TTC", "Stock", "Délai (j)", "Capacité (kg)",
    "Essorage (tr/min)", "Classe énergie", "Largeur (mm)", "Image",
)  # fmt: skip
# The mapping profile an owner saves for this export (docs/suppliers.md).
CSV_PROFILE = {
    "columns": {
        "Réf. fournisseur": "supplier_sku",
        "EAN": "gtin",
        "Marque": "brand",
        "Réf. fabricant": "mpn",
        "Désignation": "name",
        "Famille": "category",
        "Couleur": "colour",
        "Prix achat HT": "purchase_price",
        "PVC TTC": "price",
        "Stock": "supplier_stock",
        "Délai (j)": "lead_days",
        "Capacité (kg)": "attr:capacite_kg",
        "Essorage (tr/min)": "attr:essorage_tr_min",
        "Classe énergie": "attr:classe_energie",
        "Largeur (mm)": "attr:largeur_cm",
        "Image": "image_url",
    },
    "units": {"attr:largeur_cm": {"from": "mm", "to": "cm"}},
    "categories": {family: shop for family, (shop, _n) in FAMILIES.items()},
    "missing": "unavailable",
}


def gtin13(number: int, prefix: str = "376") -> str:
    body = f"{prefix}{number:0{12 - len(prefix)}d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def _french(amount: Decimal) -> str:
    """1249.00 -> "1 249,00" (a space as thousands separator, as Excel FR exports)."""
    whole, cents = f"{amount:.2f}".split(".")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return " ".join(groups) + "," + cents


def products(count: int, seed: int = 69, start: int = 1) -> list[dict[str, object]]:
    rng = random.Random(seed)
    rows = []
    families = list(FAMILIES)
    for i in range(start, start + count):
        family = families[i % len(families)]
        category, label = FAMILIES[family]
        brand = BRANDS[rng.randrange(len(BRANDS))]
        kg = rng.choice((7, 8, 9, 10, 11))
        purchase = Decimal(rng.randrange(18_000, 140_000)) / 100
        rows.append(
            {
                "ref": f"DR{i:06d}",
                "ean": gtin13(i),
                "brand": brand,
                "mpn": f"{brand[:3].upper()}{rng.randrange(100, 999)}X{i:05d}",
                "name": f"{label} {brand} {kg} kg"
                if category in ("Lave-linge", "Sèche-linge")
                else f"{label} {brand} {i:05d}",
                "family": family,
                "category": category,
                "colour": COLOURS[i % len(COLOURS)],
                "purchase": purchase,
                "price": (purchase * Decimal("1.45")).quantize(Decimal("1")) - Decimal("0.01"),
                "stock": rng.choice((0, 0, 2, 5, 12, 40)),
                "lead": rng.choice((2, 3, 3, 5, 10)),
                "kg": kg,
                "rpm": rng.choice((1200, 1400, 1600)),
                "class": CLASSES[i % len(CLASSES)],
                "width_mm": 595 if i % 7 else 450,
                "image": f"https://images.distrilec.example/{i:06d}.jpg",
            }
        )
    return rows


def french_csv(count: int = 5000, seed: int = 69, start: int = 1) -> bytes:
    """A French export: ``;``, Windows-1252, CRLF, decimal commas, "1 400" thousands."""
    lines = [";".join(CSV_HEADER)]
    for p in products(count, seed, start):
        washer = p["category"] in ("Lave-linge", "Sèche-linge")
        cells = [
            p["ref"], p["ean"], p["brand"], p["mpn"], p["name"], p["family"], p["colour"],
            _french(p["purchase"]), _french(p["price"]), str(p["stock"]), str(p["lead"]),  # type: ignore[arg-type]
            str(p["kg"]) if washer else "",
            f"{p['rpm']:,}".replace(",", " ") if p["category"] == "Lave-linge" else "",
            p["class"], str(p["width_mm"]), p["image"],
        ]  # fmt: skip
        lines.append(";".join(str(c) for c in cells))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


XLSX_HEADER = (
    "Référence", "EAN13", "Marque", "Modèle", "Libellé", "Catégorie", "Prix net HT",
    "Prix public TTC", "Disponibilité", "Délai livraison",
)  # fmt: skip
AVAILABILITY_WORDS = ("En stock", "En stock", "Sur commande", "Rupture")


def xlsx_price_list(count: int = 200, seed: int = 7, start: int = 100_001) -> bytes:
    """An XLSX price list (numbers as numbers) from another wholesaler."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Tarif 2027"
    sheet.append(list(XLSX_HEADER))
    for i, p in enumerate(products(count, seed, start)):
        sheet.append(
            [
                f"EL-{p['ref']}",
                p["ean"],
                p["brand"],
                p["mpn"],
                p["name"],
                p["category"],
                float(p["purchase"]),
                float(p["price"]),  # type: ignore[arg-type]
                AVAILABILITY_WORDS[i % len(AVAILABILITY_WORDS)],
                p["lead"],
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def bmecat_catalog(count: int = 50, seed: int = 11, start: int = 200_001) -> bytes:
    """A BMEcat 2005 catalog: groups, features with units (width in mm), net and retail price."""
    items = []
    for p in products(count, seed, start):
        features = [("Capacité", str(p["kg"]), "kg"), ("Largeur", str(p["width_mm"]), "mm")]
        feature_xml = "".join(
            f"<FEATURE><FNAME>{n}</FNAME><FVALUE>{v}</FVALUE><FUNIT>{u}</FUNIT></FEATURE>"
            for n, v, u in features
        )
        items.append(
            f"""  <PRODUCT mode="new">
   <SUPPLIER_PID>BM-{p["ref"]}</SUPPLIER_PID>
   <PRODUCT_DETAILS>
    <DESCRIPTION_SHORT>{p["name"]}</DESCRIPTION_SHORT>
    <DESCRIPTION_LONG>{p["name"]}, classe énergétique {p["class"]}.</DESCRIPTION_LONG>
    <INTERNATIONAL_PID type="gtin">{p["ean"]}</INTERNATIONAL_PID>
    <MANUFACTURER_PID>{p["mpn"]}</MANUFACTURER_PID>
    <MANUFACTURER_NAME>{p["brand"]}</MANUFACTURER_NAME>
    <DELIVERY_TIME>{p["lead"]}</DELIVERY_TIME>
   </PRODUCT_DETAILS>
   <PRODUCT_FEATURES><REFERENCE_FEATURE_SYSTEM_NAME>ECLASS-11.0</REFERENCE_FEATURE_SYSTEM_NAME>{feature_xml}</PRODUCT_FEATURES>
   <PRODUCT_PRICE_DETAILS>
    <PRODUCT_PRICE price_type="net_list"><PRICE_AMOUNT>{p["purchase"]}</PRICE_AMOUNT><PRICE_CURRENCY>EUR</PRICE_CURRENCY></PRODUCT_PRICE>
    <PRODUCT_PRICE price_type="nrp"><PRICE_AMOUNT>{p["price"]}</PRICE_AMOUNT><PRICE_CURRENCY>EUR</PRICE_CURRENCY></PRODUCT_PRICE>
   </PRODUCT_PRICE_DETAILS>
   <MIME_INFO><MIME><MIME_SOURCE>{p["image"]}</MIME_SOURCE></MIME></MIME_INFO>
   <PRODUCT_TO_CATALOGGROUP_MAP><CATALOG_GROUP_ID>{list(FAMILIES).index(str(p["family"]))}</CATALOG_GROUP_ID></PRODUCT_TO_CATALOGGROUP_MAP>
  </PRODUCT>"""
        )
    groups = "".join(
        f'<CATALOG_STRUCTURE type="leaf"><GROUP_ID>{i}</GROUP_ID><GROUP_NAME>{shop}</GROUP_NAME>'
        "<PARENT_ID>root</PARENT_ID></CATALOG_STRUCTURE>"
        for i, (shop, _label) in enumerate(FAMILIES.values())
    )
    body = "\n".join(items)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<BMECAT version="2005" xmlns="http://www.bmecat.org/bmecat/2005">
 <HEADER>
  <CATALOG><LANGUAGE>fra</LANGUAGE><CATALOG_ID>GROS-ELEC-2027</CATALOG_ID><CATALOG_VERSION>1.0</CATALOG_VERSION><CURRENCY>EUR</CURRENCY></CATALOG>
  <SUPPLIER><SUPPLIER_NAME>Gros Élec Rhône-Alpes</SUPPLIER_NAME></SUPPLIER>
 </HEADER>
 <T_NEW_CATALOG>
  <CATALOG_GROUP_SYSTEM><GROUP_SYSTEM_ID>GE</GROUP_SYSTEM_ID>{groups}</CATALOG_GROUP_SYSTEM>
{body}
 </T_NEW_CATALOG>
</BMECAT>
""".encode()


BMECAT_PROFILE_UNITS = {"attr:largeur": {"to": "cm"}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lines", type=int, default=5000)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "distrilec-export.csv").write_bytes(french_csv(args.lines))
    (args.out / "elecdis-tarif.xlsx").write_bytes(xlsx_price_list())
    (args.out / "gros-elec-bmecat.xml").write_bytes(bmecat_catalog())
    print(f"Wrote 3 supplier files to {args.out}")


if __name__ == "__main__":
    main()
