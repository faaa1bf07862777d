"""Render Word reports as a reader sees them: LibreOffice -> PDF, poppler -> PNG pages, and one
contact sheet per report. Used by `make render` and by the slow print tests.

    python -m jobs.render demo-out            # every .docx under demo-out -> demo-out/rendu/
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from connector.reports.pdf import soffice_env

TOOLS = {"soffice": "libreoffice-writer-nogui", "pdftoppm": "poppler-utils", "pdftotext": "poppler-utils"}


def missing_tools() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]


def to_pdf(docx_files: list[Path], out_dir: Path, timeout: int = 900) -> list[Path]:
    """One LibreOffice process for the whole batch (starting it costs more than a report), with
    its own profile so two runs never share one."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="copil-lo-") as profile:
        # copy under plain names: LibreOffice names the PDF after the file, spaces and all
        staged = []
        for i, f in enumerate(docx_files):
            dest = Path(profile) / "in" / f"{i:05d}.docx"
            dest.parent.mkdir(exist_ok=True)
            shutil.copyfile(f, dest)
            staged.append(dest)
        for chunk in range(0, len(staged), 200):
            subprocess.run(
                [
                    "soffice",
                    f"-env:UserInstallation=file://{profile}/user",
                    "--headless",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(Path(profile) / "pdf"),
                    *map(str, staged[chunk : chunk + 200]),
                ],
                check=True,
                capture_output=True,
                timeout=timeout,
                env=soffice_env(),
            )
        out = []
        for i, f in enumerate(docx_files):
            pdf = out_dir / (f.stem + ".pdf")
            shutil.move(str(Path(profile) / "pdf" / f"{i:05d}.pdf"), pdf)
            out.append(pdf)
    return out


def page_texts(pdf: Path) -> list[str]:
    """The text of each page (pdftotext -layout), in order."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    pages = text.split("\f")
    return pages[:-1] if pages and not pages[-1].strip() else pages


def to_png(pdf: Path, out_dir: Path, dpi: int = 70) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = out_dir / pdf.stem
    subprocess.run(["pdftoppm", "-r", str(dpi), "-png", str(pdf), str(prefix)], check=True, capture_output=True)
    return sorted(out_dir.glob(f"{pdf.stem}-*.png"))


def contact_sheet(pages: list[Path], dest: Path) -> None:
    """All pages side by side on one image, to look at a report at a glance."""
    from PIL import Image  # lazy: Pillow: only for contact sheets

    images = [Image.open(p) for p in pages]
    sheet = Image.new(
        "RGB", (sum(i.width for i in images) + 10 * len(images), max(i.height for i in images)), "#888888"
    )
    x = 0
    for im in images:
        sheet.paste(im, (x, 0))
        x += im.width + 10
    sheet.save(dest)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path, help="dossier contenant les rapports .docx")
    ap.add_argument("--out", type=Path, help="dossier de sortie (défaut : <dossier>/rendu)")
    ap.add_argument("--dpi", type=int, default=70)
    args = ap.parse_args(argv)
    missing = missing_tools()
    if missing:
        print(
            "outils absents : "
            + ", ".join(missing)
            + " ; installez "
            + " ".join(sorted({TOOLS[m] for m in missing}))
            + " (make render le fait avec apt-get)",
            file=sys.stderr,
        )
        return 2
    out = args.out or args.folder / "rendu"
    docs = sorted(p for p in args.folder.rglob("*.docx") if out not in p.parents)
    if not docs:
        print(f"aucun rapport .docx dans {args.folder}", file=sys.stderr)
        return 1
    pdfs = to_pdf(docs, out / "pdf")
    for pdf in pdfs:
        pages = to_png(pdf, out / "png", args.dpi)
        contact_sheet(pages, out / f"{pdf.stem}.png")
    print(
        f"{len(pdfs)} rapport(s) rendu(s) : PDF dans {out / 'pdf'}, pages PNG dans {out / 'png'}, "
        f"une planche par rapport dans {out}"
    )
    return 0


if __name__ == "__main__":
    os.environ.setdefault("SAL_USE_VCLPLUGIN", "svp")
    sys.exit(main())
