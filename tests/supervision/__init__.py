"""Supervision (issue 18): supply guarantee, price governance, use monitoring, warnings."""
