"""Processes that end with the one that started them, and whether a process still exists.

A child started with `dies_with_me(command)` gets SIGTERM when its parent dies, even by
SIGKILL (Linux's PR_SET_PDEATHSIG): the course command's `dagster` runs then stop loading
instead of going on unwatched. subprocess's `preexec_fn` could set it, but is unsafe in a
process with threads (the course loads its datasets from threads), so the child sets it itself:
this file, run as a script, sets the signal and then becomes the command (the signal survives
exec; elsewhere than on Linux the command runs without it). Run in isolated mode (-I), it
imports nothing but the standard library. The signal is sent when the *thread* that started
the child ends: start children from a thread that waits for them.
"""

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1


def dies_with_me(command: list[str]) -> list[str]:
    """`command`, run so that it receives SIGTERM when this process dies."""
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


def _become(parent: int, command: list[str]) -> None:
    """Set the death signal, check the parent did not die first, exec the command."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:  # it died before the signal was set: nobody would send it
        sys.exit(f"{command[0]}: not started, its parent process {parent} has exited")
    os.execv(command[0], command)


if __name__ == "__main__":
    _become(int(sys.argv[1]), sys.argv[2:])
