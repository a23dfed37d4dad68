"""Supplier adapters: one module per kind, all behind workers/suppliers/base.py."""

from __future__ import annotations

from importlib import import_module

import requests
from flask_babel import lazy_gettext as _l

from .base import (
    ACCEPTED,
    CANCELED,
    FAILED,
    OUTCOMES,
    REJECTED,
    SHIPPED,
    SUBMITTED,
    CannotCancel,
    PurchaseLine,
    PurchaseOrder,
    StatusFile,
    StatusQuery,
    Submission,
    SupplierAdapter,
    SupplierConfig,
    SupplierError,
    SupplierReply,
)

# kind -> "module:Class", imported on first use so a worker loads only what it needs.
ADAPTERS = {
    "sandbox": "workers.suppliers.sandbox:SandboxSupplier",
    "http_json": "workers.suppliers.http_json:HttpJsonSupplier",
    "csv": "workers.suppliers.csv_file:CsvFileSupplier",
}
# What the settings page calls each kind.
KINDS = {"sandbox": _l("Sandbox supplier (demo)"), "http_json": _l("JSON API"),
         "csv": _l("CSV files")}


def adapter_for(config: SupplierConfig,
                session: requests.Session | None = None) -> SupplierAdapter:
    """The adapter for a configured supplier; one of an unknown kind refuses every call."""
    if config.kind not in ADAPTERS:
        return SupplierAdapter(config)
    module, name = ADAPTERS[config.kind].split(":")
    return getattr(import_module(module), name)(config, session)


__all__ = [
    "ACCEPTED", "ADAPTERS", "CANCELED", "FAILED", "KINDS", "OUTCOMES", "REJECTED", "SHIPPED",
    "SUBMITTED", "CannotCancel", "PurchaseLine", "PurchaseOrder", "StatusFile", "StatusQuery",
    "Submission", "SupplierAdapter", "SupplierConfig", "SupplierError", "SupplierReply",
    "adapter_for",
]
