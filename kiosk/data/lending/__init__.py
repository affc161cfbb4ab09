"""Lending: the kiosk's circulation rules (checkout, checkin, renew), the library card and the librarian's PIN lock."""
