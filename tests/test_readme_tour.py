"""The README's tour runs as written: every GraphQL document in it, in order, against the API."""

from __future__ import annotations

import re
from pathlib import Path

from graphql import parse, validate

from schema.schema import build_schema
from tests.conftest import Api

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```graphql\n(.*?)```", README.read_text(), re.S)
# Where the tour says "<warehouse id>", the id from the answer it names.
CREATED = {
    "warehouse": ("createWarehouse", "warehouse"),
    "channel": ("createSalesChannel", "salesChannel"),
    "order": ("placeOrder", "order"),
}


def documents() -> list[str]:
    found = []
    for block in BLOCKS:
        found += [d.strip() for d in re.split(r"\n(?=mutation|\{|subscription)", block.strip()) if d.strip()]
    return found


def test_the_readme_has_a_tour():
    assert len(documents()) >= 10


async def test_every_document_of_the_readme_tour_runs_without_errors(client):
    api = Api(client)
    ids: dict[str, str] = {}
    schema = build_schema()._schema
    for document in documents():
        for kind, value in ids.items():
            document = document.replace(f'"<{kind} id>"', f'"{value}"')
        if document.startswith("subscription"):
            assert not validate(schema, parse(document.replace('"<variant id>"', '"x"'))), document
            continue
        body = await api.raw(document)
        assert not body.get("errors"), (document, body)
        data = body["data"]
        payload = next(iter(data.values()))
        if isinstance(payload, dict) and "userErrors" in payload:
            assert payload["userErrors"] == [], (document, payload)
        if "signUp" in data:
            api = api.as_(data["signUp"]["token"])
        for kind, (field, key) in CREATED.items():
            if field in data:
                ids[kind] = data[field][key]["id"]
