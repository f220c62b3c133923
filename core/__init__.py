"""Shared kernel: declarative base, money, errors, actors, organizations, audit, clock.

Plain Python + SQLAlchemy; never imports Flask. Dependency direction, one way:
core <- bidding <- ledger <- reports <- app.
"""
