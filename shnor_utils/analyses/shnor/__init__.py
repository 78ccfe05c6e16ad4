"""Analysis «shnor»: analysis.py (spec), compute.py (indicators), present.py (what its templates show)."""
