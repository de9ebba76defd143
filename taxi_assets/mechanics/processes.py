"""Processes that end with the one that started them, and whether a process still exists.

A command started with `dies_with_me(command)` gets one SIGTERM when its starter dies, even by
SIGKILL (Linux's PR_SET_PDEATHSIG): the course command's `dagster` runs then stop loading and
record their end instead of going on unwatched. Between the two sits this file, run as a small
single-threaded watcher:
  - the kernel signals a child each time it is handed from a dying thread of its parent to
    the next, so a child of the (multi-threaded) course would get several SIGTERMs, and
    Dagster takes a second one as a second interrupt in the middle of cancelling the first;
    the watcher has one thread, so its command gets exactly one;
  - subprocess's `preexec_fn` is unsafe in a process with threads, and safe in the watcher.
The watcher dies (SIGKILL) with its starter, ignores a terminal's Ctrl-C (the command gets it
directly) and exits with the command's status. Run in isolated mode (-I), it imports only the
standard library. Elsewhere than on Linux the command simply runs.
"""

import ctypes
import os
import signal
import subprocess
import sys

_PR_SET_PDEATHSIG = 1


def dies_with_me(command: list[str]) -> list[str]:
    """`command`, run so that it receives one SIGTERM when this process dies.

    The signal follows the *thread* that starts it: start it from a thread that waits for it.
    """
    return [sys.executable, "-I", os.path.abspath(__file__), str(os.getpid()), *command]


def process_alive(pid: int) -> bool:
    """Whether a process `pid` exists on this machine (a zombie counts until it is reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _on_parent_death(sig: int, parent: int) -> None:
    """Receive `sig` when the parent dies; exit now if it already has (nobody would send it)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, sig) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os._exit(1)


def _watch(parent: int, command: list[str]) -> int:
    """The watcher: run `command`, tied to this process, itself tied to `parent`."""
    _on_parent_death(signal.SIGKILL, parent)
    me = os.getpid()
    child = subprocess.Popen(command, preexec_fn=lambda: _on_parent_death(signal.SIGTERM, me))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # after the start: an ignored signal is inherited
    code = child.wait()
    return code if code >= 0 else 128 - code  # killed by a signal: the shell's convention


if __name__ == "__main__":
    sys.exit(_watch(int(sys.argv[1]), sys.argv[2:]))
