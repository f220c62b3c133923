"""Ledger models: the order flow and the logistics flow (money flow to come)."""

from ledger.models.logistics import ReceiptLine, ReturnLine, Shipment, ShipmentLine
from ledger.models.money import (
    Account,
    AccountPurpose,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceLineStatus,
    JournalEntry,
    Posting,
)
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
    "Account",
    "AccountPurpose",
    "DistributionAuthorization",
    "Invoice",
    "InvoiceKind",
    "InvoiceLine",
    "InvoiceLineStatus",
    "JournalEntry",
    "Listing",
    "ListingMode",
    "ListingStatus",
    "OffPlatformPurchase",
    "Order",
    "OrderLine",
    "OrderLineStatus",
    "OrderStatus",
    "Posting",
    "PurchaseCategory",
    "ReceiptLine",
    "ReferencePrice",
    "ReturnLine",
    "Shipment",
    "ShipmentLine",
    "Urgency",
]
