"""A corpus of hostile sdists: each setup.py tries one thing from inside a real build.

Every attempt prints `HOSTILE <name> blocked: <why>` when the sandbox stopped it and
`HOSTILE <name> REACHED: <what>` when it got through, then fails the build (so nothing of
it is ever published). Runaway attacks (fork, memory, disk, time, output) have no end of
their own: the limits must stop them. Placeholders ({TOKEN}, {HOST_PORT}, {BRIDGE},
{CANARY_HEAD}, {CANARY_TAIL}, {HOST_PATHS}) are filled in by the tests.
"""

from __future__ import annotations

PRELUDE = """\
import os, socket, subprocess, sys, time
def report(name, reached, detail):
    word = "REACHED" if reached else "blocked"
    print(f"HOSTILE {name} {word}: {detail}", file=sys.stderr, flush=True)
def try_write(name, targets, mode, text):
    for target in targets:
        try:
            with open(target, mode) as f:
                f.write(text)
            report(name, True, target)
        except OSError as exc:
            report(name, False, f"{target}: {exc.strerror}")
"""

FINISH = "\nraise SystemExit(1)\n"

# Write one file in FOLDER without end: the folder's size limit must stop it.
FILL = """
try:
    with open("{FOLDER}/fill", "wb") as f:
        while True:
            f.write(b"x" * (1 << 20))
except OSError as exc:
    report("{NAME}", False, f"{FOLDER}: {exc.strerror}")
"""

ATTACKS: dict[str, str] = {
    "network": """
for host, port in [("127.0.0.1", {HOST_PORT}), ("{BRIDGE}", {HOST_PORT}), ("1.1.1.1", 443)]:
    try:
        socket.create_connection((host, port), timeout=3).close()
        report("network", True, f"connected to {host}:{port}")
    except OSError as exc:
        report("network", False, f"{host}:{port}: {exc}")
try:
    report("network", True, f"resolved {socket.getaddrinfo('pypi.org', 443)[0][4]}")
except OSError as exc:
    report("network", False, f"DNS: {exc}")
for sock in ("/var/run/docker.sock", "/run/docker.sock"):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sock)
        report("network", True, f"connected to {sock}")
    except OSError as exc:
        report("network", False, f"{sock}: {exc}")
""",
    "write-outside": """
folders = ["/", "/etc", "/usr", "/root", "/inputs", "/inputs/sdist", "/var/tmp"]
try_write("write-outside", [os.path.join(d, "escape-{TOKEN}") for d in folders], "w", "escaped")
""",
    "read-host-secrets": """
CANARY = "{CANARY_HEAD}" + "{CANARY_TAIL}"  # never whole in this file
leaked = [k for k, v in os.environ.items() if CANARY in v]
report("read-host-secrets", bool(leaked), f"canary in environment: {leaked}")
found = []
for root in ["/", "/root", "/home"]:
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath.startswith(("/proc", "/sys", "/dev", "/usr", "/inputs")):
            dirnames[:] = []
            continue
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                with open(path, "rb") as f:
                    if CANARY.encode() in f.read(1 << 20):
                        found.append(path)
            except OSError:
                pass
report("read-host-secrets", bool(found), f"canary in files: {found}")
for path in ["~/.docker/config.json", "~/.pypirc", "~/.netrc", "~/.ssh/id_ed25519",
             "/root/.docker/config.json", "/root/.ssh/id_rsa"]:
    path = os.path.expanduser(path)
    report("read-host-secrets", os.path.exists(path), f"{path} exists: {os.path.exists(path)}")
""",
    "escalate": """
try:
    os.setuid(0); report("escalate", True, "setuid(0)")
except OSError as exc:
    report("escalate", False, f"setuid(0): {exc.strerror}")
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.mount(b"none", b"/mnt", b"tmpfs", 0, None) == 0:
    report("escalate", True, "mounted a tmpfs on /mnt")
else:
    report("escalate", False, f"mount(2): {os.strerror(ctypes.get_errno())}")
for cmd in (["su", "-c", "id -u", "root"],):
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10,
                           stdin=subprocess.DEVNULL)
        reached = r.returncode == 0
        report("escalate", reached, f"{cmd[0]}: status {r.returncode} {r.stderr.strip()[:80]}")
    except (OSError, subprocess.TimeoutExpired) as exc:
        report("escalate", False, f"{cmd[0]}: {exc}")
try:
    with open("/proc/self/status") as f:
        caps = [l.split()[1] for l in f if l.startswith(("CapEff", "CapPrm", "NoNewPrivs"))]
    privileged = caps[:2] != ["0000000000000000"] * 2 or caps[2] != "1"
    report("escalate", privileged, f"CapPrm/CapEff/NoNewPrivs {caps}")
except OSError as exc:
    report("escalate", True, f"cannot read own status: {exc}")
try:
    socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    report("escalate", True, "opened a raw socket")
except OSError as exc:
    report("escalate", False, f"raw socket: {exc.strerror}")
others = []
markers = ["pytest", "dockerd", "containerd", *{HOST_PATHS}]
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    for part in ("cmdline", "environ"):
        try:
            with open(f"/proc/{pid}/{part}", "rb") as f:
                text = f.read().replace(b"\\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if seen := [m for m in markers if m in text]:
            others.append(f"/proc/{pid}/{part} names {seen}: {text[:80]}")
report("escalate", bool(others), f"host processes or paths visible: {others}")
""",
    "tamper-tools": """
import glob
found = glob.glob("/opt/builder/tools/lib/python3*/site-packages/auditwheel/main.py")
if not found:
    report("tamper-tools", True, "no tools venv where this attack expects it")
site = os.path.dirname(os.path.dirname(found[0])) if found else "/opt/builder/tools"
targets = [*found, os.path.join(site, "zz-{TOKEN}.pth"), "/opt/builder/venv/pyvenv.cfg"]
try_write("tamper-tools", targets, "a", "import os")
""",
    "kernel-surface": """
import ctypes, platform
libc = ctypes.CDLL(None, use_errno=True)
if platform.machine() != "x86_64":
    report("kernel-surface", True, f"this attack knows x86_64 only, not {platform.machine()}")
attempts = {  # name: (x86_64 syscall number, arguments)
    "keyctl": (250, [0, -3, 0]),  # KEYCTL_GET_KEYRING_ID, the session keyring
    "add_key": (248, [b"user", b"builder-{TOKEN}", b"x", 1, -3]),
    "bpf": (321, [0, 0, 0]),  # BPF_MAP_CREATE
    "perf_event_open": (298, [0, 0, -1, -1, 0]),
    "userfaultfd": (323, [0]),
    "unshare-user": (272, [0x10000000]),  # unshare(CLONE_NEWUSER)
    "clone-newuser": (56, [0x10000000 | 17, 0, 0, 0, 0]),  # clone(CLONE_NEWUSER|SIGCHLD)
    "mount": (165, [b"none", b"/tmp", b"tmpfs", 0, 0]),
}
for name, (number, args) in attempts.items():
    result = libc.syscall(number, *args)
    if result == 0 and name == "clone-newuser":
        os._exit(0)  # the child, had the clone worked
    if result >= 0:
        report("kernel-surface", True, f"{name} returned {result}")
    else:
        report("kernel-surface", False, f"{name}: {os.strerror(ctypes.get_errno())}")
setup = libc.syscall(425, 1, ctypes.create_string_buffer(120))  # io_uring_setup
word = "REACHED" if setup >= 0 else "blocked"
print(f"HOSTILE io-uring {word}: io_uring_setup gave {setup}", file=sys.stderr, flush=True)
""",
    "leave-behind": """
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "{TOKEN}"],
                 start_new_session=True)
with open("/tmp/left-{TOKEN}", "w") as f:
    f.write("left behind")
report("leave-behind", False, "started a detached sleep and wrote /tmp/left-{TOKEN}")
""",
    "link-out": """
os.makedirs("/out", exist_ok=True)
os.symlink("/tmp/host-canary-{TOKEN}", "/out/result.json")
os.symlink("/etc", "/out/etc")
report("link-out", False, "planted links in /out and said the output is ready")
print("==> builder: output ready", flush=True)
time.sleep(600)
""",
    "fork-bomb": """
children = 0
try:
    while True:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        children += 1
except OSError as exc:
    report("fork-bomb", False, f"fork failed after {children} children: {exc.strerror}")
""",
    "memory": """
hog = []
try:
    while True:
        hog.append(bytearray(64 << 20))
except MemoryError:
    report("memory", False, f"MemoryError after {len(hog) * 64} MiB")
""",
    "fill-tmp": FILL.replace("{NAME}", "fill-tmp").replace("{FOLDER}", "/tmp"),
    "fill-out": FILL.replace("{NAME}", "fill-out").replace("{FOLDER}", "/out"),
    "run-forever": """
report("run-forever", False, "sleeping forever")
while True:
    time.sleep(1)
""",
    "print-forever": """
line = "x" * (1 << 16)
while True:
    print(line, flush=True)
""",
}


def setup_py(name: str, **values: object) -> str:
    code = ATTACKS[name]
    for key, value in values.items():
        code = code.replace("{" + key + "}", str(value))
    return PRELUDE + code + FINISH
