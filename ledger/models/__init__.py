"""Ledger models: the order flow and the logistics flow (money flow to come)."""

from ledger.models.logistics import ReceiptLine, ReturnLine, Shipment, ShipmentLine
from ledger.models.orders import (
    DistributionAuthorization,
    Listing,
    ListingMode,
    ListingStatus,
    OffPlatformPurchase,
    Order,
    OrderLine,
    OrderLineStatus,
    OrderStatus,
    PurchaseCategory,
    ReferencePrice,
    Urgency,
)

__all__ = [
    "DistributionAuthorization",
    "Listing",
    "ListingMode",
    "ListingStatus",
    "OffPlatformPurchase",
    "Order",
    "OrderLine",
    "OrderLineStatus",
    "OrderStatus",
    "PurchaseCategory",
    "ReceiptLine",
    "ReferencePrice",
    "ReturnLine",
    "Shipment",
    "ShipmentLine",
    "Urgency",
]
