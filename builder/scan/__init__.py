"""Scans of what builder is about to build and what it built: pickled code."""
