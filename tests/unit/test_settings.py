"""The environment, read into one typed object (invoicing.settings)."""

from __future__ import annotations

import pytest

from invoicing.settings import NotConfigured, Settings

pytestmark = pytest.mark.unit


def test_the_environment_is_read_into_typed_settings():
    found = Settings.of({
        "TABLE_NAME": "invoicing", "DOCUMENTS_BUCKET": "", "FRONTEND_ORIGINS": " https://app.example , ,https://b.example",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
    })  # fmt: skip

    assert found.table == "invoicing"
    assert found.documents_bucket is None  # empty is unset: this function has no bucket
    assert found.frontend_origins == ("https://app.example", "https://b.example")
    assert found.emulated


def test_a_setting_a_function_needs_and_lacks_names_the_variable():
    with pytest.raises(NotConfigured, match="SWEEP_QUEUE_URL is not set"):
        Settings.of({}).require("sweep_queue_url")
    assert Settings.of({"SWEEP_QUEUE_URL": "https://sqs/q"}).require("sweep_queue_url") == "https://sqs/q"
