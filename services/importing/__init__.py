"""Importing the UCI Online Retail data set: read and check the file, classify its lines,
plan what each invoice becomes, then load the plan through the services (docs/IMPORT.md)."""
