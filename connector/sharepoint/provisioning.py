"""Creating lists, columns and views (copil init-site): settings, never data."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from office365.runtime.types.collections import StringCollection
from office365.sharepoint.fields.type import FieldType
from office365.sharepoint.lists.creation_information import ListCreationInformation
from office365.sharepoint.views.create_information import (
    ViewCreationInformation,
)

from connector.sharepoint.lists import Lists
from connector.sharepoint.records import FieldInfo

log = logging.getLogger("copil.sp")


class Provisioning(Lists):
    def create_list(self, title: str, template: int = 100) -> None:
        self.ctx.web.lists.add(ListCreationInformation(title, None, template))  # type: ignore[arg-type]  # an int is what SharePoint takes
        self._run(f"création de la liste « {title} »")
        self._lists.pop(title.lower(), None)

    def create_field(
        self,
        list_title: str,
        display_name: str,
        kind: str,
        *,
        choices=(),
        lookup_list_title: str | None = None,
        indexed: bool = False,
    ) -> FieldInfo:
        fields = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields
        if kind == "Lookup":
            if not lookup_list_title:
                raise ValueError(f"lookup column « {display_name} » without the list it points to")
            target = self.list_info(lookup_list_title)
            fields.add_lookup_field(display_name, target.id, "Title")
        elif kind in ("Choice", "MultiChoice"):
            fields.add_choice_field(display_name, list(choices), multiple_values=kind == "MultiChoice")
        elif kind == "User":
            fields.add_user_field(display_name)
        else:
            fields.add(
                FieldType[
                    {
                        "Note": "Note",
                        "Text": "Text",
                        "Number": "Number",
                        "Currency": "Currency",
                        "DateTime": "DateTime",
                        "Boolean": "Boolean",
                        "URL": "URL",
                    }[kind]
                ],
                Title=display_name,
            )
        self._run(f"création de la colonne « {display_name} » dans « {list_title} »")
        if indexed:
            fld = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields.get_by_title(display_name)
            fld.set_property("Indexed", True).update()
            self._run(f"indexation de la colonne « {display_name} »")
        info = self.list_info(list_title, refresh=True)
        return info.fields[display_name]

    def set_field(self, list_title: str, internal: str, **props) -> None:
        """Change a column's settings (CustomFormatter, Indexed): never its data."""
        fld = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).fields.get_by_internal_name_or_title(internal)
        for k, v in props.items():
            fld.set_property(k, v)
        fld.update()
        self._run(f"réglage de la colonne « {internal} » de « {list_title} »")

    # -- views -----------------------------------------------------------------------
    def views(self, list_title: str) -> list[dict]:
        """The list's views: id, title, query and columns (from ListViewXml: one request)."""
        views = (
            self.ctx.web.lists.get_by_id(self.list_info(list_title).id)
            .views.select(["Id", "Title", "ViewQuery", "ListViewXml", "RowLimit", "PersonalView"])
            .get()
        )
        self._run(f"lecture des vues de « {list_title} »")
        out = []
        for v in views:
            p = v.properties
            try:
                vf = ET.fromstring(p.get("ListViewXml") or "<View/>").find("ViewFields")
                names = [el.get("Name") for el in (vf if vf is not None else [])]
            except ET.ParseError:
                names = []
            out.append(
                {
                    "id": p.get("Id"),
                    "title": p.get("Title") or "",
                    "query": p.get("ViewQuery") or "",
                    "fields": names,
                    "row_limit": p.get("RowLimit"),
                    "personal": bool(p.get("PersonalView")),
                }
            )
        return out

    def add_view(self, list_title: str, title: str, query: str, fields: list[str], row_limit: int = 100) -> None:
        lst = self.ctx.web.lists.get_by_id(self.list_info(list_title).id)
        lst.views.add(
            ViewCreationInformation(
                Title=title,
                Query=query,
                ViewFields=StringCollection(fields),
                RowLimit=row_limit,
                Paged=True,
                ViewTypeKind=1,
            )
        )
        self._run(f"création de la vue « {title} »")

    def update_view(
        self,
        list_title: str,
        view_id: str,
        *,
        query: str | None = None,
        fields: list[str] | None = None,
        row_limit: int | None = None,
    ) -> None:
        view = self.ctx.web.lists.get_by_id(self.list_info(list_title).id).views.get_by_id(view_id)
        if query is not None or row_limit is not None:
            if query is not None:
                view.set_property("ViewQuery", query)
            if row_limit is not None:
                view.set_property("RowLimit", row_limit)
            view.update()
        if fields is not None:
            view.view_fields.remove_all_view_fields()
            for name in fields:
                view.view_fields.add_view_field(name)
        self._run(f"mise à jour de la vue {view_id}")
