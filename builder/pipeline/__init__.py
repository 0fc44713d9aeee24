"""The only place the stages are chained, one module per chain: build (a recipe's build,
rebuilds and attestations), audit (a rebuild from an attestation), graph (a plan's graph),
publish (into an index, and back out of it), store_check (the whole store checked). A
build is asked for by a BuildRequest and runs in a Workspace (request.py).

Nothing is imported here: each command imports the chain it runs, so that a command
starts without loading the others."""
