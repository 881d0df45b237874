"""Catalog rules: groups, products and their variants, price types and prices.

`upsert_products` is how stores and people load a catalog: matched by article, variants by
sku, so running the same input twice changes nothing. A product with no variants given gets
one variant whose sku is its article.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q, Subquery

from models.accounts import Account
from models.catalog import Price, PriceType, Product, ProductGroup, Variant
from services.access import Actor, Permission
from services.amounts import UNIT_DECIMALS, money_to_minor
from services.db import get_owned, parse_id, transaction
from services.errors import InvalidInput, NotFound, ProblemList
from services.pagination import Page, paginate
from services.validation import clean_list, clean_text

MAX_PRODUCTS_PER_UPSERT = 250
MAX_VARIANTS_PER_PRODUCT = 100
MAX_GROUP_DEPTH = 10
GROUP_SEPARATOR = " / "
VAT_RATES = ("NONE", "VAT0", "VAT5", "VAT7", "VAT10", "VAT18", "VAT20", "VAT22")
DEFAULT_PRICE_TYPES = (("RETAIL", "Retail"), ("WHOLESALE", "Wholesale"), ("PURCHASE", "Purchase"))


@dataclass
class PriceSpec:
    price_type: str
    amount: Decimal


@dataclass
class VariantSpec:
    sku: str
    characteristics: list[tuple[str, str]] = field(default_factory=list)
    barcodes: list[str] = field(default_factory=list)
    prices: list[PriceSpec] = field(default_factory=list)


@dataclass
class ProductSpec:
    article: str
    name: str
    group_path: list[str] | None = None
    unit: str = "PCS"
    vat_rate: str = "NONE"
    barcodes: list[str] = field(default_factory=list)
    description: str = ""
    archived: bool = False
    is_service: bool = False
    prices: list[PriceSpec] = field(default_factory=list)
    variants: list[VariantSpec] | None = None


# --- price types ---------------------------------------------------------------------------


async def create_default_price_types(account_id: uuid.UUID) -> None:
    await PriceType.bulk_create(
        [PriceType(id=uuid.uuid4(), account_id=account_id, code=c, name=n) for c, n in DEFAULT_PRICE_TYPES]
    )


async def list_price_types(actor: Actor) -> list[PriceType]:
    actor.require(Permission.CATALOG_READ)
    return await PriceType.filter(account_id=actor.account_id).order_by("created_at", "code")


async def create_price_type(actor: Actor, *, code: str, name: str) -> PriceType:
    actor.require(Permission.CATALOG_WRITE)
    problems = ProblemList()
    code = clean_text(problems, code, ["code"], max_length=40, required=True).upper()
    name = clean_text(problems, name, ["name"], max_length=200, required=True)
    problems.raise_if_any()
    try:
        async with transaction():
            return await PriceType.create(account_id=actor.account_id, code=code, name=name)
    except IntegrityError as exc:
        raise InvalidInput.one(["code"], "DUPLICATE", f"price type {code} already exists") from exc


# --- groups --------------------------------------------------------------------------------


async def list_groups(actor: Actor) -> list[ProductGroup]:
    actor.require(Permission.CATALOG_READ)
    return await ProductGroup.filter(account_id=actor.account_id).order_by("path")


async def get_group(actor: Actor, group_id: object, field: Sequence[str] = ("id",)) -> ProductGroup:
    actor.require(Permission.CATALOG_READ)
    return await get_owned(ProductGroup, actor, group_id, field=field, what="product group")


async def _ensure_group_paths(
    account_id: uuid.UUID, paths: Iterable[tuple[str, ...]]
) -> dict[str, uuid.UUID]:
    """Ids of the groups at these paths, creating the missing ones and their parents."""
    wanted: set[str] = set()
    for path in paths:
        for depth in range(1, len(path) + 1):
            wanted.add(GROUP_SEPARATOR.join(path[:depth]))
    if not wanted:
        return {}
    existing = await ProductGroup.filter(account_id=account_id, path__in=list(wanted)).values_list(
        "path", "id"
    )
    ids: dict[str, uuid.UUID] = dict(existing)
    for path in sorted(wanted - set(ids), key=lambda p: p.count(GROUP_SEPARATOR)):
        parent_path, _, name = path.rpartition(GROUP_SEPARATOR)
        group = await ProductGroup.create(
            account_id=account_id,
            path=path,
            name=name,
            parent_id=ids.get(parent_path) if parent_path else None,
        )
        ids[path] = group.id
    return ids


async def _group_subtree_ids(actor: Actor, group_id: object) -> list[uuid.UUID]:
    group = await get_owned(ProductGroup, actor, group_id, field=["groupId"], what="product group")
    prefix = group.path + GROUP_SEPARATOR
    below = await ProductGroup.filter(account_id=actor.account_id, path__startswith=prefix).values_list(
        "id", flat=True
    )
    return [group.id, *below]


# --- reading products and variants ----------------------------------------------------------


async def list_products(
    actor: Actor,
    *,
    first: int | None,
    after: str | None,
    search: str | None = None,
    group_id: object | None = None,
    archived: bool | None = False,
) -> Page[Product]:
    actor.require(Permission.CATALOG_READ)
    query = Product.filter(account_id=actor.account_id)
    if archived is not None:
        query = query.filter(archived=archived)
    if group_id is not None:
        query = query.filter(group_id__in=await _group_subtree_ids(actor, group_id))
    text = (search or "").strip()
    if text:
        skus = Variant.filter(account_id=actor.account_id, sku__icontains=text).values("product_id")
        query = query.filter(Q(name__icontains=text) | Q(article__icontains=text) | Q(id__in=Subquery(skus)))
    return await paginate(query, order_by="article", first=first, after=after)


async def get_product(actor: Actor, product_id: object, field: Sequence[str] = ("id",)) -> Product:
    actor.require(Permission.CATALOG_READ)
    return await get_owned(Product, actor, product_id, field=field, what="product")


async def get_variant(actor: Actor, variant_id: object, field: Sequence[str] = ("id",)) -> Variant:
    actor.require(Permission.CATALOG_READ)
    return await get_owned(Variant, actor, variant_id, field=field, what="variant")


async def get_variant_by_sku(actor: Actor, sku: str, field: Sequence[str] = ("sku",)) -> Variant:
    actor.require(Permission.CATALOG_READ)
    variant = await Variant.filter(account_id=actor.account_id, sku=(sku or "").strip()).first()
    if variant is None:
        raise NotFound(field, "variant")
    return variant


async def variants_of_products(
    account_id: uuid.UUID, product_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list]:
    rows = await Variant.filter(account_id=account_id, product_id__in=list(product_ids)).order_by("sku")
    grouped: dict[uuid.UUID, list[Variant]] = {pid: [] for pid in product_ids}
    for row in rows:
        grouped[row.product_id].append(row)
    return grouped


async def prices_of_variants(
    account_id: uuid.UUID, variant_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list]:
    rows = await Price.filter(account_id=account_id, variant_id__in=list(variant_ids)).select_related(
        "price_type"
    )
    grouped: dict[uuid.UUID, list[Price]] = {vid: [] for vid in variant_ids}
    for row in sorted(rows, key=lambda p: p.price_type.code):
        grouped[row.variant_id].append(row)
    return grouped


# --- upsert ---------------------------------------------------------------------------------


@dataclass
class _CheckedVariant:
    sku: str
    characteristics: list[dict[str, str]]
    barcodes: list[str]
    prices: dict[str, int]


@dataclass
class _CheckedProduct:
    article: str
    name: str
    group_path: tuple[str, ...] | None
    unit: str
    vat_rate: str
    barcodes: list[str]
    description: str
    archived: bool
    is_service: bool
    variants: list[_CheckedVariant]


def _check_prices(
    problems: ProblemList, prices: Sequence[PriceSpec], field: list[str], currency: str, known: set[str]
) -> dict[str, int]:
    result: dict[str, int] = {}
    for index, price in enumerate(prices):
        where = [*field, str(index)]
        code = (price.price_type or "").strip().upper()
        if code not in known:
            problems.add([*where, "priceType"], "UNKNOWN_PRICE_TYPE", f"there is no price type {code[:40]!r}")
            continue
        try:
            result[code] = money_to_minor(price.amount, currency, [*where, "amount"])
        except InvalidInput as exc:
            problems.problems.extend(exc.problems)
    return result


def _check_product(
    problems: ProblemList, spec: ProductSpec, index: int, currency: str, known_price_types: set[str]
) -> _CheckedProduct:
    at = ["products", str(index)]
    article = clean_text(problems, spec.article, [*at, "article"], max_length=100, required=True)
    name = clean_text(problems, spec.name, [*at, "name"], max_length=500, required=True)
    description = clean_text(problems, spec.description, [*at, "description"], max_length=20000)
    unit = (spec.unit or "PCS").upper()
    if unit not in UNIT_DECIMALS:
        problems.add([*at, "unit"], "UNKNOWN_UNIT", f"unit is one of {', '.join(UNIT_DECIMALS)}")
    vat_rate = (spec.vat_rate or "NONE").upper()
    if vat_rate not in VAT_RATES:
        problems.add([*at, "vatRate"], "UNKNOWN_VAT_RATE", f"vatRate is one of {', '.join(VAT_RATES)}")
    group_path = None
    if spec.group_path is not None:
        segments = [
            clean_text(problems, s, [*at, "groupPath"], max_length=200, required=True)
            for s in spec.group_path
        ]
        if len(segments) > MAX_GROUP_DEPTH:
            problems.add([*at, "groupPath"], "TOO_DEEP", f"groups nest at most {MAX_GROUP_DEPTH} deep")
        if any(GROUP_SEPARATOR.strip() in s for s in segments):
            problems.add([*at, "groupPath"], "INVALID", "a group name cannot contain '/'")
        group_path = tuple(segments) or None
    barcodes = clean_list(problems, spec.barcodes, [*at, "barcodes"], max_items=50, max_length=64)
    product_prices = _check_prices(problems, spec.prices, [*at, "prices"], currency, known_price_types)

    variant_specs = spec.variants if spec.variants else [VariantSpec(sku=spec.article)]
    if len(variant_specs) > MAX_VARIANTS_PER_PRODUCT:
        problems.add(
            [*at, "variants"], "TOO_MANY", f"a product has at most {MAX_VARIANTS_PER_PRODUCT} variants"
        )
    variants: list[_CheckedVariant] = []
    for v_index, variant in enumerate(variant_specs):
        vat = [*at, "variants", str(v_index)]
        sku = clean_text(problems, variant.sku, [*vat, "sku"], max_length=100, required=True)
        characteristics: list[dict[str, str]] = []
        if len(variant.characteristics) > 10:
            problems.add([*vat, "characteristics"], "TOO_MANY", "a variant has at most 10 characteristics")
        for c_index, (c_name, c_value) in enumerate(variant.characteristics):
            cat = [*vat, "characteristics", str(c_index)]
            characteristics.append(
                {
                    "name": clean_text(problems, c_name, [*cat, "name"], max_length=100, required=True),
                    "value": clean_text(problems, c_value, [*cat, "value"], max_length=100, required=True),
                }
            )
        prices = dict(product_prices)
        prices.update(_check_prices(problems, variant.prices, [*vat, "prices"], currency, known_price_types))
        variant_barcodes = clean_list(
            problems, variant.barcodes, [*vat, "barcodes"], max_items=50, max_length=64
        )
        variants.append(_CheckedVariant(sku, characteristics, variant_barcodes, prices))
    return _CheckedProduct(
        article,
        name,
        group_path,
        unit,
        vat_rate,
        barcodes,
        description,
        bool(spec.archived),
        bool(spec.is_service),
        variants,
    )


def _check_duplicates(problems: ProblemList, products: list[_CheckedProduct]) -> None:
    articles: dict[str, int] = {}
    skus: dict[str, int] = {}
    for index, product in enumerate(products):
        if product.article in articles:
            problems.add(
                ["products", str(index), "article"],
                "DUPLICATE_ARTICLE",
                f"article {product.article!r} appears twice in this input",
            )
        articles.setdefault(product.article, index)
        for v_index, variant in enumerate(product.variants):
            if variant.sku in skus:
                problems.add(
                    ["products", str(index), "variants", str(v_index), "sku"],
                    "DUPLICATE_SKU",
                    f"sku {variant.sku!r} appears twice in this input",
                )
            skus.setdefault(variant.sku, index)


async def upsert_products(actor: Actor, specs: Sequence[ProductSpec]) -> list[Product]:
    """Creates or updates products by article and their variants by sku, all or nothing."""
    actor.require(Permission.CATALOG_WRITE)
    if len(specs) > MAX_PRODUCTS_PER_UPSERT:
        raise InvalidInput.one(
            ["products"], "TOO_MANY", f"at most {MAX_PRODUCTS_PER_UPSERT} products per call"
        )
    account = await Account.get(id=actor.account_id)
    price_types = dict(await PriceType.filter(account_id=account.id).values_list("code", "id"))
    problems = ProblemList()
    checked = [
        _check_product(problems, s, i, account.currency, set(price_types)) for i, s in enumerate(specs)
    ]
    _check_duplicates(problems, checked)
    problems.raise_if_any()
    for attempt in range(3):
        try:
            async with transaction():
                return await _write_products(account.id, checked, price_types)
        except IntegrityError as exc:
            # Two calls created the same new article or sku at once: the loser re-reads and updates.
            if attempt == 2:
                raise InvalidInput.one(
                    ["products"], "CONFLICT", "the same products are being changed by another call; retry"
                ) from exc
    raise AssertionError("unreachable")


async def _write_products(
    account_id: uuid.UUID, products: list[_CheckedProduct], price_types: dict[str, uuid.UUID]
) -> list[Product]:
    group_ids = await _ensure_group_paths(account_id, [p.group_path for p in products if p.group_path])
    existing = {
        p.article: p
        for p in await Product.filter(account_id=account_id, article__in=[p.article for p in products])
    }
    all_skus = [v.sku for p in products for v in p.variants]
    existing_variants = {v.sku: v for v in await Variant.filter(account_id=account_id, sku__in=all_skus)}

    problems = ProblemList()
    for index, spec in enumerate(products):
        owner = existing.get(spec.article)
        for v_index, variant in enumerate(spec.variants):
            found = existing_variants.get(variant.sku)
            if found is not None and (owner is None or found.product_id != owner.id):
                problems.add(
                    ["products", str(index), "variants", str(v_index), "sku"],
                    "SKU_TAKEN",
                    f"sku {variant.sku!r} belongs to another product",
                )
    problems.raise_if_any()

    to_create: list[Product] = []
    result: list[Product] = []
    for spec in products:
        values = {
            "name": spec.name,
            "unit": spec.unit,
            "vat_rate": spec.vat_rate,
            "barcodes": spec.barcodes,
            "description": spec.description,
            "archived": spec.archived,
            "is_service": spec.is_service,
            "group_id": group_ids[GROUP_SEPARATOR.join(spec.group_path)] if spec.group_path else None,
        }
        product = existing.get(spec.article)
        if product is None:
            product = Product(id=uuid.uuid4(), account_id=account_id, article=spec.article, **values)
            to_create.append(product)
        else:
            changed = [k for k, v in values.items() if getattr(product, k) != v]
            if changed:
                for key in changed:
                    setattr(product, key, values[key])
                await product.save(update_fields=[*changed, "updated_at"])
        result.append(product)
    if to_create:
        await Product.bulk_create(to_create)

    new_variants: list[Variant] = []
    wanted_prices: dict[uuid.UUID, dict[str, int]] = {}
    for spec, product in zip(products, result, strict=True):
        for vspec in spec.variants:
            variant = existing_variants.get(vspec.sku)
            if variant is None:
                variant = Variant(
                    id=uuid.uuid4(),
                    account_id=account_id,
                    product_id=product.id,
                    sku=vspec.sku,
                    characteristics=vspec.characteristics,
                    barcodes=vspec.barcodes,
                )
                new_variants.append(variant)
            else:
                changed = []
                if variant.characteristics != vspec.characteristics:
                    variant.characteristics = vspec.characteristics
                    changed.append("characteristics")
                if variant.barcodes != vspec.barcodes:
                    variant.barcodes = vspec.barcodes
                    changed.append("barcodes")
                if changed:
                    await variant.save(update_fields=changed)
            wanted_prices[variant.id] = vspec.prices
    if new_variants:
        await Variant.bulk_create(new_variants)
    await _write_prices(account_id, wanted_prices, price_types)
    return result


async def _write_prices(
    account_id: uuid.UUID, wanted: dict[uuid.UUID, dict[str, int]], price_types: dict[str, uuid.UUID]
) -> None:
    current = {
        (p.variant_id, p.price_type_id): p
        for p in await Price.filter(account_id=account_id, variant_id__in=list(wanted))
    }
    new: list[Price] = []
    for variant_id, prices in wanted.items():
        for code, amount in prices.items():
            key = (variant_id, price_types[code])
            price = current.get(key)
            if price is None:
                new.append(
                    Price(
                        id=uuid.uuid4(),
                        account_id=account_id,
                        variant_id=variant_id,
                        price_type_id=price_types[code],
                        amount_minor=amount,
                    )
                )
            elif price.amount_minor != amount:
                price.amount_minor = amount
                await price.save(update_fields=["amount_minor"])
    if new:
        await Price.bulk_create(new)


def parse_ids(raw_ids: Sequence[object], field: Sequence[str], what: str) -> list[uuid.UUID]:
    return [parse_id(raw, [*field, str(i)], what) for i, raw in enumerate(raw_ids)]
