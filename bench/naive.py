"""The script a collectivité writes first with the same client library, run by bench/nightly.py
beside copil on the same site: every list read with the client's default paging (the server's
100 items a page), the newest finance export downloaded, then one `update()` +
`execute_query()` per project, written every night whether it changed or not.

    COPIL_BENCH_TOKEN=... python bench/naive.py SITE_URL
"""

from __future__ import annotations

import os
import sys

from office365.sharepoint.client_context import ClientContext

LISTS = ["Projets", "Jalons", "Budget AP-CP", "Subventions", "Marchés", "Avenants", "Risques", "Documents projets"]


def main(site_url: str) -> int:
    token = os.environ["COPIL_BENCH_TOKEN"]
    ctx = ClientContext(site_url).with_access_token(
        lambda: {"access_token": token, "token_type": "Bearer", "expires_in": 3600}
    )
    data = {title: ctx.web.lists.get_by_title(title).items.get_all().execute_query() for title in LISTS}
    exports = ctx.web.lists.get_by_title("Exports finances").root_folder.files.get().execute_query()
    newest = max(exports, key=lambda f: f.properties.get("TimeLastModified", ""))
    newest.get_content().execute_query()
    projects = ctx.web.lists.get_by_title("Projets")
    fields = projects.fields.get().execute_query()
    weather = next(f.properties["InternalName"] for f in fields if f.properties["Title"] == "Météo calculée")
    late = {m.properties.get("ProjetId") for m in data["Jalons"]}  # a rule of thumb, as such scripts have
    for item in data["Projets"]:
        item.set_property(weather, "Nuageux" if item.properties.get("Id") in late else "Soleil").update()
        ctx.execute_query()
    print(f"{len(data['Projets'])} projets mis à jour, {sum(len(v) for v in data.values())} éléments lus")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
