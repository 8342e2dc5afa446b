"""``GET /models/{id}/card``: the loaded version's card in the format asked for, and 4xx for the rest."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from mlpy.registry import ModelRegistry
from mlpy_server.settings import UriModel


def test_the_card_of_the_loaded_version_by_format_or_accept(
    registry: ModelRegistry, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    answer = client.get("/models/lin/card")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/json")
    card = answer.json()
    assert (card["model"], card["version"]) == ("lin", 1)
    details = next(s for s in card["sections"] if s["title"] == "Model details")
    assert details["facts"]["sha256"] == registry.get_version("lin", 1).sha256
    page = client.get("/models/lin/card", headers={"Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Model card: lin:1</h1>" in page.text
    markdown = client.get("/models/lin/card", params={"format": "md"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# Model card: lin:1")


def test_a_bad_format_an_unloaded_model_and_a_store_without_the_version_are_4xx(
    registry: ModelRegistry, make_client: Callable[..., TestClient]
) -> None:
    client = make_client()
    bad = client.get("/models/lin/card", params={"format": "pdf"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "format"
    assert client.get("/models/nosuch/card").status_code == 404
    # Served by URI under a name the metadata store does not know: the card cannot be found there.
    record = registry.get_version("lin", 1)
    by_uri = make_client(
        models=(), uri_model=UriModel(record.artifact_uri, record.sha256, "skops", "churn", "7")
    )
    missing = by_uri.get("/models/churn/card")
    assert missing.status_code == 404
    assert "MLPY_STORE" in missing.json()["error"]
