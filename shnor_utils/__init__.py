"""shnor_utils — the helper package of shnor-reports.

Data flows one way: readers → canonical tables (`dataset`) → indicators → presentation
(`report`, `charts`) → notebooks → batch (`batch`).
"""
__version__ = "0.1.0"
