"""A digest's e-mail survives whatever SharePoint holds: names with quotes, commas and accents,
titles with markup, long French subjects (the standard library's header folding once glued
« donnée » and « à » together)."""

from __future__ import annotations

from datetime import date
from email import message_from_bytes, policy

from hypothesis import given, settings
from hypothesis import strategies as st

from connector.notify.digest import Digest, Line, ProjectNews
from connector.notify.message import email_message, subject

names = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=60)
local = st.from_regex(r"[a-z][a-z0-9._-]{0,20}[a-z0-9]", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(name=names, user=local, title=names, alerts=st.lists(names, min_size=1, max_size=4), n_fix=st.integers(0, 30))
def test_any_name_and_title_make_a_message_that_reads_back(name, user, title, alerts, n_fix):
    d = Digest(email=f"{user}@ville-exemple.fr", name=name.strip(), week="2026-W50", as_of=date(2026, 12, 7))
    d.projects.append(
        ProjectNews(
            code="PPI-2026-001",
            title=title,
            weather="Orage",
            form="https://x.sharepoint.com/sites/projets/Lists/Projets/DispForm.aspx?ID=1",
            new_alerts=alerts,
            fixes=[Line(f"valeur {i} illisible", f"https://x/DispForm.aspx?ID={i}") for i in range(n_fix)],
        )
    )
    msg = email_message(d, sender="copil@ville-exemple.fr", sender_name="Pilotage, projets", collectivite="Ville")
    back = message_from_bytes(bytes(msg), policy=policy.default)
    assert back["Subject"] == subject(d)
    to = back["To"].addresses[0]
    assert to.addr_spec == d.email and to.display_name == d.name
    assert back["From"].addresses[0].display_name == "Pilotage, projets"
    html = back.get_body(("html",)).get_content()
    text = back.get_body(("plain",)).get_content()
    assert "<script" not in html.replace("&lt;script", "")  # what people typed is escaped
    for a in alerts:
        assert a in text
    assert html.count(">ouvrir l'élément</a>") == n_fix or html.count(">ouvrir l&#x27;élément</a>") == n_fix


def test_french_subject_words_and_plurals():
    d = Digest(email="a@b.fr", name="", week="2026-W50", as_of=date(2026, 12, 7))
    d.projects.append(ProjectNews("C", "T", "Soleil", "", new_alerts=["x"], due=[Line("j1"), Line("j2")]))
    assert subject(d) == "[copil] Vos projets, semaine du 07/12/2026 : 1 nouvelle alerte, 2 échéances"
