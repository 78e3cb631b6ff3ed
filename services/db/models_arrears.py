"""Arrears campaign records (measure 10) (filled in by the arrears issue)."""
