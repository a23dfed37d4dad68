"""The OpenAPI 3.1 document of /api/v1, generated from the models the views validate with.

Schemas come from pydantic (schemas.py); this module adds the paths, their parameters,
every status each route answers with, and the bearer security scheme. A test holds it
to the app's url_map in both directions.
"""

from functools import cache

from flask import jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from models.shipping.carriers import CODE

from . import bp, schemas

REF = "#/components/schemas/{model}"
PREFIX = bp.url_prefix
PUBLIC: list = []  # an operation's `security` when it needs no key

ERRORS = {
    400: "The body is not JSON, or not sent as application/json.",
    401: "No API key, or one that is unknown or revoked.",
    404: "No such order for this key's channel (another channel's orders are never shown).",
    409: "This external_id was already received with different content; `fields` names "
         "what differs.",
    413: "The body is larger than 1 MB.",
    422: "The request is invalid; `fields` names each field at fault (e.g. lines[0].sku).",
}
WEBHOOK_ERRORS = {
    400: "The body could not be read as this sender's webhook.",
    401: "Missing or invalid signature.",
    404: "No active sender with this code.",
    413: "The body is too large.",
}


def ref(model: type[BaseModel] | str) -> dict:
    """A reference to a component schema."""
    return {"$ref": REF.format(model=model if isinstance(model, str) else model.__name__)}


def _json(description: str, schema: dict, headers: dict | None = None) -> dict:
    """A JSON response of this schema."""
    response = {"description": description,
                "content": {"application/json": {"schema": schema}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(statuses, texts=ERRORS, schema=schemas.Error) -> dict:
    """The error responses of these statuses, each with the error schema."""
    responses = {str(s): _json(texts[s], ref(schema)) for s in statuses}
    if 401 in statuses:
        responses["401"]["headers"] = {"WWW-Authenticate": {
            "description": "Bearer, as RFC 6750 says.", "schema": {"type": "string"}}}
    return responses


def _query_parameters(model: type[BaseModel]) -> tuple[list[dict], dict]:
    """The model's fields as query parameters, and the schemas they refer to."""
    schema = model.model_json_schema(ref_template=REF)
    parameters = []
    for name, field in schema["properties"].items():
        field = {k: v for k, v in field.items() if k != "title"}
        description = field.pop("description", None)
        # An absent parameter is the None of an optional field: the null branch is not
        # something one can write in a query string.
        branches = [b for b in field.pop("anyOf", []) if b.get("type") != "null"]
        if len(branches) == 1:
            field = {**branches[0], **field}
        if field.get("default", 0) is None:
            del field["default"]
        description = description or field.pop("description", None)
        parameter = {"name": name, "in": "query", "required": False, "schema": field}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters, schema.get("$defs", {})


def _webhook(sender: str) -> dict:
    """A signed webhook receiver (carrier or channel): no key, the sender's signature."""
    return {"post": {
        "operationId": f"{sender}_webhook", "tags": ["webhooks"], "security": PUBLIC,
        "summary": f"Receive a {sender} webhook",
        "description": f"Signed by the {sender} (its webhook secret) over the raw body; "
                       "stored once per delivery id and applied by a background job.",
        "parameters": [{"name": "code", "in": "path", "required": True,
                        "schema": {"type": "string", "pattern": CODE.pattern, "maxLength": 40},
                        "description": f"The {sender}'s code."}],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object"}}}},
        "responses": {
            "200": _json("Already received: nothing changes.", ref(schemas.WebhookReceipt)),
            "202": _json("Stored; a job applies it.", ref(schemas.WebhookReceipt)),
            **_errors((400, 401, 404, 413), WEBHOOK_ERRORS, schemas.WebhookError)},
    }}


# Where a client goes next with the order an answer names (OpenAPI links: followed by
# generated clients and by the stateful API test).
ORDER_LINKS = {"GetOrder": {
    "operationId": "get_order", "parameters": {"order_id": "$response.body#/id"},
    "description": "Read the order back by its id."}}


def _paths(query_parameters: list[dict]) -> dict:
    """Every route of the blueprint, documented."""
    order = ref(schemas.Order)
    return {
        f"{PREFIX}/orders": {
            "post": {
                "operationId": "create_order", "tags": ["orders"],
                "summary": "Send an order",
                "description": "Idempotent on external_id: the same order again answers 200 "
                               "with the order made the first time.",
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": ref(schemas.NewOrder)}}},
                "responses": {
                    "201": {**_json("Created.", order, {"Location": {
                        "description": "The order's URL.", "schema": {"type": "string"}}}),
                        "links": ORDER_LINKS},
                    "200": {**_json("Received before with the same content.", order),
                            "links": ORDER_LINKS},
                    **_errors((400, 401, 409, 413, 422))},
            },
            "get": {
                "operationId": "list_orders", "tags": ["orders"],
                "summary": "List the channel's orders by last change",
                "description": "Oldest change first, a page at a time: pass next_cursor "
                               "back as cursor until it is null. A change is listed once "
                               "it is a few seconds old, so a page never skips an order "
                               "whose change was still being saved.",
                "parameters": query_parameters,
                "responses": {"200": _json("A page of orders.", ref(schemas.OrderPage)),
                              **_errors((401, 422))},
            },
        },
        f"{PREFIX}/orders/{{order_id}}": {"get": {
            "operationId": "get_order", "tags": ["orders"], "summary": "Read one order",
            "parameters": [{"name": "order_id", "in": "path", "required": True,
                            "schema": {"type": "integer", "minimum": 1,
                                       "maximum": schemas.MAX_ID}}],
            "responses": {"200": {**_json("The order.", order), "links": ORDER_LINKS},
                          **_errors((401, 404))},
        }},
        f"{PREFIX}/carriers/{{code}}/webhook": _webhook("carrier"),
        f"{PREFIX}/channels/{{code}}/webhook": _webhook("channel"),
        f"{PREFIX}/openapi.json": {"get": {
            "operationId": "openapi", "tags": ["documentation"], "security": PUBLIC,
            "summary": "This document",
            "responses": {"200": _json("OpenAPI 3.1.", {"type": "object"})}}},
        f"{PREFIX}/docs": {"get": {
            "operationId": "docs", "tags": ["documentation"], "security": PUBLIC,
            "summary": "This document, readable (Swagger UI)",
            "responses": {"200": {"description": "An HTML page.", "content": {
                "text/html": {"schema": {"type": "string"}}}}}}},
    }


@cache
def openapi_document() -> dict:
    """The whole document (built once per process: it changes only with the code)."""
    _, top = models_json_schema(
        [(schemas.NewOrder, "validation"), (schemas.Order, "serialization"),
         (schemas.OrderPage, "serialization"), (schemas.Error, "serialization"),
         (schemas.WebhookReceipt, "serialization"), (schemas.WebhookError, "serialization")],
        ref_template=REF)
    parameters, query_schemas = _query_parameters(schemas.OrderQuery)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "codboard API", "version": "1",
            "description": "Send orders to codboard and follow them. Each key belongs to "
                           "one channel and sees only that channel's orders. Errors are "
                           "JSON: `{\"error\": \"…\", \"fields\": [\"lines[0].sku\"]}`.",
        },
        "paths": _paths(parameters),
        "components": {
            "schemas": {**query_schemas, **top["$defs"]},
            "securitySchemes": {"bearer": {
                "type": "http", "scheme": "bearer",
                "description": "An API key from the channel's settings page (cb_…)."}},
        },
        "security": [{"bearer": []}],
    }


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 document of this API (public: it describes, it holds no data)."""
    return jsonify(openapi_document())
