"""Knack API simulator and the generated school-coaching demo app."""
