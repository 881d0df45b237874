"""No N+1: a page of products with variants, prices and groups costs the same few SQL queries
for 10 products as for 100.
"""

from __future__ import annotations

from tests.conftest import Company, count_queries
from tests.test_catalog import tshirt, upsert

PRODUCT_PAGE = """
query($first: Int) { products(first: $first) { nodes {
  id article name group { id name parent { name } }
  variants { id sku characteristics { name value } prices { priceType { code } amount } product { article } } } } }
"""

# Authenticate (1), the account for its currency (1), the page (1), variants (1),
# prices with their types (1), products of variants (1), groups (1), parent groups (1).
PINNED_PRODUCT_PAGE_QUERIES = 8


async def load_products(company: Company, count: int) -> None:
    products = []
    for i in range(count):
        product = tshirt(f"P{i:03}")
        product["groupPath"] = ["Clothes", f"Line {i % 7}"]
        products.append(product)
    await upsert(company, products)


async def queries_for_page(company: Company, first: int) -> int:
    with count_queries() as counter:
        data = await company.api.ok(PRODUCT_PAGE, {"first": first})
    assert len(data["products"]["nodes"]) == first
    assert all(len(p["variants"]) == 2 and p["variants"][0]["prices"] for p in data["products"]["nodes"])
    return len(counter.statements)


async def test_listing_100_products_takes_as_many_queries_as_listing_10(company):
    await load_products(company, 100)
    ten = await queries_for_page(company, 10)
    hundred = await queries_for_page(company, 100)
    assert ten == hundred == PINNED_PRODUCT_PAGE_QUERIES
