"""Time from `posturebridge up` to all three services answering /healthz, and to a clean stop on SIGTERM.

    .venv/bin/python bench/startup.py [--runs 5] [--seed]

Each run uses a fresh data directory (first start: TLS material, migrations) and then restarts on the same
directory (warm start). Prints per-run seconds and the worst.
"""

from __future__ import annotations

import argparse
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_and_stop(data_dir: Path, seed: bool) -> tuple[float, float]:
    ports = [free_port() for _ in range(3)]
    command = [
        sys.executable,
        "-m",
        "posturebridge",
        "up",
        "--data-dir",
        str(data_dir),
        "--directory-port",
        str(ports[0]),
        "--mdm-port",
        str(ports[1]),
        "--partner-port",
        str(ports[2]),
    ]
    if seed:
        command += ["--seed", "demo"]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    urls = [f"https://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}", f"http://127.0.0.1:{ports[2]}"]
    ca = data_dir / "tls" / "ca.pem"
    try:
        for url in urls:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"posturebridge up exited with {process.returncode}")
                try:
                    verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(ca)) if ca.exists() else True
                    if httpx.get(f"{url}/healthz", verify=verify, timeout=1.0).status_code == 200:
                        break
                except (httpx.TransportError, ssl.SSLError, OSError):
                    pass
                time.sleep(0.05)
        ready = time.perf_counter() - started
    finally:
        stopping = time.perf_counter()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
    if code != 0:
        raise SystemExit(f"posturebridge up stopped with {code}")
    return ready, time.perf_counter() - stopping


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", action="store_true", help="with --seed demo")
    args = parser.parse_args()
    cold, warm, stops = [], [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            ready, stop = start_and_stop(Path(tmp), args.seed)
            cold.append(ready)
            stops.append(stop)
            ready, stop = start_and_stop(Path(tmp), args.seed)
            warm.append(ready)
            stops.append(stop)
    print(f"up -> three /healthz, first start: {', '.join(f'{s:.2f}' for s in cold)} s (worst {max(cold):.2f} s)")
    print(f"up -> three /healthz, restart:     {', '.join(f'{s:.2f}' for s in warm)} s (worst {max(warm):.2f} s)")
    print(f"SIGTERM -> exit 0: worst {max(stops):.2f} s")


if __name__ == "__main__":
    main()
