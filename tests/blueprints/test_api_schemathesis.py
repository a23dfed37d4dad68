"""Schemathesis against the API served over HTTP: generated requests for every operation.

Every documented operation gets valid and invalid requests generated from the OpenAPI
document (plus its examples) and sent with a valid key; each answer must be no server
error, a documented status, a body of the documented schema and content type.
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
