"""Carrier adapters: one module per kind, all behind workers/carriers/base.py."""

from .base import (
    CarrierAdapter,
    CarrierConfig,
    CarrierError,
    CarrierRefused,
    NotSupported,
    ParcelRequest,
    Registration,
    TrackingEvent,
    Webhook,
)

# kind -> "module:Class", imported on first use so a worker loads only what it needs.
ADAPTERS = {
    "sandbox": "workers.carriers.sandbox:SandboxCarrier",
    "aftership": "workers.carriers.aftership:AfterShipCarrier",
    "http_json": "workers.carriers.http_json:HttpJsonCarrier",
    "local": "workers.carriers.local:LocalCarrier",
}
KINDS = tuple(ADAPTERS)


def adapter_for(config: CarrierConfig, session=None) -> CarrierAdapter:
    """The adapter for a configured carrier."""
    from importlib import import_module

    module, name = ADAPTERS[config.kind].split(":")
    return getattr(import_module(module), name)(config, session)


__all__ = [
    "ADAPTERS", "KINDS", "CarrierAdapter", "CarrierConfig", "CarrierError", "CarrierRefused",
    "NotSupported", "ParcelRequest", "Registration", "TrackingEvent", "Webhook", "adapter_for",
]
