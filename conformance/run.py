"""`make conformance`: PnPjs 4 (an independent SharePoint client, on Node) against the
emulator started as `copil emulator`. Installs the pinned PnPjs with npm into
conformance/node_modules (git-ignored); without Node.js or npm, says so and stops cleanly."""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def main() -> int:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("conformance : Node.js ou npm absent de cette machine, PnPjs non vérifié (installez Node.js 18+).")
        return 0
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()  # v20.20.2
    try:
        major = int(version.lstrip("v").split(".")[0])
    except ValueError:
        major = 0
    if major < 18:  # PnPjs 4 needs fetch and ES modules of Node 18
        print(f"conformance : Node.js {version or 'inconnu'} trop ancien pour PnPjs 4 (18 ou plus), PnPjs non vérifié.")
        return 0
    if not (HERE / "node_modules" / "@pnp" / "sp").exists():
        print("conformance : installation de PnPjs (npm ci)…", flush=True)
        if subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE).returncode != 0:
            print("conformance : npm n'a pas pu installer PnPjs (registre npm injoignable ?), PnPjs non vérifié.")
            return 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    token, admin = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jobs.cli",
            "emulator",
            "--memory",
            "--port",
            str(port),
            "--token",
            f"{token}:manage",
            "--admin-token",
            admin,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(150):
            try:
                requests.get(
                    f"http://127.0.0.1:{port}/_emulator/stats", headers={"Authorization": f"Bearer {admin}"}, timeout=1
                )
                break
            except requests.ConnectionError:
                if emulator.poll() is not None:
                    print("conformance : l'émulateur s'est arrêté au démarrage")
                    return 1
                time.sleep(0.2)
        print(f"conformance : PnPjs contre copil emulator sur le port {port}", flush=True)
        return subprocess.run(
            [node, str(HERE / "pnp.mjs"), f"http://127.0.0.1:{port}/sites/projets", token], cwd=HERE
        ).returncode
    finally:
        emulator.terminate()
        emulator.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
