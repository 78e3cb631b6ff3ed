"""Uploaded supporting documents (filled in by the web issue)."""
