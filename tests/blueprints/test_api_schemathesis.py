"""Schemathesis against the API served over HTTP: generated requests for every operation,
and sequences that follow the document's links.

Every documented operation gets valid and invalid requests generated from the OpenAPI
document (plus its examples) and sent with a valid key; each answer must be no server
error, a documented status, a body of the documented schema and content type. The stateful
test creates orders and follows the links of each answer (read the order back by its id).
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from extensions import db
from models import Actor
from models.intake.api_keys import issue_key

pytestmark = pytest.mark.slow

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
# Bounded and repeatable: the same cases on every run, no example database on disk.
BOUNDED = settings(max_examples=40, deadline=None, derandomize=True, database=None,
                   suppress_health_check=list(HealthCheck))


@pytest.fixture
def token(make_channel, make_product, make_order):
    """A valid key, products the document's example names, and an order to read back."""
    channel = make_channel(code="schemathesis", kind="api")
    make_product(sku="MUG-1", stock=100)
    make_order(channel=channel)
    _, token = issue_key(channel, "schemathesis", Actor.system("test"))
    db.session.commit()
    return token


def check(operation, strategy, base_url: str, token: str) -> None:
    """Send the strategy's cases to the live server and run the checks on each answer."""

    @BOUNDED
    @given(case=strategy)
    def run(case):
        case.call_and_validate(base_url=base_url, checks=CHECKS, timeout=10,
                               headers={"Authorization": f"Bearer {token}"})

    run()


def takes_input(operation) -> bool:
    """Whether the operation has parameters or a body."""
    return any(len(part) for part in (operation.path_parameters, operation.query,
                                      operation.headers, operation.body))


def test_generated_requests_get_documented_answers(live_server, token):
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", timeout=10)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {"POST /api/v1/orders", "GET /api/v1/orders", "GET /api/v1/orders/{order_id}"} <= {
        operation.label for operation in operations}
    for operation in operations:
        examples = operation.get_strategies_from_examples()
        if examples:
            check(operation, st.one_of(examples), live_server, token)
        # Invalid requests need something to make invalid (the docs page takes nothing).
        modes = GenerationMode if takes_input(operation) else [GenerationMode.POSITIVE]
        for mode in modes:
            check(operation, operation.as_strategy(generation_mode=mode), live_server, token)


# --- stateful: the document's links, followed with real ids -----------------------------

KNOWN = {"sku": "MUG-1", "phone": "0612345678"}


def _known_values(body) -> None:
    """Put a product and a phone the shop has into a generated order, where it has those
    fields, so that most sequences create an order and follow its links."""
    if not isinstance(body, dict):
        return
    customer = body.get("customer")
    if isinstance(customer, dict) and isinstance(customer.get("phone"), str):
        customer["phone"] = KNOWN["phone"]
    for line in body.get("lines") or []:
        if isinstance(line, dict) and isinstance(line.get("sku"), str):
            line["sku"] = KNOWN["sku"]


def test_order_links_are_followed_with_documented_answers(live_server, token):
    schema = schemathesis.openapi.from_url(f"{live_server}/api/v1/openapi.json", timeout=10)
    document = schema.raw_schema["paths"]
    created = document["/api/v1/orders"]["post"]["responses"]["201"]["links"]
    assert created["GetOrder"]["operationId"] == "get_order"
    followed = []

    class Orders(schema.as_state_machine()):
        def before_call(self, case):
            if case.operation.label == "POST /api/v1/orders":
                _known_values(case.body)

        def get_call_kwargs(self, case):
            return {"base_url": live_server, "timeout": 10,
                    "headers": {"Authorization": f"Bearer {token}"}}

        def after_call(self, response, case):
            if case.operation.label == "GET /api/v1/orders/{order_id}":
                followed.append(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    Orders.run(settings=settings(max_examples=25, stateful_step_count=4, deadline=None,
                                 derandomize=True, database=None,
                                 suppress_health_check=list(HealthCheck)))
    # The link was followed with ids of orders just created: those are found.
    assert 200 in followed
