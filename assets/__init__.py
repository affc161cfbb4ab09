"""Styles and demo data, installed as the package ``kiosk.assets``."""
