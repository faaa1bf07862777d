"""A frozen dossier as PDF: LibreOffice headless, when the server has it. Bounded: one process
for the dossier's files with its own profile and a timeout; without LibreOffice the .docx alone
is published (said once per run, not an error)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

TIMEOUT_S = 300


def soffice_env() -> dict[str, str]:
    """LibreOffice formats a chart's numbers in its own locale, not the document's: in French
    (« 1,50 », not « 1.50 »). It reads the name from the environment; the system need not have
    the French locale installed."""
    return {**os.environ, "LC_ALL": "fr_FR.UTF-8", "LANG": "fr_FR.UTF-8"}


def available() -> bool:
    return shutil.which("soffice") is not None


def to_pdf(files: dict[str, bytes], timeout: int = TIMEOUT_S) -> dict[str, bytes]:
    """{name.docx: bytes} -> {name.pdf: bytes}; raises on a conversion that fails or times out."""
    with tempfile.TemporaryDirectory(prefix="copil-pdf-") as tmp:
        work = Path(tmp)
        staged = []
        for i, (name, data) in enumerate(files.items()):
            p = work / "in" / f"{i:04d}.docx"  # plain names: LibreOffice names the PDF after the file
            p.parent.mkdir(exist_ok=True)
            p.write_bytes(data)
            staged.append((name, p))
        subprocess.run(
            [
                "soffice",
                f"-env:UserInstallation=file://{work}/profile",
                "--headless",
                "--convert-to",
                "pdf",
                "--outdir",
                str(work / "pdf"),
                *(str(p) for _, p in staged),
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
            env=soffice_env(),
        )
        return {name.rsplit(".", 1)[0] + ".pdf": (work / "pdf" / (p.stem + ".pdf")).read_bytes() for name, p in staged}
