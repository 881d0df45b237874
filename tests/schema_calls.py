"""Builds a call for every query and mutation straight from the schema, so new ones are covered.

`calls_taking_ids()` lists the root fields that take an ID anywhere in their arguments;
`build_call()` writes a document and variables for one of them, filling each ID from a
function the test gives and everything else with a plain valid value.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_named_type,
    is_required_argument,
    is_required_input_field,
)

from schema.schema import build_schema

SCHEMA: GraphQLSchema = build_schema()._schema

# Plain values that pass the services' checks, by argument or input field name.
TEXT_BY_NAME = {
    "email": "someone@example.com",
    "password": "long-enough-password",
    "currency": "RUB",
    "timezone": "Europe/Moscow",
    "priceType": "RETAIL",
    "sku": "SKU-1",
    "article": "ART-1",
    "code": "CODE1",
}

IdFor = Callable[[str, str], str]


@dataclass
class Call:
    root: str  # "query" or "mutation"
    field: str
    document: str
    variables: dict[str, Any]


def _has_id(type_: Any, seen: set[str]) -> bool:
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType):
        return named.name == "ID"
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        seen.add(named.name)
        return any(_has_id(f.type, seen) for f in named.fields.values())
    return False


def root_fields(root: str) -> dict[str, GraphQLField]:
    root_type = SCHEMA.query_type if root == "query" else SCHEMA.mutation_type
    return dict(root_type.fields) if root_type else {}


def calls_taking_ids() -> list[tuple[str, str]]:
    found = []
    for root in ("query", "mutation"):
        for name, field in root_fields(root).items():
            if any(_has_id(arg.type, set()) for arg in field.args.values()):
                found.append((root, name))
    return found


def kind_of_id(name: str, owner: str) -> str:
    """What an ID names: `variantIds` → variant, `toWarehouseId` → warehouse, `id` → its owner."""
    base = "" if name in ("id", "ids") else re.sub(r"Ids?$", "", name)
    if not base:
        base = re.sub(r"^(Update|Archive|Delete|Set|Get)|Input$", "", owner)
    base = re.sub(r"^(to|from|after|before)(?=[A-Z])", "", base)
    return base[0].lower() + base[1:] if base else owner


def _value(type_: Any, name: str, owner: str, id_for: IdFor, include_optional_ids: bool) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type, name, owner, id_for, include_optional_ids)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, name, owner, id_for, include_optional_ids)]
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    if isinstance(type_, GraphQLInputObjectType):
        result = {}
        for field_name, field in type_.fields.items():
            required = is_required_input_field(field)
            if required or (include_optional_ids and _has_id(field.type, set())):
                result[field_name] = _value(field.type, field_name, type_.name, id_for, include_optional_ids)
        return result
    scalar = type_.name
    if scalar == "ID":
        return id_for(kind_of_id(name, owner), f"{owner}.{name}")
    if scalar == "String":
        return TEXT_BY_NAME.get(name, f"test {name}")
    if scalar == "Int":
        return 1
    if scalar == "Float":
        return 1.0
    if scalar == "Boolean":
        return False
    if scalar == "Decimal":
        return "1.00"
    if scalar == "DateTime":
        return datetime.now(UTC).isoformat()
    if scalar == "Date":
        return datetime.now(UTC).date().isoformat()
    if scalar == "UUID":
        return id_for(kind_of_id(name, owner), f"{owner}.{name}")
    if scalar == "JSON":
        return {}
    raise AssertionError(f"tests/schema_calls.py does not know how to fill a {scalar} ({owner}.{name})")


def _type_text(type_: Any) -> str:
    if isinstance(type_, GraphQLNonNull):
        return _type_text(type_.of_type) + "!"
    if isinstance(type_, GraphQLList):
        return f"[{_type_text(type_.of_type)}]"
    return type_.name


def _selection(type_: Any) -> str:
    named = get_named_type(type_)
    if not isinstance(named, GraphQLObjectType):
        return ""
    if "userErrors" in named.fields:
        return "{ __typename userErrors { field code message } }"
    return "{ __typename }"


def build_call(root: str, field_name: str, id_for: IdFor, *, include_optional_ids: bool = True) -> Call:
    field = root_fields(root)[field_name]
    definitions, arguments, variables = [], [], {}
    for arg_name, arg in field.args.items():
        wanted = is_required_argument(arg) or (include_optional_ids and _has_id(arg.type, set()))
        if not wanted:
            continue
        definitions.append(f"${arg_name}: {_type_text(arg.type)}")
        arguments.append(f"{arg_name}: ${arg_name}")
        variables[arg_name] = _value(arg.type, arg_name, field_name, id_for, include_optional_ids)
    head = f"{root}({', '.join(definitions)})" if definitions else root
    args = f"({', '.join(arguments)})" if arguments else ""
    document = f"{head} {{ {field_name}{args} {_selection(field.type)} }}"
    return Call(root, field_name, document, variables)


def error_codes(body: dict, field_name: str) -> list[str]:
    """Every code the response carries: GraphQL error codes and the payload's userErrors."""
    codes = [(e.get("extensions") or {}).get("code", "") for e in body.get("errors") or []]
    data = (body.get("data") or {}).get(field_name)
    if isinstance(data, dict):
        codes += [e["code"] for e in data.get("userErrors") or []]
    return codes
