"""What a network-on run of an image needs (the fetch and pinning phases): a time limit,
and the host's TLS trust roots."""

from __future__ import annotations

import os
from pathlib import Path

from builder.limits import Limits
from builder.sandbox import Mount

# Not under /etc: the sandbox backend binds the image's /etc read-only, where no mount
# point can be made; a new top-level folder can be.
CA_TARGET = "/host-ca/ca-certificates.crt"
NETWORK_LIMITS = Limits(timeout_s=900)


def host_ca_bundle() -> Path | None:
    """The trust roots the host's own clients use (a TLS-inspecting proxy may need them).

    Only the fetch container sees them; they are public certificates, not credentials.
    """
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).resolve()
    return None


def network_access(env: dict[str, str]) -> tuple[dict[str, str], tuple[Mount, ...]]:
    """What a network-on container of the image needs to trust the host's TLS roots."""
    bundle = host_ca_bundle()
    if bundle is None:
        return env, ()
    trust = {"CARGO_HTTP_CAINFO": CA_TARGET, "SSL_CERT_FILE": CA_TARGET, "PIP_CERT": CA_TARGET}
    return env | trust, (Mount(source=bundle, target=CA_TARGET),)
