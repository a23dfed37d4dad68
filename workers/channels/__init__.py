"""Channel adapters: one module per kind, all behind workers/channels/base.py."""

from .base import (
    ChannelAdapter,
    ChannelConfig,
    ChannelError,
    ChannelRefused,
    Fulfilment,
    OrderPage,
    WebhookDelivery,
)

# kind -> "module:Class", imported on first use so a worker loads only what it needs.
# Channels without an adapter (manual entry, CSV upload, the JSON API) are fed by people
# and scripts: nothing to poll and nobody to tell.
ADAPTERS = {
    "sandbox": "workers.channels.sandbox:SandboxChannel",
    "shopify": "workers.channels.shopify:ShopifyChannel",
    "woocommerce": "workers.channels.woocommerce:WooCommerceChannel",
}
FED_BY_PEOPLE = ("manual", "csv", "api")
KINDS = FED_BY_PEOPLE + tuple(ADAPTERS)


def adapter_for(config: ChannelConfig) -> ChannelAdapter | None:
    """The adapter for a configured channel, or None for channels people feed."""
    from importlib import import_module

    if config.kind not in ADAPTERS:
        return None
    module, name = ADAPTERS[config.kind].split(":")
    return getattr(import_module(module), name)(config)


__all__ = [
    "ADAPTERS", "FED_BY_PEOPLE", "KINDS", "ChannelAdapter", "ChannelConfig", "ChannelError",
    "ChannelRefused", "Fulfilment", "OrderPage", "WebhookDelivery", "adapter_for",
]
