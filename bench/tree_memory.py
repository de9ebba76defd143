"""Peak memory of a command's whole process tree, sampled while it runs (psutil)."""

import subprocess
import threading
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class TreePeak:
    """The highest resident-set sum over the tree, and the highest of any one process."""

    sum_mb: float = 0.0
    process_mb: float = 0.0
    process_name: str = ""
    processes_seen: set[int] = field(default_factory=set)

    def sample(self, root: psutil.Process) -> None:
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            try:
                rss = proc.memory_info().rss / 1e6
                name = " ".join(proc.cmdline()[:4])
            except psutil.Error:  # ended between listing and reading
                continue
            self.processes_seen.add(proc.pid)
            total += rss
            if rss > self.process_mb:
                self.process_mb, self.process_name = rss, name
        self.sum_mb = max(self.sum_mb, total)


def run_measured(command: list[str], env: dict[str, str], cwd: str, every: float = 0.25) -> dict:
    """Run `command` to completion; its wall time, exit code, output tail and memory peaks."""
    peak, started = TreePeak(), time.monotonic()
    proc = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(proc.stdout or []), daemon=True)
    reader.start()
    root = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            peak.sample(root)
        except psutil.NoSuchProcess:
            break
        time.sleep(every)
    proc.wait()
    reader.join()
    return {
        "seconds": round(time.monotonic() - started, 2),
        "returncode": proc.returncode,
        "output_tail": "".join(output[-40:]),
        "peak_tree_rss_mb": round(peak.sum_mb, 1),
        "peak_process_rss_mb": round(peak.process_mb, 1),
        "peak_process": peak.process_name,
        "processes": len(peak.processes_seen),
    }
