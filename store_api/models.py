"""Import every model so that ``Base.metadata`` knows all tables (Alembic, tests)."""

from store_api.analytics.models import (
    DailyFee,
    DailyProduct,
    DailyProductTotal,
    DailySearch,
    DailyVisits,
    PurchaseTime,
    RollupState,
    VisitFacts,
    VisitProduct,
    VisitSearch,
    VisitSwap,
)
from store_api.catalog.models import CategorySheet, Product, ProductSheet
from store_api.clickstream.models import ClickEvent, Visit, VisitorSalt
from store_api.dashboard.models import DashboardSession
from store_api.events.models import Event, EventCounter
from store_api.idempotency import IdempotentRequest
from store_api.keys.models import ApiKey
from store_api.orders.models import Order, OrderLine
from store_api.recommendations.models import RecommendationEvent
from store_api.search.models import SearchDay, SearchState, Synonym
from store_api.sensors.models import DeadLetter, SensorDevice, SensorEvent, SeqGap
from store_api.shelves.models import (
    DiscrepancyFeed,
    HelpAlert,
    LabelFeed,
    LabelState,
    Lane,
    ShelfDiscrepancy,
    ShelfMovement,
    Zone,
)
from store_api.stock.models import Reservation, StockLevel, StockMovement
from store_api.suppliers.models import FeedImport, Supplier, SupplierOffer
from store_api.tablets.models import PairingAttempt, PairingCode, Tablet
from store_api.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "ApiKey",
    "CategorySheet",
    "ClickEvent",
    "DailyFee",
    "DailyProduct",
    "DailyProductTotal",
    "DailySearch",
    "DailyVisits",
    "DashboardSession",
    "DeadLetter",
    "DiscrepancyFeed",
    "Event",
    "EventCounter",
    "FeedImport",
    "HelpAlert",
    "IdempotentRequest",
    "LabelFeed",
    "LabelState",
    "Lane",
    "Order",
    "OrderLine",
    "PairingAttempt",
    "PairingCode",
    "Product",
    "ProductSheet",
    "PurchaseTime",
    "RecommendationEvent",
    "Reservation",
    "RollupState",
    "SearchDay",
    "SearchState",
    "SensorDevice",
    "SensorEvent",
    "SeqGap",
    "ShelfDiscrepancy",
    "ShelfMovement",
    "StockLevel",
    "StockMovement",
    "Supplier",
    "SupplierOffer",
    "Synonym",
    "Tablet",
    "Visit",
    "VisitFacts",
    "VisitProduct",
    "VisitSearch",
    "VisitSwap",
    "VisitorSalt",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Zone",
]
