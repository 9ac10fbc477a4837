"""Write the demo catalog of the shop as CSV, the same bytes on every run.

The catalog feeds the demo database, the stock simulator and the recommender, so it must be
reproducible (diffable in review) and plausible: colour variants of one model share a name so
"colour swap" analytics have something to find, and accessories name the brands and model codes
they fit so the recommender can learn complements.

    python seeds/generate_catalog.py [--out PATH] [--seed N]
"""

# The catalog below is a table, one model per line: wrapping it would triple its length.
# ruff: noqa: E501

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

# 69 is the Rhône département: any fixed number works, this one is easy to remember in Lyon.
DEFAULT_SEED = 69
DEFAULT_OUT = Path(__file__).resolve().parent / "demo_catalog.csv"
IMAGE_BASE = "https://images.comptoir.example"
FIELDS = (
    "sku", "gtin", "name", "description", "brand", "category", "colour", "price", "image_url",
    "attributes", "active", "stock_floor", "stock_backroom", "stock_warehouse",
)  # fmt: skip
SKU_RE = re.compile(r"^[A-Z0-9-]{1,40}$")
# In-store barcodes: EAN-13 with GS1 prefix 20 (restricted circulation, numbered by the shop),
# then 6900 (the Rhône again) and the product's place in the catalogue, then the check digit.
GTIN_BASE = 6900_000000

PREFIX = {
    "Lave-linge": "LL",
    "Sèche-linge": "SL",
    "Réfrigérateurs": "RF",
    "Lave-vaisselle": "LV",
    "Fours": "FO",
    "Petit électroménager": "PE",
    "Téléviseurs": "TV",
    "Accessoires": "AC",
}
BIG = ("Lave-linge", "Sèche-linge", "Réfrigérateurs", "Lave-vaisselle", "Fours")
BRAND_CODE = {
    "Bosch": "BOS", "Siemens": "SIE", "Miele": "MIE", "Samsung": "SAM", "LG": "LG",
    "Whirlpool": "WHI", "Electrolux": "ELE", "AEG": "AEG", "Beko": "BEK", "Haier": "HAI",
    "SEB": "SEB", "Moulinex": "MOU", "Rowenta": "ROW", "Calor": "CAL", "Philips": "PHI",
    "Sony": "SON", "Panasonic": "PAN", "De'Longhi": "DEL", "Krups": "KRU", "Hotpoint": "HOT",
    "Brandt": "BRA", "Sauter": "SAU", "Smeg": "SME", "Wpro": "WPR", "Meliconi": "MEL",
    "Xavax": "XAV", "Finish": "FIN", "Comptoir Services": "CPT",
}  # fmt: skip
COLOUR_CODE = {
    "Blanc": "BL", "Noir": "NR", "Inox": "IX", "Gris anthracite": "GA", "Gris": "GR",
    "Rouge": "RG", "Crème": "CR", "Argent": "AR", "Bleu": "BU", "Vert": "VT",
    "Teck": "TK", "Brun": "BN",
}  # fmt: skip

# Second sentence of the description, built from the attributes a seller gets asked about.
DETAILS = {
    "Lave-linge": "Capacité {capacite_kg} kg, essorage {essorage_tr_min} tr/min, "
    "classe énergétique {classe_energie}.",
    "Sèche-linge": "Capacité {capacite_kg} kg, classe énergétique {classe_energie}.",
    "Réfrigérateurs": "Volume total {volume_l} L, classe énergétique {classe_energie}.",
    "Lave-vaisselle": "{couverts} couverts, {niveau_sonore_db} dB, largeur {largeur_cm} cm, "
    "classe énergétique {classe_energie}.",
    "Fours": "Cavité de {volume_l} L, puissance {puissance_w} W.",
    "Téléviseurs": "Écran {diagonale_pouces} pouces {technologie}, définition {resolution}, "
    "{frequence_hz} Hz.",
}


class Model(NamedTuple):
    """One model of a brand; each colour becomes its own product (own SKU, same name)."""

    code: str
    brand: str
    name: str
    price: str
    colours: tuple[str, ...]
    attrs: dict[str, Any]
    pitch: str
    surcharge: str = "0"  # added to the price of every colour after the first
    active: bool = True


def washer(kg: int, cls: str, rpm: int, load: str = "Hublot") -> dict[str, Any]:
    return {"capacite_kg": kg, "classe_energie": cls, "essorage_tr_min": rpm, "chargement": load}


def dryer(kg: int, cls: str, tech: str = "Pompe à chaleur") -> dict[str, Any]:
    return {"capacite_kg": kg, "classe_energie": cls, "technologie": tech}


def fridge(litres: int, cls: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"volume_l": litres, "classe_energie": cls, "type": kind, **extra}


def dishwasher(
    place: int, cls: str, db: int, fit: str = "Pose libre", cm: int = 60
) -> dict[str, Any]:
    return {
        "couverts": place,
        "classe_energie": cls,
        "niveau_sonore_db": db,
        "installation": fit,
        "largeur_cm": cm,
    }


def oven(litres: int, watts: int, clean: str, cls: str | None = "A") -> dict[str, Any]:
    """Microwaves carry no energy label, hence ``cls=None``."""
    attrs: dict[str, Any] = {"volume_l": litres, "puissance_w": watts, "nettoyage": clean}
    return attrs if cls is None else {**attrs, "classe_energie": cls}


def tv(inches: int, tech: str, hz: int = 50, res: str = "4K") -> dict[str, Any]:
    return {"diagonale_pouces": inches, "resolution": res, "technologie": tech, "frequence_hz": hz}


def fits(categories: list[str], brands: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """Accessory attributes; ``modeles`` holds model codes as they appear in the SKUs."""
    attrs: dict[str, Any] = {"compatible_avec": categories}
    if brands:
        attrs["marques"] = brands
    return {**attrs, **extra}


GEM = ["Lave-linge", "Sèche-linge", "Réfrigérateurs", "Lave-vaisselle", "Fours"]
WARRANTY = (
    "Pièces, main-d'œuvre et déplacement à domicile pris en charge par notre atelier lyonnais "
    "pendant 3 ans après la garantie constructeur."
)

# fmt: off
CATALOG: dict[str, list[Model]] = {
    "Lave-linge": [
        Model("WAN28", "Bosch", "Lave-linge hublot Bosch Serie 4 8 kg", "549.00", ("Blanc",), washer(8, "B", 1400), "Moteur EcoSilence Drive silencieux et fonction Rechargement pour ajouter une pièce en cours de cycle."),
        Model("WGG244", "Bosch", "Lave-linge hublot Bosch Serie 6 9 kg", "749.00", ("Blanc", "Gris anthracite"), washer(9, "A", 1400), "Dosage automatique i-DOS et programme anti-taches.", "50"),
        Model("WG44G2", "Siemens", "Lave-linge hublot Siemens iQ500 9 kg", "799.00", ("Blanc",), washer(9, "A", 1400), "Moteur iQdrive garanti 10 ans et option vapeur qui défroisse et rafraîchit."),
        Model("WWD120", "Miele", "Lave-linge hublot Miele W1 WWD 120 8 kg", "1099.00", ("Blanc",), washer(8, "A", 1400), "Tambour alvéolé qui préserve le linge, testé pour 20 ans d'utilisation."),
        Model("WWG660", "Miele", "Lave-linge hublot Miele W1 TwinDos 9 kg", "1299.00", ("Blanc",), washer(9, "A", 1400), "Dosage automatique TwinDos et pilotage depuis l'application Miele@home."),
        Model("WW90T534", "Samsung", "Lave-linge hublot Samsung EcoBubble 9 kg", "549.00", ("Blanc", "Noir"), washer(9, "A", 1400), "Technologie EcoBubble qui lave efficacement dès 20 °C.", "30"),
        Model("WW11BB944", "Samsung", "Lave-linge hublot Samsung Bespoke AI 11 kg", "899.00", ("Blanc", "Noir", "Gris anthracite"), washer(11, "A", 1400), "Dosage AI Wash et grand tambour pour les familles nombreuses.", "50"),
        Model("F94V50", "LG", "Lave-linge hublot LG Vivace 9 kg", "599.00", ("Blanc", "Gris anthracite"), washer(9, "A", 1400), "Moteur Direct Drive et lavage vapeur anti-allergènes.", "40"),
        Model("FFB8458", "Whirlpool", "Lave-linge hublot Whirlpool FreshCare+ 8 kg", "449.00", ("Blanc",), washer(8, "B", 1400), "FreshCare+ garde le linge frais jusqu'à 6 heures après la fin du cycle.", active=False),
        Model("EW6F1408", "Electrolux", "Lave-linge hublot Electrolux PerfectCare 600 8 kg", "479.00", ("Blanc",), washer(8, "A", 1400), "Pesée SensiCare qui ajuste durée et consommation d'eau à la charge."),
        Model("LR74944", "AEG", "Lave-linge hublot AEG Série 7000 ProSteam 9 kg", "849.00", ("Blanc",), washer(9, "A", 1400), "Vapeur ProSteam qui rafraîchit et défroisse sans lavage complet."),
        Model("WUE8736", "Beko", "Lave-linge hublot Beko 8 kg", "349.00", ("Blanc",), washer(8, "B", 1400), "Programme rapide 28 minutes et départ différé, un très bon rapport qualité-prix."),
        Model("HW90B14979", "Haier", "Lave-linge hublot Haier I-Pro Series 7 9 kg", "499.00", ("Blanc", "Gris anthracite"), washer(9, "A", 1400), "Moteur Direct Motion et tambour Pillow Drum doux pour le linge.", "30"),
        Model("NLCD946", "Hotpoint", "Lave-linge hublot Hotpoint ActiveCare 9 kg", "429.00", ("Blanc",), washer(9, "B", 1400), "ActiveCare élimine plus de 100 types de taches dès 20 °C."),
        Model("BT651", "Brandt", "Lave-linge top Brandt 6,5 kg", "449.00", ("Blanc",), washer(6, "C", 1200, "Top"), "Chargement par le dessus et 40 cm de large, idéal pour les petites salles de bain des immeubles anciens."),
        Model("TDLR6240", "Whirlpool", "Lave-linge top Whirlpool 6 kg", "399.00", ("Blanc",), washer(6, "C", 1200, "Top"), "Ouverture douce des volets du tambour et roulettes escamotables."),
    ],
    "Sèche-linge": [
        Model("WQG245", "Bosch", "Sèche-linge pompe à chaleur Bosch Serie 6 9 kg", "799.00", ("Blanc", "Gris anthracite"), dryer(9, "A++"), "Condenseur autonettoyant et AutoDry qui arrête le cycle dès que le linge est sec.", "50"),
        Model("WTH85", "Bosch", "Sèche-linge pompe à chaleur Bosch Serie 4 8 kg", "549.00", ("Blanc",), dryer(8, "A+"), "Programme Mix pour sécher coton et synthétique ensemble.", active=False),
        Model("WQ45G2", "Siemens", "Sèche-linge pompe à chaleur Siemens iQ500 9 kg", "849.00", ("Blanc",), dryer(9, "A++"), "Condenseur selfCleaning et programme Laine certifié Woolmark."),
        Model("TWD360", "Miele", "Sèche-linge pompe à chaleur Miele T1 8 kg", "1249.00", ("Blanc",), dryer(8, "A+++"), "Séchage doux PerfectDry et parfumage du linge FragranceDos."),
        Model("DV90T5240", "Samsung", "Sèche-linge pompe à chaleur Samsung 9 kg", "649.00", ("Blanc", "Noir"), dryer(9, "A+++"), "Capteur d'humidité Optimal Dry et fonction anti-froissage.", "30"),
        Model("RH90V9", "LG", "Sèche-linge pompe à chaleur LG Dual Inverter 9 kg", "749.00", ("Blanc", "Gris anthracite"), dryer(9, "A+++"), "Compresseur Dual Inverter économe et condenseur autonettoyant.", "40"),
        Model("EW8H4825", "Electrolux", "Sèche-linge pompe à chaleur Electrolux PerfectCare 800 8 kg", "629.00", ("Blanc",), dryer(8, "A++"), "Capteurs SensiCare qui évitent de trop sécher et de rétrécir le linge."),
        Model("EW6C4853", "Electrolux", "Sèche-linge à condensation Electrolux 8 kg", "449.00", ("Blanc",), dryer(8, "B", "Condensation"), "Sans évacuation : l'eau est recueillie dans un réservoir facile à vider."),
        Model("TR8T75", "AEG", "Sèche-linge pompe à chaleur AEG Série 8000 AbsoluteCare 8 kg", "899.00", ("Blanc",), dryer(8, "A+++"), "Programmes AbsoluteCare pour la laine, la soie et les textiles délicats."),
        Model("DH8544", "Beko", "Sèche-linge pompe à chaleur Beko 8 kg", "429.00", ("Blanc",), dryer(8, "A++"), "Tambour réversible et programme rapide 40 minutes."),
        Model("HD90A2979", "Haier", "Sèche-linge pompe à chaleur Haier I-Pro Series 7 9 kg", "599.00", ("Blanc", "Gris anthracite"), dryer(9, "A++"), "Tambour Pillow Drum et plus de 16 programmes.", "30"),
        Model("FFTM118", "Whirlpool", "Sèche-linge pompe à chaleur Whirlpool FreshCare+ 8 kg", "479.00", ("Blanc",), dryer(8, "A++"), "Mouvements de tambour FreshCare+ contre les plis et les odeurs."),
        Model("DAE8B", "Brandt", "Sèche-linge à évacuation Brandt 8 kg", "349.00", ("Blanc",), dryer(8, "C", "Évacuation"), "Évacuation par gaine, sans réservoir à vider ; gaine fournie."),
    ],
    "Réfrigérateurs": [
        Model("RB38T", "Samsung", "Réfrigérateur combiné Samsung 390 L No Frost", "649.00", ("Blanc", "Inox", "Noir"), fridge(390, "D", "Combiné", no_frost=True), "Froid ventilé All Around Cooling pour une température homogène sur chaque clayette.", "50"),
        Model("RS68A8", "Samsung", "Réfrigérateur américain Samsung 634 L distributeur d'eau", "1499.00", ("Inox", "Noir"), fridge(634, "F", "Américain", no_frost=True, distributeur_eau=True, filtre="HAF-QIN"), "Distributeur d'eau et de glaçons raccordé, filtre HAF-QIN fourni.", "100"),
        Model("RF50A", "Samsung", "Réfrigérateur multiportes Samsung 495 L", "1999.00", ("Inox",), fridge(495, "F", "Multiportes", no_frost=True, distributeur_eau=True, filtre="HAF-QIN"), "Quatre portes dont un compartiment convertible réfrigérateur ou congélateur."),
        Model("GSLV71", "LG", "Réfrigérateur américain LG 635 L distributeur d'eau", "1399.00", ("Inox", "Noir"), fridge(635, "E", "Américain", no_frost=True, distributeur_eau=True, filtre="LT800P"), "Distributeur d'eau et de glaçons raccordé, compresseur Linear Inverter garanti 10 ans.", "100"),
        Model("GBB72", "LG", "Réfrigérateur combiné LG 384 L No Frost", "749.00", ("Inox",), fridge(384, "D", "Combiné", no_frost=True), "Compresseur Inverter silencieux et bac à légumes Fresh Balancer."),
        Model("KGN39V", "Bosch", "Réfrigérateur combiné Bosch Serie 4 368 L No Frost", "799.00", ("Blanc", "Inox", "Noir"), fridge(368, "D", "Combiné", no_frost=True), "Tiroir VitaFresh qui garde fruits et légumes frais plus longtemps.", "50"),
        Model("KG36N", "Siemens", "Réfrigérateur combiné Siemens iQ300 326 L No Frost", "749.00", ("Inox",), fridge(326, "E", "Combiné", no_frost=True), "Fonction superCooling pour refroidir vite les courses du marché."),
        Model("KFN4795", "Miele", "Réfrigérateur combiné Miele 368 L No Frost", "1799.00", ("Inox",), fridge(368, "C", "Combiné", no_frost=True), "Tiroirs PerfectFresh Pro et éclairage LED, fabrication allemande."),
        Model("W7X93A", "Whirlpool", "Réfrigérateur combiné Whirlpool 367 L No Frost", "649.00", ("Blanc", "Inox"), fridge(367, "E", "Combiné", no_frost=True), "Technologie 6e Sens qui stabilise la température à l'ouverture de la porte.", "40"),
        Model("HTF520", "Haier", "Réfrigérateur multiportes Haier 4 portes 520 L", "1299.00", ("Inox", "Noir"), fridge(520, "E", "Multiportes", no_frost=True), "Tiroir My Zone à température réglable pour la viande, le poisson ou les boissons.", "100"),
        Model("RCNA406", "Beko", "Réfrigérateur combiné Beko 362 L No Frost", "499.00", ("Blanc", "Inox"), fridge(362, "E", "Combiné", no_frost=True), "Bac HarvestFresh qui préserve les vitamines des fruits et légumes.", "40"),
        Model("FAB28", "Smeg", "Réfrigérateur 1 porte vintage Smeg FAB28 270 L", "1199.00", ("Crème", "Rouge", "Noir"), fridge(270, "D", "1 porte", no_frost=False), "Le design années 50 emblématique de Smeg, avec compartiment freezer 4 étoiles."),
        Model("BDF5201", "Brandt", "Réfrigérateur 2 portes Brandt 206 L", "449.00", ("Blanc",), fridge(206, "E", "2 portes", no_frost=False), "Congélateur en haut et dégivrage automatique du réfrigérateur."),
        Model("TSE1284", "Beko", "Réfrigérateur table top Beko 114 L", "229.00", ("Blanc",), fridge(114, "E", "Table top", no_frost=False), "84 cm de haut seulement, parfait en studio ou en appoint."),
    ],
    "Lave-vaisselle": [
        Model("SMS4H", "Bosch", "Lave-vaisselle pose libre Bosch Serie 4 13 couverts", "549.00", ("Blanc", "Inox"), dishwasher(13, "D", 44), "Option Extra Sec et connexion Home Connect.", "50"),
        Model("SMV6Z", "Bosch", "Lave-vaisselle tout intégrable Bosch Serie 6 14 couverts", "899.00", ("Noir",), dishwasher(14, "B", 42, "Tout intégrable"), "Séchage Zeolith et projection au sol TimeLight du temps restant."),
        Model("SN23H", "Siemens", "Lave-vaisselle pose libre Siemens iQ300 13 couverts", "599.00", ("Blanc", "Inox"), dishwasher(13, "D", 44), "Programme rapide 1 h à 65 °C et tiroir à couverts.", "40"),
        Model("G5210SC", "Miele", "Lave-vaisselle pose libre Miele G 5210 SC 14 couverts", "899.00", ("Blanc",), dishwasher(14, "C", 44), "Tiroir à couverts 3D et programme QuickPowerWash en 58 minutes."),
        Model("G7110SC", "Miele", "Lave-vaisselle pose libre Miele AutoDos 14 couverts", "1249.00", ("Blanc", "Inox"), dishwasher(14, "B", 43), "Dosage automatique AutoDos avec PowerDisk intégré.", "100"),
        Model("DW60A6092", "Samsung", "Lave-vaisselle pose libre Samsung 14 couverts", "499.00", ("Inox",), dishwasher(14, "E", 44), "Panier supérieur réglable en hauteur et zone intensive."),
        Model("DF455", "LG", "Lave-vaisselle pose libre LG QuadWash 14 couverts", "649.00", ("Inox", "Noir"), dishwasher(14, "D", 42), "Bras de lavage QuadWash et lavage vapeur TrueSteam.", "50"),
        Model("WFC3C33", "Whirlpool", "Lave-vaisselle pose libre Whirlpool 14 couverts", "449.00", ("Blanc",), dishwasher(14, "E", 46), "Capteurs 6e Sens qui adaptent l'eau et la température à la vaisselle."),
        Model("EEM48321L", "Electrolux", "Lave-vaisselle tout intégrable Electrolux 14 couverts", "799.00", ("Noir",), dishwasher(14, "D", 44, "Tout intégrable"), "Bras satellite et panier à couverts MaxiFlex."),
        Model("FFB73", "AEG", "Lave-vaisselle pose libre AEG Série 7000 AirDry 14 couverts", "699.00", ("Inox",), dishwasher(14, "D", 44), "Ouverture automatique de la porte AirDry pour un séchage naturel."),
        Model("DVN05", "Beko", "Lave-vaisselle pose libre Beko 13 couverts", "399.00", ("Blanc",), dishwasher(13, "E", 47), "Programme rapide 30 minutes et départ différé."),
        Model("DFS05", "Beko", "Lave-vaisselle 45 cm Beko 10 couverts", "349.00", ("Blanc", "Argent"), dishwasher(10, "E", 47, cm=45), "Format 45 cm pour les cuisines étroites.", "30"),
        Model("HFC3C26", "Hotpoint", "Lave-vaisselle pose libre Hotpoint 14 couverts", "379.00", ("Blanc",), dishwasher(14, "E", 46), "Option Turbo pour les casseroles et panier à couverts rabattable."),
    ],
    "Fours": [
        Model("HBA574", "Bosch", "Four encastrable pyrolyse Bosch Serie 6 71 L", "599.00", ("Inox", "Noir"), oven(71, 3600, "Pyrolyse"), "Chaleur tournante 3D sur quatre niveaux et rails télescopiques.", "50"),
        Model("HBG7741", "Bosch", "Four encastrable pyrolyse Bosch Serie 8 71 L", "1199.00", ("Noir",), oven(71, 3600, "Pyrolyse", "A+"), "Sonde de cuisson et programmes automatiques AutoPilot."),
        Model("HB578", "Siemens", "Four encastrable pyrolyse Siemens iQ500 71 L", "899.00", ("Inox",), oven(71, 3600, "Pyrolyse"), "Préchauffage rapide coolStart, sans préchauffer pour les surgelés."),
        Model("H2265BP", "Miele", "Four encastrable pyrolyse Miele 76 L", "1099.00", ("Inox", "Noir"), oven(76, 3500, "Pyrolyse", "A+"), "Porte froide CleanGlass et programmes automatiques."),
        Model("NV7B", "Samsung", "Four encastrable pyrolyse Samsung Dual Cook 76 L", "549.00", ("Noir", "Inox"), oven(76, 3950, "Pyrolyse", "A+"), "Porte Dual Cook pour cuire deux plats à deux températures.", "30"),
        Model("AKZ96230", "Whirlpool", "Four encastrable pyrolyse Whirlpool 73 L", "449.00", ("Inox",), oven(73, 3650, "Pyrolyse", "A+"), "Fonction 6e Sens qui règle seule temps et température."),
        Model("BPE535", "AEG", "Four encastrable vapeur AEG SteamBake 71 L", "649.00", ("Inox",), oven(71, 3500, "Pyrolyse", "A+"), "Ajout de vapeur en début de cuisson pour un pain croustillant."),
        Model("SOP6212", "Sauter", "Four encastrable pyrolyse Sauter 73 L", "499.00", ("Noir", "Blanc"), oven(73, 3400, "Pyrolyse"), "Tournebroche et porte froide, marque française du groupe Brandt."),
        Model("BXP6332", "Brandt", "Four encastrable pyrolyse Brandt 73 L", "529.00", ("Noir", "Inox"), oven(73, 3400, "Pyrolyse"), "Fabriqué en France, à Vendôme, avec cuisson basse température.", "30"),
        Model("BBIM12300", "Beko", "Four encastrable multifonction Beko 71 L", "329.00", ("Inox",), oven(71, 2400, "Hydrolyse"), "Nettoyage par hydrolyse et huit modes de cuisson."),
        Model("NNCD87", "Panasonic", "Four micro-ondes combiné Panasonic 34 L", "349.00", ("Noir", "Argent"), oven(34, 1000, "Émail", cls=None), "Micro-ondes Inverter, gril et chaleur tournante réunis dans un seul appareil."),
        Model("MG23K3515", "Samsung", "Micro-ondes grill Samsung 23 L", "139.00", ("Noir", "Blanc"), oven(23, 800, "Céramique", cls=None), "Cavité céramique facile à nettoyer et fonction maintien au chaud."),
    ],
    "Petit électroménager": [
        Model("ECAM22110", "De'Longhi", "Machine à café broyeur De'Longhi Magnifica S", "399.00", ("Noir", "Argent"), {"type": "Machine à café broyeur", "pression_bar": 15, "reservoir_l": 1.8}, "Café en grains moulu à la tasse et buse vapeur pour le cappuccino.", "30"),
        Model("EC685", "De'Longhi", "Expresso De'Longhi Dedica", "199.00", ("Noir", "Rouge", "Argent"), {"type": "Machine à expresso", "pression_bar": 15, "reservoir_l": 1.1}, "Seulement 15 cm de large et prêt en 40 secondes."),
        Model("EA895", "Krups", "Machine à café broyeur Krups Evidence", "649.00", ("Noir",), {"type": "Machine à café broyeur", "pression_bar": 15, "reservoir_l": 2.3}, "Écran tactile et 21 recettes, du ristretto au latte macchiato."),
        Model("XN910", "Krups", "Nespresso Vertuo Next Krups", "129.00", ("Noir", "Rouge", "Gris"), {"type": "Machine à capsules", "reservoir_l": 1.1}, "Cinq tailles de tasse, de l'espresso au grand mug."),
        Model("EP2221", "Philips", "Machine à café broyeur Philips Série 2200", "349.00", ("Noir",), {"type": "Machine à café broyeur", "pression_bar": 15, "reservoir_l": 1.8}, "Filtre AquaClean : jusqu'à 5 000 tasses sans détartrage."),
        Model("EQ6S100", "Siemens", "Machine à café broyeur Siemens EQ.6 plus s100", "899.00", ("Noir",), {"type": "Machine à café broyeur", "pression_bar": 19, "reservoir_l": 1.7}, "Deux boissons lactées en même temps et système de nettoyage automatique."),
        Model("CM5310", "Miele", "Machine à café broyeur Miele CM 5310 Silence", "999.00", ("Noir", "Blanc"), {"type": "Machine à café broyeur", "pression_bar": 15, "reservoir_l": 1.3}, "Broyeur silencieux et réglage de l'aromatique AromaticSystem."),
        Model("XFORCE1260", "Rowenta", "Aspirateur balai Rowenta X-Force Flex 12.60", "449.00", ("Noir",), {"type": "Aspirateur balai", "autonomie_min": 70, "sans_fil": True}, "Tube flexible pour passer sous les meubles sans se baisser."),
        Model("RO7473", "Rowenta", "Aspirateur traîneau sans sac Rowenta Silence Force", "249.00", ("Rouge", "Noir"), {"type": "Aspirateur traîneau", "niveau_sonore_db": 67, "sans_fil": False}, "Très silencieux, pour passer l'aspirateur le soir sans gêner les voisins."),
        Model("VSJ75", "Samsung", "Aspirateur balai Samsung Jet 75", "399.00", ("Bleu",), {"type": "Aspirateur balai", "autonomie_min": 60, "sans_fil": True}, "Batterie amovible et station de vidage en option."),
        Model("BCS71", "Bosch", "Aspirateur balai Bosch Unlimited 7", "299.00", ("Blanc",), {"type": "Aspirateur balai", "autonomie_min": 40, "sans_fil": True}, "Batterie Power for ALL compatible avec l'outillage Bosch."),
        Model("C3", "Miele", "Aspirateur traîneau Miele Complete C3", "329.00", ("Rouge", "Noir", "Bleu"), {"type": "Aspirateur traîneau", "niveau_sonore_db": 72, "sans_fil": False}, "Aspirateur avec sac, filtre HEPA, idéal en cas d'allergies."),
        Model("KLF03", "Smeg", "Bouilloire Smeg années 50 1,7 L", "169.00", ("Crème", "Rouge", "Noir"), {"type": "Bouilloire", "capacite_l": 1.7, "puissance_w": 2400}, "Corps en inox laqué et socle pivotant à 360°."),
        Model("BY540", "Moulinex", "Bouilloire Moulinex Subito 1,7 L", "34.99", ("Blanc", "Noir"), {"type": "Bouilloire", "capacite_l": 1.7, "puissance_w": 2400}, "Filtre anticalcaire amovible et indicateur de niveau d'eau."),
        Model("KBOV2001", "De'Longhi", "Bouilloire De'Longhi Icona Vintage 1,7 L", "79.99", ("Crème", "Vert", "Bleu"), {"type": "Bouilloire", "capacite_l": 1.7, "puissance_w": 2000}, "Look rétro chromé, assorti au grille-pain Icona Vintage."),
        Model("HD9350", "Philips", "Bouilloire inox Philips Série 5000 1,7 L", "49.99", ("Inox",), {"type": "Bouilloire", "capacite_l": 1.7, "puissance_w": 2200}, "Ouverture du couvercle en douceur et arrêt automatique."),
        Model("TSF01", "Smeg", "Grille-pain Smeg années 50 2 fentes", "169.00", ("Crème", "Rouge", "Noir"), {"type": "Grille-pain", "fentes": 2, "puissance_w": 950}, "Six niveaux de brunissage et fonctions décongélation et bagel."),
        Model("CTOV2103", "De'Longhi", "Grille-pain De'Longhi Icona Vintage 2 fentes", "69.99", ("Crème", "Vert", "Bleu"), {"type": "Grille-pain", "fentes": 2, "puissance_w": 900}, "Assorti à la bouilloire Icona Vintage, avec réchauffe-viennoiseries."),
        Model("LT3408", "Moulinex", "Grille-pain Moulinex Subito 2 fentes", "39.99", ("Blanc", "Noir"), {"type": "Grille-pain", "fentes": 2, "puissance_w": 850}, "Fentes larges pour le pain de campagne et sept positions de brunissage."),
        Model("HD2581", "Philips", "Grille-pain Philips Daily 2 fentes", "34.99", ("Blanc",), {"type": "Grille-pain", "fentes": 2, "puissance_w": 830}, "Réchauffe-viennoiseries intégré et tiroir ramasse-miettes.", active=False),
        Model("HF934510", "Moulinex", "Robot cuiseur Moulinex i-Companion Touch XL", "799.00", ("Noir",), {"type": "Robot cuiseur", "capacite_l": 3, "puissance_w": 1550}, "Plus de 1 000 recettes guidées sur l'écran tactile et l'application."),
        Model("MUM5", "Bosch", "Robot pâtissier Bosch MUM5 1000 W", "299.00", ("Blanc", "Argent"), {"type": "Robot pâtissier", "capacite_l": 3.9, "puissance_w": 1000}, "Bol inox de 3,9 L et mouvement planétaire 3D.", "30"),
        Model("QA5", "Moulinex", "Robot pâtissier Moulinex Masterchef Gourmet", "249.00", ("Argent", "Rouge"), {"type": "Robot pâtissier", "capacite_l": 4.6, "puissance_w": 1100}, "Livré avec hachoir et blender pour les pâtes, les hachis et les smoothies."),
        Model("DW5322", "Rowenta", "Fer à repasser vapeur Rowenta Focus Excel", "69.99", ("Bleu",), {"type": "Fer à repasser", "puissance_w": 2700, "defroissage_g": 210}, "Semelle Microsteam 400 et système anticalcaire intégré."),
        Model("GV9720", "Calor", "Centrale vapeur Calor Pro Express Ultimate", "399.00", ("Noir",), {"type": "Centrale vapeur", "pression_bar": 8, "defroissage_g": 650}, "Collecteur de calcaire et vapeur puissante pour repasser en un seul passage."),
        Model("GC9660", "Philips", "Centrale vapeur Philips PerfectCare 8000", "299.00", ("Bleu",), {"type": "Centrale vapeur", "pression_bar": 7.5, "defroissage_g": 600}, "Sans réglage de température : aucun risque de brûler le linge."),
        Model("YV9708", "SEB", "Friteuse sans huile SEB Actifry Genius XL", "249.00", ("Noir",), {"type": "Friteuse sans huile", "capacite_kg": 1.7, "puissance_w": 1500}, "Une cuillère d'huile pour 1,7 kg de frites, par le groupe SEB d'Écully."),
        Model("RE3105", "SEB", "Appareil à raclette SEB 8 personnes", "79.99", ("Noir",), {"type": "Raclette", "personnes": 8, "puissance_w": 1050}, "Plaque grill réversible, pour les soirées raclette de l'hiver."),
    ],
    "Téléviseurs": [
        Model("UE32T4305", "Samsung", "TV LED Samsung HD 80 cm", "299.00", ("Noir",), tv(32, "LED", res="HD"), "Smart TV Tizen compacte pour une chambre ou une cuisine."),
        Model("UE55CU7105", "Samsung", "TV LED Samsung Crystal UHD 139 cm", "499.00", ("Noir",), tv(55, "LED"), "Processeur Crystal 4K et compatibilité HDR10+."),
        Model("UE65CU7105", "Samsung", "TV LED Samsung Crystal UHD 164 cm", "699.00", ("Noir",), tv(65, "LED"), "Grand écran 4K à petit prix, avec AirSlim."),
        Model("QE65Q80C", "Samsung", "TV QLED Samsung Q80C 164 cm", "1299.00", ("Noir",), tv(65, "QLED", 100), "Rétroéclairage Full Array et 100 Hz pour le sport et les jeux."),
        Model("QE75QN90C", "Samsung", "TV Neo QLED Samsung QN90C 189 cm", "2499.00", ("Noir",), tv(75, "Neo QLED", 120), "Mini LED très lumineux et traitement antireflet."),
        Model("QE55LS03B", "Samsung", "TV QLED Samsung The Frame 139 cm", "1199.00", ("Noir",), tv(55, "QLED", 100), "Mode Art qui affiche des tableaux quand la TV est éteinte, cadre interchangeable."),
        Model("43UR78", "LG", "TV LED LG UHD 108 cm", "379.00", ("Noir",), tv(43, "LED"), "Smart TV webOS avec Magic Remote."),
        Model("OLED55C3", "LG", "TV OLED LG C3 139 cm", "1499.00", ("Noir",), tv(55, "OLED", 120), "Noirs parfaits et quatre ports HDMI 2.1 pour les consoles."),
        Model("OLED65C3", "LG", "TV OLED LG C3 164 cm", "2199.00", ("Noir",), tv(65, "OLED", 120), "Noirs parfaits et quatre ports HDMI 2.1 pour les consoles."),
        Model("XR65A80L", "Sony", "TV OLED Sony Bravia XR A80L 164 cm", "2199.00", ("Noir",), tv(65, "OLED", 100), "Processeur Cognitive XR et son émis par l'écran."),
        Model("KD50X75WL", "Sony", "TV LED Sony Bravia X75WL 126 cm", "649.00", ("Noir",), tv(50, "LED"), "Google TV et Chromecast intégré."),
        Model("KD55X85K", "Sony", "TV LED Sony Bravia X85K 139 cm", "899.00", ("Noir",), tv(55, "LED", 100), "Dalle 100 Hz et processeur 4K HDR X1.", active=False),
        Model("55PUS8508", "Philips", "TV LED Philips Ambilight 139 cm", "599.00", ("Gris anthracite",), tv(55, "LED", 60), "Ambilight sur trois côtés qui prolonge l'image sur le mur."),
        Model("65OLED808", "Philips", "TV OLED Philips Ambilight OLED808 164 cm", "1999.00", ("Argent",), tv(65, "OLED", 120), "Ambilight quatre côtés et dalle OLED EX."),
        Model("TX55MZ800", "Panasonic", "TV OLED Panasonic MZ800 139 cm", "1299.00", ("Noir",), tv(55, "OLED", 100), "Calibrée à Hollywood, mode Filmmaker pour le cinéma."),
        Model("TX43MX600", "Panasonic", "TV LED Panasonic MX600 108 cm", "399.00", ("Noir",), tv(43, "LED"), "Fire TV intégré et HDR Dolby Vision."),
    ],
    "Accessoires": [
        Model("WTZ27400", "Bosch", "Kit de superposition Bosch avec tablette", "39.90", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["Bosch", "Siemens"], modeles=["WAN28", "WGG244", "WG44G2", "WQG245", "WTH85", "WQ45G2"]), "Pour installer le sèche-linge sur le lave-linge, avec tablette coulissante pour poser le panier."),
        Model("SKKDD", "Samsung", "Kit de superposition Samsung", "44.90", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["Samsung"], modeles=["WW90T534", "WW11BB944", "DV90T5240"]), "Fixe un sèche-linge Samsung au-dessus d'un lave-linge Samsung de 60 cm."),
        Model("DSTWH", "LG", "Kit de superposition LG", "49.90", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["LG"], modeles=["F94V50", "RH90V9"]), "Kit d'empilage d'origine LG pour lave-linge et sèche-linge de 60 cm."),
        Model("WTV417", "Miele", "Kit de superposition Miele", "89.00", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["Miele"], modeles=["WWD120", "WWG660", "TWD360"]), "Colonne lavage-séchage Miele stable, sans perçage."),
        Model("SKP11", "Electrolux", "Kit de superposition Electrolux et AEG avec tablette", "39.90", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["Electrolux", "AEG"], modeles=["EW6F1408", "LR74944", "EW8H4825", "EW6C4853", "TR8T75"]), "Tablette coulissante incluse pour plier le linge à hauteur."),
        Model("SKS101", "Wpro", "Kit de superposition universel Wpro avec tablette", "34.90", ("Blanc",), fits(["Lave-linge", "Sèche-linge"], ["Whirlpool", "Hotpoint", "Beko", "Haier"], modeles=["FFB8458", "FFTM118", "NLCD946", "WUE8736", "DH8544", "HW90B14979", "HD90A2979"]), "Convient à la plupart des appareils de 60 cm de large et 50 à 60 cm de profondeur."),
        Model("HAFQIN", "Samsung", "Filtre à eau Samsung HAF-QIN pour réfrigérateur américain", "34.90", (), fits(["Réfrigérateurs"], ["Samsung"], modeles=["RS68A8", "RF50A"]), "Filtre d'origine à changer tous les six mois pour une eau et des glaçons sans goût de chlore."),
        Model("LT800P", "LG", "Filtre à eau LG LT800P pour réfrigérateur américain", "39.90", (), fits(["Réfrigérateurs"], ["LG"], modeles=["GSLV71"]), "Filtre d'origine LG, à remplacer tous les six mois."),
        Model("USC100", "Wpro", "Filtre à eau externe universel Wpro", "29.90", (), fits(["Réfrigérateurs"], ["Samsung", "LG", "Haier", "Whirlpool"], type="Externe"), "Se monte sur l'arrivée d'eau de tout réfrigérateur américain raccordé."),
        Model("ANT001", "Wpro", "Filtre anti-odeurs Wpro pour réfrigérateur", "12.90", (), fits(["Réfrigérateurs"]), "Absorbe les odeurs de fromage et de charcuterie pendant six mois."),
        Model("DES100", "Wpro", "Détartrant lave-linge et lave-vaisselle Wpro", "9.99", (), fits(["Lave-linge", "Lave-vaisselle"]), "Un traitement par mois protège résistances et joints du calcaire de l'eau lyonnaise."),
        Model("ECODECALK", "De'Longhi", "Détartrant De'Longhi EcoDecalk 500 ml", "14.90", (), fits(["Petit électroménager"], ["De'Longhi"], modeles=["ECAM22110", "EC685"]), "Détartrant d'origine végétale, cinq détartrages par flacon."),
        Model("F054", "Krups", "Détartrant Krups pour machine à café", "9.99", (), fits(["Petit électroménager"], ["Krups"], modeles=["EA895", "XN910"]), "Deux sachets, pour préserver le goût du café et la durée de vie de la machine."),
        Model("CA6700", "Philips", "Détartrant Philips pour machine à café", "12.90", (), fits(["Petit électroménager"], ["Philips"], modeles=["EP2221"]), "Deux détartrages pour les machines expresso Philips et Saeco."),
        Model("DLSC002", "De'Longhi", "Filtre à eau De'Longhi pour machine à café", "14.90", (), fits(["Petit électroménager"], ["De'Longhi"], modeles=["ECAM22110"]), "Réduit le calcaire et améliore le goût du café, à changer tous les deux mois."),
        Model("F088", "Krups", "Cartouche filtrante Krups Claris", "12.90", (), fits(["Petit électroménager"], ["Krups"], modeles=["EA895"]), "Espace les détartrages et préserve les arômes."),
        Model("SS400S", "Meliconi", "Support mural TV fixe Meliconi Slim Style 400 S", "49.90", ("Noir",), fits(["Téléviseurs"], diagonale_min=32, diagonale_max=65, vesa_max="400x400"), "Plaque extra-plate à 2 cm du mur, pour TV de 32 à 65 pouces."),
        Model("SS400ST", "Meliconi", "Support mural TV inclinable Meliconi Slim Style 400 ST", "69.90", ("Noir",), fits(["Téléviseurs"], diagonale_min=32, diagonale_max=65, vesa_max="400x400"), "Inclinable de 15° pour une TV fixée en hauteur, de 32 à 65 pouces."),
        Model("SS600SDR", "Meliconi", "Support mural TV orientable Meliconi Slim Style 600 SDR", "129.00", ("Noir",), fits(["Téléviseurs"], diagonale_min=40, diagonale_max=82, vesa_max="600x400"), "Bras articulé orientable et inclinable pour les grands écrans de 40 à 82 pouces."),
        Model("HDMI2115", "Meliconi", "Câble HDMI 2.1 8K Meliconi 1,5 m", "14.90", ("Noir",), fits(["Téléviseurs"], longueur_m=1.5, norme="HDMI 2.1"), "48 Gbit/s pour le 4K 120 Hz des consoles et le 8K."),
        Model("HDMI213", "Meliconi", "Câble HDMI 2.1 8K Meliconi 3 m", "19.90", ("Noir",), fits(["Téléviseurs"], longueur_m=3, norme="HDMI 2.1"), "48 Gbit/s pour le 4K 120 Hz des consoles et le 8K."),
        Model("VG55LS03", "Samsung", "Cadre interchangeable Samsung The Frame 55 pouces", "119.00", ("Blanc", "Teck", "Brun"), fits(["Téléviseurs"], ["Samsung"], modeles=["QE55LS03B"]), "Cadre magnétique qui se clipse sur The Frame 55 pouces pour l'assortir à la pièce."),
        Model("AVF4", "Xavax", "Pieds anti-vibration Xavax pour lave-linge (lot de 4)", "14.90", (), fits(["Lave-linge", "Sèche-linge"]), "Réduisent bruit et vibrations à l'essorage, appréciés en appartement."),
        Model("AVM100", "Wpro", "Tapis anti-vibration Wpro pour lave-linge", "19.90", (), fits(["Lave-linge", "Sèche-linge"]), "Tapis 60 x 60 cm qui empêche l'appareil de se déplacer à l'essorage."),
        Model("QUANTUM60", "Finish", "Tablettes lave-vaisselle Finish Quantum Ultimate (x60)", "17.90", (), fits(["Lave-vaisselle"]), "Tablettes tout-en-un efficaces contre les graisses cuites, même en cycle court."),
        Model("TAB40", "Wpro", "Tablettes lave-vaisselle tout-en-un Wpro (x40)", "9.90", (), fits(["Lave-vaisselle"]), "Lavage, rinçage et protection du verre en une seule tablette."),
        Model("POWERDISK", "Miele", "Recharges PowerDisk Miele pour AutoDos (x3)", "19.90", (), fits(["Lave-vaisselle"], ["Miele"], modeles=["G7110SC"]), "Environ 20 lavages par disque, dosés automatiquement par AutoDos."),
        Model("ULTRAPHASE", "Miele", "Lessive Miele UltraPhase 1 et 2 pour TwinDos", "29.90", (), fits(["Lave-linge"], ["Miele"], modeles=["WWG660"]), "Les deux phases de lessive dosées automatiquement par TwinDos."),
        Model("GNHYCLEAN", "Miele", "Sacs aspirateur Miele HyClean 3D GN (x4)", "17.90", (), fits(["Petit électroménager"], ["Miele"], modeles=["C3"]), "Sacs d'origine avec filtres moteur et d'évacuation fournis."),
        Model("EG3GEM1", "Comptoir Services", "Extension de garantie 3 ans - gros électroménager jusqu'à 500 €", "49.00", (), fits(GEM, prix_appareil_max=500, duree_ans=3, service=True), WARRANTY),
        Model("EG3GEM2", "Comptoir Services", "Extension de garantie 3 ans - gros électroménager de 500 à 1 000 €", "89.00", (), fits(GEM, prix_appareil_min=500, prix_appareil_max=1000, duree_ans=3, service=True), WARRANTY),
        Model("EG3GEM3", "Comptoir Services", "Extension de garantie 3 ans - gros électroménager plus de 1 000 €", "149.00", (), fits(GEM, prix_appareil_min=1000, duree_ans=3, service=True), WARRANTY),
        Model("EG3TV1", "Comptoir Services", "Extension de garantie 3 ans - téléviseur jusqu'à 1 000 €", "69.00", (), fits(["Téléviseurs"], prix_appareil_max=1000, duree_ans=3, service=True), WARRANTY),
        Model("EG3TV2", "Comptoir Services", "Extension de garantie 3 ans - téléviseur plus de 1 000 €", "119.00", (), fits(["Téléviseurs"], prix_appareil_min=1000, duree_ans=3, service=True), WARRANTY),
        Model("EG3PEM", "Comptoir Services", "Extension de garantie 3 ans - petit électroménager plus de 150 €", "49.00", (), fits(["Petit électroménager"], prix_appareil_min=150, duree_ans=3, service=True), WARRANTY),
    ],
}
# fmt: on

# (floor, backroom, warehouse) upper bounds: big items sit one on display and a few in the back.
STOCK_MAX = {"big": (3, 5, 20), "small": (6, 10, 40), "accessory": (20, 30, 100)}
OUT_OF_STOCK = 4  # active products with nothing anywhere
LAST_UNIT = 5  # active products with exactly one unit left


def _sku(category: str, model: Model, colour: str) -> str:
    parts = [
        PREFIX[category],
        BRAND_CODE[model.brand],
        re.sub(r"[^A-Z0-9]", "", model.code.upper()),
    ]
    if colour:
        parts.append(COLOUR_CODE[colour])
    sku = "-".join(parts)
    assert SKU_RE.match(sku), sku
    return sku


def ean13(body12: str) -> str:
    """``body12`` followed by its GS1 check digit (same rule as store_api.catalog.gtin)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body12)))
    return body12 + str((10 - total % 10) % 10)


def _stock(category: str, rng: random.Random) -> list[int]:
    """Random levels that never add up to less than 2, so the special cases stay countable."""
    kind = "big" if category in (*BIG, "Téléviseurs") else "small"
    if category == "Accessoires":
        kind = "accessory"
    floor_max, back_max, wh_max = STOCK_MAX[kind]
    while True:
        levels = [rng.randint(0, floor_max), rng.randint(0, back_max), rng.randint(0, wh_max)]
        if sum(levels) >= 2:
            return levels


def build_rows(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """One dict per product, in catalog order, with stock drawn from ``seed``."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    for category, models in CATALOG.items():
        for model in models:
            detail = DETAILS.get(category, "").format_map(model.attrs)
            description = f"{model.pitch} {detail}".strip()
            for i, colour in enumerate(model.colours or ("",)):
                price = Decimal(model.price) + (Decimal(model.surcharge) if i else 0)
                sku = _sku(category, model, colour)
                if model.attrs.get("service"):
                    stock = [0, 0, 0]  # a warranty is sold, never shelved
                elif not model.active:
                    stock = [rng.choice((0, 1)), 0, 0]  # at most the old display unit
                else:
                    stock = _stock(category, rng)
                rows.append(
                    {
                        "sku": sku,
                        "gtin": ean13(f"20{GTIN_BASE + len(rows) + 1:010d}"),
                        "name": model.name,
                        "description": description,
                        "brand": model.brand,
                        "category": category,
                        "colour": colour,
                        "price": f"{price:.2f}",
                        "image_url": f"{IMAGE_BASE}/{sku.lower()}.jpg",
                        "attributes": json.dumps(
                            model.attrs, ensure_ascii=False, separators=(",", ":")
                        ),
                        "active": "true" if model.active else "false",
                        "stock_floor": stock[0],
                        "stock_backroom": stock[1],
                        "stock_warehouse": stock[2],
                    }
                )
    _add_shortages(rows, rng)
    _check(rows)
    return rows


def _add_shortages(rows: list[dict[str, Any]], rng: random.Random) -> None:
    """Empty a few products and leave one unit of a few others, for stock-alert demos."""
    stocked = [
        r for r in rows if r["active"] == "true" and not json.loads(r["attributes"]).get("service")
    ]
    picked = rng.sample(stocked, OUT_OF_STOCK + LAST_UNIT)
    locations = ("stock_floor", "stock_backroom", "stock_warehouse")
    for n, row in enumerate(picked):
        for loc in locations:
            row[loc] = 0
        if n >= OUT_OF_STOCK:
            row[rng.choice(locations)] = 1


def _check(rows: list[dict[str, Any]]) -> None:
    """Fail loudly on duplicate SKUs or accessories pointing at models that do not exist."""
    skus = [r["sku"] for r in rows]
    assert len(skus) == len(set(skus)), "duplicate SKU"
    gtins = [r["gtin"] for r in rows]
    assert len(gtins) == len(set(gtins)), "duplicate GTIN"
    codes = {m.code for models in CATALOG.values() for m in models}
    for row in rows:
        missing = set(json.loads(row["attributes"]).get("modeles", ())) - codes
        assert not missing, (row["sku"], missing)


def write_csv(rows: list[dict[str, Any]], out: Path) -> None:
    # "\n" line endings keep the file byte-identical across platforms and readable in git diffs.
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="CSV file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed for stock levels")
    args = parser.parse_args(argv)
    rows = build_rows(args.seed)
    write_csv(rows, args.out)
    print(f"{len(rows)} products written to {args.out}")


if __name__ == "__main__":
    main()
