"""The system calls no build needs, refused inside the embedded sandbox.

Docker applies its own default profile; bubblewrap applies none unless given one. These are
the kernel interfaces that container escapes and local privilege escalations have gone
through (keyrings, eBPF, perf, userfaultfd, io_uring, module and kexec loading, mounts,
new namespaces), plus the calls an unprivileged process has no use for at all. Everything
else stays allowed: a compiler, a linker and a Python backend must run unchanged. The
filter is compiled by libseccomp (through pyseccomp) for the host's architecture.
"""

from __future__ import annotations

import contextlib
import errno
import tempfile
from collections.abc import Iterator
from typing import IO

from builder.errors import SandboxUnavailable

REFUSED = (
    # kernel keyrings, eBPF, perf events, userfaultfd, io_uring
    "add_key", "keyctl", "request_key", "bpf", "perf_event_open", "userfaultfd",
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # modules, kexec, reboot, swap, accounting, the kernel log, quotas
    "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load",
    "reboot", "swapon", "swapoff", "acct", "syslog", "quotactl",
    # mounts and namespaces: the sandbox's own are made before the filter applies
    "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "mount_setattr",
    "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    # handles that bypass path checks, raw I/O ports, clock and time changes
    "open_by_handle_at", "name_to_handle_at", "ioperm", "iopl", "settimeofday",
    "clock_settime", "clock_adjtime", "adjtimex", "lookup_dcookie", "uselib",
    "ptrace", "process_vm_readv", "process_vm_writev",
)  # fmt: skip
# clone(2) flags that make a new namespace; clone3 takes its flags in memory, where a
# filter cannot look, so it is refused with ENOSYS and the C library falls back to clone.
NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
    0x00000080,  # CLONE_NEWTIME
)


def filter_program() -> bytes:
    """The compiled BPF program, as bwrap --seccomp reads it."""
    try:
        import pyseccomp as seccomp
    except OSError as exc:  # pyseccomp loads libseccomp when imported
        raise SandboxUnavailable(
            f"libseccomp cannot be loaded: {exc}", hint="apt-get install libseccomp2"
        ) from None
    refuse = seccomp.ERRNO(errno.EPERM)
    rules = seccomp.SyscallFilter(seccomp.ALLOW)
    for name in REFUSED:
        rules.add_rule(refuse, name)
    for flag in NAMESPACE_FLAGS:
        rules.add_rule(refuse, "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    with tempfile.TemporaryFile() as program:
        rules.export_bpf(program)
        program.seek(0)
        return program.read()


@contextlib.contextmanager
def filter_file() -> Iterator[IO[bytes]]:
    """The program in an open file, rewound, for as long as the sandbox starts."""
    with tempfile.TemporaryFile() as program:
        program.write(filter_program())
        program.seek(0)
        yield program
