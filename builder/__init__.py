"""builder: hermetic, reproducible builds and provenance for Python wheels."""

__version__ = "0.1.0"
