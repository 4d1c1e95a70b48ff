"""Compatibility home of names CodeCarbon users import from ``codecarbon.external``."""
