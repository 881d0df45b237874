"""Tortoise ORM models, one module per domain. MODEL_MODULES is what Tortoise loads."""

MODEL_MODULES = [
    "models.accounts",
    "models.catalog",
    "models.customers",
]
