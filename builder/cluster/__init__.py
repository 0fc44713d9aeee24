"""Build graphs on a Dask distributed cluster: the head (this process) plans, fetches,
checks and signs; workers only build.

- job.py: what crosses the network, both ways (no key ever does)
- worker.py: what a worker runs: one isolated build in its own store and sandbox
- place.py: the head's side of one build: inputs out by digest, the wheel back, checked
- executor.py: the executor interface (builder.executor) over a Dask client
- local.py: `--cluster local:N`: a scheduler and N workers as processes of this machine
"""
