"""Tortoise ORM models, one module per domain. MODEL_MODULES is what Tortoise loads."""

MODEL_MODULES = [
    "models.accounts",
    "models.campaigns",
    "models.catalog",
    "models.customers",
    "models.events",
    "models.fiscal",
    "models.inventory",
    "models.orders",
    "models.purchasing",
]
