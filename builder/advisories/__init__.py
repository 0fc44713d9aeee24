"""Known-malicious and known-vulnerable releases, from an OSV snapshot kept offline."""
