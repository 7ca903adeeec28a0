"""Signals of the registers app: layers above listen without registers importing them."""

from django.dispatch import Signal

# Sent after the transaction that saved a register's marks commits; ``schema_name`` is the
# school's. The dashboards refresh their figures on it (dashboards/figures.py).
marks_saved = Signal()
