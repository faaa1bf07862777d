"""The tenants: a folder of copil configuration files, one per collectivité — the file a
single-site installation uses, plus `[tenant]` (id, enabled, requests per minute). Secrets stay
references (variables, files) as everywhere in copil. A file that does not load is reported with
its name and never stops the others."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from connector.config import Config, load_config
from connector.errors import ConfigError


@dataclass
class Tenant:
    id: str
    path: Path
    config: Config

    @property
    def cron(self) -> str:
        return self.config.schedule.cron

    @property
    def timezone(self) -> str:
        return self.config.schedule.timezone


def tenant_id(path: Path, config: Config) -> str:
    if config.tenant.id:
        return config.tenant.id
    # « Mairie de Saint-Étienne.toml » -> mairie-de-saint-etienne: accents folded, not dropped
    plain = unicodedata.normalize("NFKD", path.stem).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9_]+", "-", plain).strip("-_")[:50] or "sans-nom"


def load(folder: str | Path) -> tuple[list[Tenant], list[str]]:
    """Every enabled tenant of the folder (`*.toml`, sorted), and the problems, in French: a file
    that does not load, two files with one id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"dossier des collectivités introuvable : {folder}")
    tenants: dict[str, Tenant] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            cfg = load_config(path)
        except ConfigError as e:
            problems.append(f"{path.name} : {e}")
            continue
        if not cfg.tenant.enabled:
            continue
        tid = tenant_id(path, cfg)
        if tid in tenants:
            problems.append(f"{path.name} : identifiant « {tid} » déjà pris par {tenants[tid].path.name}")
            continue
        tenants[tid] = Tenant(tid, path.resolve(), cfg)
    return list(tenants.values()), problems
