"""Document libraries: folders, uploads (chunked by the client), report metadata in $batch, downloads."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from office365.runtime.client_request_exception import ClientRequestException
from office365.runtime.client_result import ClientResult
from office365.runtime.client_value_collection import ClientValueCollection
from office365.runtime.queries.service_operation import ServiceOperationQuery
from office365.sharepoint.listitems.form_update_value import ListItemFormUpdateValue
from requests import exceptions as req_exc

from connector.errors import SchemaError
from connector.sharepoint.forms import form_value
from connector.sharepoint.items import Items
from connector.sharepoint.records import FieldInfo, FileInfo, ItemUpdate
from connector.sharepoint.retries import client_single_try
from connector.sharepoint.retries import short as _short

log = logging.getLogger("copil.sp")


class Files(Items):
    # -- libraries ----------------------------------------------------------------------
    def known_folders(self, urls) -> None:
        """Folders known to exist (and their parents): no request to create them again. An upload
        into one a person removed since is retried after creating it."""
        for url in urls:
            parts = url.rstrip("/").split("/")
            self._folders.update("/".join(parts[:i]).lower() for i in range(2, len(parts) + 1))
            self._assumed_folders = True

    def ensure_folders(self, library: str, paths) -> None:
        """Create the folders many reports go to in $batch requests, parents first, one level
        at a time: a first night over 1,000 projects sends about 11 requests instead of 1,000.
        Creating a folder that exists is harmless; one a batch could not create is created
        alone at upload (`ensure_folder`)."""
        info = self.list_info(library)
        wanted: set[str] = set()
        for path in paths:
            url = info.root_url
            for part in [p for p in str(path).strip("/").split("/") if p]:
                url = f"{url}/{part}"
                wanted.add(url)
        # the client leaves spaces raw in a $batch request line, which SharePoint refuses: a
        # folder whose path has one is created alone at upload
        missing = [u for u in wanted if u.lower() not in self._folders and " " not in u[len(info.root_url) :]]
        for depth in sorted({u.count("/") for u in missing}):
            level = sorted(u for u in missing if u.count("/") == depth)
            for start in range(0, len(level), self.batch_size):
                queued = []
                for url in level[start : start + self.batch_size]:
                    # addressed from the library's id: its title (« Rapports COPIL ») has a space
                    parent = self.ctx.web.lists.get_by_id(info.id).root_folder
                    *parents, name = url[len(info.root_url) + 1 :].split("/")
                    for part in parents:
                        parent = parent.folders.get_by_url(part)
                    parent.folders.add(name)
                    queued.append((url, self.ctx.last_query))
                try:
                    # single-try: a failure falls back to one folder at a time, under copil's policy
                    with self.ctx.collect_batch_failures() as failures, client_single_try():
                        self.ctx.execute_batch(items_per_batch=self.batch_size)
                except (ClientRequestException, req_exc.RequestException) as e:
                    self._drop_pending()
                    log.info("création groupée des dossiers interrompue (%s) : création un par un au dépôt", _short(e))
                    return
                failed = {id(q) for q, _ in failures}
                self._folders.update(url.lower() for url, q in queued if id(q) not in failed)

    def ensure_folder(self, library: str, path: str) -> str:
        info = self.list_info(library)
        url = info.root_url
        for part in [p for p in path.strip("/").split("/") if p]:
            parent, url = url, f"{url}/{part}"
            if url.lower() in self._folders:
                continue
            self.ctx.web.get_folder_by_server_relative_path(parent).folders.add(part)
            self._run(f"création du dossier {url}")
            self._folders.add(url.lower())
        return url

    def upload_file(self, library: str, folder: str, name: str, content: bytes, fields: dict | None = None) -> str:
        """Upload (overwriting: SharePoint keeps the previous version), then set metadata by
        display name with a system update so one upload makes one version."""
        folder_url = self.ensure_folder(library, folder)
        f = self.ctx.web.get_folder_by_server_relative_path(folder_url).upload_file(name, content)
        try:
            self._run(f"dépôt du fichier {name}")
        except ClientRequestException as e:  # a folder assumed to exist was removed: create, upload again
            if getattr(e.response, "status_code", None) != 404 or not self._assumed_folders:
                raise
            self._folders = {u for u in self._folders if not (folder_url.lower() + "/").startswith(u + "/")}
            folder_url = self.ensure_folder(library, folder)
            f = self.ctx.web.get_folder_by_server_relative_path(folder_url).upload_file(name, content)
            self._run(f"dépôt du fichier {name}")
        url = f.properties.get("ServerRelativeUrl") or f"{folder_url}/{name}"
        if fields:
            info = self.list_info(library)
            form = []
            for display, value in fields.items():
                fi = info.find(display)
                if fi is None:
                    raise SchemaError(f"la colonne « {display} » n'existe pas dans la bibliothèque « {library} ».")
                form.append(
                    {
                        "__metadata": {"type": "SP.ListItemFormUpdateValue"},
                        "FieldName": fi.internal,
                        "FieldValue": form_value(fi.kind, value, self.locale),
                    }
                )
            item = self.ctx.web.get_file_by_server_relative_path(url).listItemAllFields
            rt = ClientResult(self.ctx, ClientValueCollection(ListItemFormUpdateValue))
            self.ctx.add_query(
                ServiceOperationQuery(
                    item,
                    "ValidateUpdateListItem",
                    None,
                    {"formValues": form, "bNewDocumentUpdate": True, "datesInUTC": True},
                    None,
                    rt,
                )
            )
            self._run(f"métadonnées du fichier {name}")
            bad = [v for v in (rt.value or []) if v.HasException]
            if bad:
                raise SchemaError(
                    "métadonnées refusées : " + "; ".join(f"{v.FieldName} : {v.ErrorMessage}" for v in bad)
                )
        return url

    def set_file_fields(self, library: str, entries: list[tuple[str, dict]]) -> dict[str, str | None]:
        """Metadata of many uploaded files in $batch requests of up to 100 (by item id: one read
        of the library gives the ids), instead of one request per file. Returns url -> None when
        written, or the reason it was refused."""
        info = self.list_info(library)
        ids = {f.server_relative_url.lower(): f.item_id for f in self.list_files(library)}
        updates: list[ItemUpdate] = []
        by_id: dict[int, str] = {}
        out: dict[str, str | None] = {}
        for url, fields in entries:
            item_id = ids.get(url.lower())
            if item_id is None:
                out[url] = "fichier introuvable après son dépôt"
                continue
            values = {}
            for display, value in fields.items():
                fi = info.find(display)
                if fi is None:
                    raise SchemaError(f"la colonne « {display} » n'existe pas dans la bibliothèque « {library} ».")
                values[fi.internal] = value
            updates.append(ItemUpdate(item_id, values))
            by_id[item_id] = url
        for r in self.update_items(library, updates, system=True):  # one version per upload
            out[by_id[r.item_id]] = None if r.ok else r.error
        return out

    def download_file(self, server_relative_url: str) -> bytes:
        res = self.ctx.web.get_file_by_server_relative_path(server_relative_url).get_content()
        self._run(f"téléchargement de {server_relative_url}")
        return res.value

    def delete_file(self, server_relative_url: str) -> None:
        self.ctx.web.get_file_by_server_relative_path(server_relative_url).delete_object()
        self._run(f"suppression de {server_relative_url}")

    def list_files(
        self, library: str, folder: str | None = None, *, recursive: bool = True, fields: Sequence[FieldInfo] = ()
    ) -> list[FileInfo]:
        """Files of a library (one paged query), optionally under a folder."""
        info = self.list_info(library)
        base = info.root_url + ("/" + folder.strip("/") if folder else "")
        extra = list(fields)
        rows = self._read_library(library, extra)
        host = self.site_url[: len(self.site_url) - len(self.server_relative)]
        out = []
        for r in rows:
            ref = r.get("FileRef") or ""
            if r.get("FSObjType") == 1 or not ref.lower().startswith(base.lower() + "/"):
                continue
            if not recursive and "/" in ref[len(base) + 1 :]:
                continue
            mod = r.get("_modified")
            out.append(
                FileInfo(
                    str(r.get("FileLeafRef") or ""),
                    ref,
                    host + quote(ref),
                    datetime.fromisoformat(mod.replace("Z", "+00:00")) if mod else None,
                    r["_id"],
                    {f.internal: r.get(f.internal) for f in extra},
                )
            )
        return out

    def _read_library(self, library: str, extra: list[FieldInfo]) -> list[dict]:
        builtins = [FieldInfo(n, n, "Text", n) for n in ("FileLeafRef", "FileRef", "FSObjType")]
        return self.read_items(library, builtins + extra, with_editor=False)
