"""Query limits checked before a document runs: depth, aliases and cost (tokens are capped at parse);
and text no field can hold (the NUL character, which PostgreSQL refuses in any text).

Depth and aliases are counted through fragments, whatever the fragments are named, so a query
cannot hide its depth behind a fragment called `__schema`. Cost follows the large public APIs
(Shopify, Saleor, GitHub): an object costs 1, a scalar 0, and a paginated field (one with a
`first` argument) costs 2 plus `first` times what one of its items costs. The cost of each
request is reported in `extensions.cost`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    get_named_type,
    value_from_ast,
    visit,
)
from graphql.type.introspection import SchemaMetaFieldDef, TypeMetaFieldDef, TypeNameMetaFieldDef
from strawberry.extensions import SchemaExtension

from api.settings import QueryLimits

PAGINATED_ARGUMENT = "first"


@dataclass
class Measure:
    depth: int = 0
    aliases: int = 0
    cost: int = 0


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.aliases = 0
        self.max_depth = 0

    def _field_def(self, parent: GraphQLNamedType | None, name: str) -> GraphQLField | None:
        if name == "__schema":
            return SchemaMetaFieldDef
        if name == "__type":
            return TypeMetaFieldDef
        if name == "__typename":
            return TypeNameMetaFieldDef
        fields = getattr(parent, "fields", None)
        return fields.get(name) if fields else None

    def _page_size(self, field: FieldNode, definition: GraphQLField | None) -> int | None:
        if definition is None or PAGINATED_ARGUMENT not in definition.args:
            return None
        argument = definition.args[PAGINATED_ARGUMENT]
        for node in field.arguments or ():
            if node.name.value == PAGINATED_ARGUMENT:
                if isinstance(node.value, VariableNode):
                    value = self.variables.get(node.value.name.value, argument.default_value)
                else:
                    value = value_from_ast(node.value, argument.type, self.variables)
                break
        else:
            value = argument.default_value
        return value if isinstance(value, int) and value > 0 else 0

    def selection_cost(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        depth: int,
        seen: frozenset,
    ) -> int:
        """Cost of a selection set; also counts aliases and the deepest field, fragments included."""
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                self.max_depth = max(self.max_depth, depth + 1)
                if selection.alias is not None:
                    self.aliases += 1
                definition = self._field_def(parent, selection.name.value)
                child_type = get_named_type(definition.type) if definition else None
                children = self.selection_cost(selection.selection_set, child_type, depth + 1, seen)
                if selection.selection_set is None:
                    continue
                page = self._page_size(selection, definition)
                total += 1 + children if page is None else 2 + page * children
            elif isinstance(selection, InlineFragmentNode):
                fragment_type = parent
                if selection.type_condition is not None:
                    fragment_type = self.schema.get_type(selection.type_condition.name.value)
                total += self.selection_cost(selection.selection_set, fragment_type, depth, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue  # unknown or cyclic: validation reports those
                fragment_type = self.schema.get_type(fragment.type_condition.name.value)
                total += self.selection_cost(fragment.selection_set, fragment_type, depth, seen | {name})
        return total


def measure(
    schema: GraphQLSchema, document: Any, operation_name: str | None, variables: Mapping | None
) -> Measure:
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    walker = _Walker(schema, fragments, variables or {})
    result = Measure()
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        if operation_name and definition.name and definition.name.value != operation_name:
            continue
        root: GraphQLObjectType | None = schema.get_root_type(definition.operation)
        result.cost += walker.selection_cost(definition.selection_set, root, 0, frozenset())
    # Fragments never spread still count for aliases and depth: a document is judged whole.
    for fragment in fragments.values():
        fragment_type = schema.get_type(fragment.type_condition.name.value)
        walker.selection_cost(fragment.selection_set, fragment_type, 0, frozenset({fragment.name.value}))
    result.depth = walker.max_depth
    result.aliases = walker.aliases
    return result


def limit_errors(found: Measure, limits: QueryLimits) -> list[GraphQLError]:
    errors = []
    if found.depth > limits.max_depth:
        errors.append(
            _error(f"the query is nested {found.depth} levels deep; at most {limits.max_depth}", "MAX_DEPTH")
        )
    if found.aliases > limits.max_aliases:
        errors.append(
            _error(f"the query has {found.aliases} aliases; at most {limits.max_aliases}", "MAX_ALIASES")
        )
    if found.cost > limits.max_cost:
        errors.append(
            _error(
                f"the query costs {found.cost}; at most {limits.max_cost} (ask for fewer items with `first`)",
                "MAX_COST",
            )
        )
    return errors


def _error(message: str, code: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "QUERY_TOO_COMPLEX", "limit": code})


class QueryLimitsExtension(SchemaExtension):
    """Rejects documents over the limits before they run; put it after the validation cache."""

    def __init__(self, *, limits: QueryLimits) -> None:
        self.limits = limits
        self.measured: Measure | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            self.measured = measure(
                context.schema._schema, context.graphql_document, context.operation_name, context.variables
            )
            errors = limit_errors(self.measured, self.limits) or nul_errors(
                context.graphql_document, context.variables
            )
            if errors:
                context.pre_execution_errors = errors
        yield

    def get_results(self) -> dict[str, Any]:
        if self.measured is None:
            return {}
        return {"cost": {"requested": self.measured.cost, "limit": self.limits.max_cost}}


# --- text no field can hold ---------------------------------------------------------------------------

NUL = "\x00"


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return NUL in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


class _NulFinder(Visitor):
    found = False

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if NUL in node.value:
            self.found = True


def nul_errors(document: Any, variables: Mapping | None) -> list[GraphQLError]:
    """An error when any string of the request (variables or literals) holds a NUL character:
    PostgreSQL stores no NUL in text, so no input may carry one (SQLite would, so both refuse)."""
    finder = _NulFinder()
    visit(document, finder)
    if finder.found or _holds_nul(variables or {}):
        return [
            GraphQLError(
                "text must not contain the NUL character (\\u0000)",
                extensions={"code": "BAD_USER_INPUT", "problems": [{"field": [], "code": "NUL_CHARACTER"}]},
            )
        ]
    return []
