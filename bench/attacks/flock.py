"""
Attack: hold a shared flock on the status file's lock file.

The status-file back-end saves under an exclusive flock on .NAME.lock next
to the status file NAME.  Anyone who can open that file can hold a shared
flock on it for as long as they like.  This script starts the real service
with the setter, makes one set (so that the lock file exists, as it does on
any server that ever saved), then, for each holder:

- another local user (nobody, when this script runs as root: the attack as
  it happens on a real host, with the status file's directory 0755);
- the service's own user (a stuck script of the administrator's, or the
  same attack where the permissions cannot keep the holder out);

takes a shared flock on the lock file in a separate process and measures:
how long each set through the setter port takes to be answered and what it
answers, whether an outside edit of the status file is seen by the server
while the lock is held, and, at the end, how long the server takes to exit
on SIGTERM while the lock is still held and a set waits for it.

    .venv/bin/python bench/attacks/flock.py
"""

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from typing import List, Optional, Tuple

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import LegitFinger, Service, fingerOnce, report  # noqa: E402

NOBODY = 65534

_HOLDER = """
import fcntl, os, sys, time
path, uid = sys.argv[1], int(sys.argv[2])
if uid >= 0:
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
try:
    fd = os.open(path, os.O_RDONLY)
except OSError as e:
    print("cannot open it:", e.strerror, flush=True)
    sys.exit()
for attempt in range(200):
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        break
    except BlockingIOError:
        time.sleep(0.01)
else:
    print("cannot lock it", flush=True)
    sys.exit()
print("holding a shared flock", flush=True)
sys.stdin.readline()
"""


class Holder:
    """
    A process holding a shared flock on C{path}, as the user C{uid} (-1:
    this script's user), until it is released.
    """

    def __init__(self, path: str, uid: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLDER, path, str(uid)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.process.stdout is not None
        self.state = self.process.stdout.readline().decode().strip()
        self.holding = self.state.startswith("holding")

    def release(self) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(b"\n")
            self.process.stdin.close()
        except BrokenPipeError:
            pass
        self.process.wait(10)


def setStatus(port: int, user: str, status: str, timeout: float = 60.0) -> Tuple[float, str]:
    """
    Set C{user}'s status through the setter port.

    @return: the seconds until the answer, and the answer.
    """
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(f"{user}\r\n{status}\r\n".encode())
        chunks = []
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            chunks.append(b"(no answer)")
    return time.monotonic() - started, b"".join(chunks).decode(errors="replace").strip()


def editSeen(service: Service, path: str, marker: str, within: float = 5.0) -> Optional[float]:
    """
    Edit the status file from outside (a new file renamed over it, as an
    editor saves), and wait for the server to serve the change.

    @return: the seconds until finger showed it, or L{None} if it did not
        within C{within} seconds.
    """
    with open(path, "rb") as f:
        content = f.read()
    new = path + ".edit"
    with open(new, "wb") as f:
        f.write(content + f"edited: {marker}\n".encode())
    os.chmod(new, 0o644)
    os.rename(new, path)
    started = time.monotonic()
    while time.monotonic() - started < within:
        if marker.encode() in fingerOnce(service.fingerPort, b"edited", timeout=5):
            return time.monotonic() - started
        time.sleep(0.05)
    return None


def describe(path: str) -> str:
    st = os.stat(path)
    return f"mode {stat.S_IMODE(st.st_mode):04o}, owner uid {st.st_uid}"


def main() -> None:
    holders: List[Tuple[str, int]] = []
    if os.geteuid() == 0:
        holders.append(("another local user (nobody)", NOBODY))
    holders.append(("the service's own user", -1))
    with Service(setter=True, users={"moshez": "Happy and well", "alice": "here"}) as service:
        assert service.setterPort is not None
        # As /etc would be: other users may look into the directory.
        os.chmod(service.work, 0o755)
        directory, name = os.path.split(service.statusFile)
        lock = os.path.join(directory, "." + name + ".lock")
        with LegitFinger(service.fingerPort) as legit:
            took, answer = setStatus(service.setterPort, "alice", "first set")
            figures = {"first set (no holder)": f"{took:.3f} s: {answer}",
                       "lock file": describe(lock)}
            for n, (who, uid) in enumerate(holders):
                holder = Holder(lock, uid)
                figures[f"{who}: holder"] = holder.state
                for attempt in range(2):
                    took, answer = setStatus(service.setterPort, "alice", f"set {n}.{attempt}")
                    figures[f"{who}: set {attempt + 1}"] = f"{took:.3f} s: {answer}"
                seen = editSeen(service, service.statusFile, f"outside edit {n}")
                figures[f"{who}: outside edit seen"] = (
                    "no, not within 5 s" if seen is None else f"yes, after {seen:.3f} s")
                holder.release()
                took, answer = setStatus(service.setterPort, "alice", f"after {n}")
                figures[f"{who}: set once released"] = f"{took:.3f} s: {answer}"
        report("status-file lock held by another process", legit, service, **figures)
        # SIGTERM while the lock is held and a set waits for it.
        holder = Holder(lock, -1)
        client = subprocess.Popen(
            [sys.executable, "-c",
             "import socket, sys; s = socket.create_connection(('127.0.0.1', int(sys.argv[1])));"
             "s.sendall(b'alice\\r\\nstuck\\r\\n'); s.settimeout(60); s.recv(4096)",
             str(service.setterPort)], stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        assert service.process is not None
        started = time.monotonic()
        service.process.send_signal(signal.SIGTERM)
        try:
            service.process.wait(30)
            exited = f"{time.monotonic() - started:.3f} s (exit status {service.process.returncode})"
        except subprocess.TimeoutExpired:
            exited = "still running after 30 s (killed)"
            service.process.kill()
            service.process.wait()
        holder.release()
        client.kill()
        client.wait()
        print(f"   SIGTERM while held, a set waiting: exited after {exited}")
        lockLines = [line.split(" ", 2)[-1] for line in service.log().splitlines()
                     if ".lock" in line]
        print(f"   log lines naming the lock: {len(lockLines)}")
        for line in lockLines[:4]:
            print(f"     {line}")


if __name__ == "__main__":
    main()
