"""Explain the difference between two wheels, member by member: the zip level in wheel.py,
then one module per format a member can have (ELF, .pyc, Rust symbols inside ELF)."""
