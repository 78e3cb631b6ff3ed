"""Audit chain anchors and archive records (filled in by the replay issue)."""
