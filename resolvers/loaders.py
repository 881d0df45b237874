"""DataLoaders: every relation is fetched for a whole page in one query, never row by row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from models.catalog import PriceType, Product, ProductGroup, Variant
from models.customers import Customer, Supplier
from services import catalog
from services.db import rows_by_ids


def _by_id_loader(model: type, account_id: uuid.UUID) -> DataLoader:
    async def load(ids: Sequence[uuid.UUID]) -> list[Any]:
        found = await rows_by_ids(model, account_id, ids)
        return [found.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped_loader(
    fetch: Callable[[uuid.UUID, Sequence[uuid.UUID]], Awaitable[dict[uuid.UUID, list]]], account_id: uuid.UUID
) -> DataLoader:
    async def load(ids: Sequence[uuid.UUID]) -> list[list]:
        grouped = await fetch(account_id, ids)
        return [grouped.get(i, []) for i in ids]

    return DataLoader(load_fn=load)


class Loaders:
    """One set per request; all scoped to the caller's account."""

    def __init__(self, account_id: uuid.UUID) -> None:
        self.account_id = account_id
        self.product = _by_id_loader(Product, account_id)
        self.variant = _by_id_loader(Variant, account_id)
        self.group = _by_id_loader(ProductGroup, account_id)
        self.price_type = _by_id_loader(PriceType, account_id)
        self.customer = _by_id_loader(Customer, account_id)
        self.supplier = _by_id_loader(Supplier, account_id)
        self.variants_of_product = _grouped_loader(catalog.variants_of_products, account_id)
        self.prices_of_variant = _grouped_loader(catalog.prices_of_variants, account_id)
        self._extra: dict[str, DataLoader] = {}

    def custom(self, name: str, make: Callable[[], DataLoader]) -> DataLoader:
        """A loader that a later domain adds without editing this class."""
        if name not in self._extra:
            self._extra[name] = make()
        return self._extra[name]
