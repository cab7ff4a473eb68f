"""Flow tests use `prefect_harness` from tests/conftest.py (one harness per session)."""
