"""Measurement scripts run against a scratch school (not part of the test suite).

Run each as ``.venv/bin/python benchmarks/<name>.py``; they set Django up themselves.
"""
