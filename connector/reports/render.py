"""Rendering with docxtpl (autoescaped), template validation, and the content hash that decides
whether a report must be re-rendered."""

from __future__ import annotations

import contextlib
import hashlib
import io
import signal
import threading
from collections.abc import Mapping
from datetime import date
from pathlib import Path

from docxtpl import DocxTemplate, RichText
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from connector import __version__
from connector.errors import ConfigError
from connector.reports import charts, synthesis
from connector.reports.charts import NativeChart
from connector.reports.context import portfolio_context, project_context
from connector.reports.document import finish
from connector.reports.native import ChartRun
from connector.reports.variables import (
    ALLOWED_FILTERS,
    ALLOWED_TESTS,
    known_attributes,
    known_variables,
    sample_contexts,
)

# Loop attributes a template may use ({{ loop.index }}), besides the documented fields.
LOOP_ATTRIBUTES = {
    "index",
    "index0",
    "revindex",
    "revindex0",
    "first",
    "last",
    "length",
    "depth",
    "depth0",
    "previtem",
    "nextitem",
}


# Statements that load or define code: a template is a document with places for values.
REFUSED_STATEMENTS = {
    nodes.Include: "{% include %}",
    nodes.Extends: "{% extends %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from … import %}",
    nodes.Macro: "{% macro %}",
    nodes.CallBlock: "{% call %}",
}
MAX_POWER = 64  # 2**64 fits any figure a report shows; 9**99999999 would hang the night
MAX_REPEAT = 10_000  # "-" * 40 draws a rule; "x" * 10**9 is a gigabyte
RENDER_SECONDS = 20  # one report, in the worst case of a huge portfolio; a loop bomb stops there


class TemplateLimit(Exception):
    """A computation in a template beyond what a report needs (raised while rendering)."""


class _CachingSandbox(SandboxedEnvironment):
    """Compiles each template part once per process: docxtpl hands the same XML for every
    report of a template, and compiling it cost a third of a report's rendering.

    Arithmetic that can grow without bound (`**`, `*` on text or lists, `%` formatting) is
    checked at each use; intercepting it also keeps Jinja from folding `9**99999999` while
    compiling."""

    _compiled: dict
    intercepted_binops = frozenset({"**", "*", "%"})

    def call_binop(self, context, operator, left, right):
        if operator == "**" and _number(right) and (abs(right) > MAX_POWER or (_number(left) and abs(left) > 10**6)):
            raise TemplateLimit(f"puissance trop grande ({left!r} ** {right!r})")
        if operator == "*":
            count = right if isinstance(left, (str, list, tuple)) else left
            if isinstance(left, (str, list, tuple)) or isinstance(right, (str, list, tuple)):
                if _number(count) and count > MAX_REPEAT:
                    raise TemplateLimit(f"répétition trop grande (× {count})")
        if operator == "%" and isinstance(left, str):
            raise TemplateLimit("mise en forme de texte par « % » (utilisez les variables mises en forme)")
        return super().call_binop(context, operator, left, right)

    def from_string(self, source, globals=None, template_class=None):
        if globals is not None or template_class is not None or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        key = hashlib.sha256(source.encode("utf-8", "surrogateescape")).digest()
        cache = self.__dict__.setdefault("_compiled", {})
        if key not in cache:
            if len(cache) >= 64:  # a few parts of two templates; never grows without bound
                cache.clear()
            cache[key] = super().from_string(source)
        return cache[key]


class _Template(DocxTemplate):
    """docxtpl cleans a template's XML of Word's run splits (patch_xml, a few dozen regular
    expressions over the whole body) at every rendering: a third of a report's time. The result
    depends on the XML alone, so it is kept per process for the template's few parts."""

    _patched: dict[bytes, str] = {}

    def patch_xml(self, src_xml: str) -> str:
        key = hashlib.sha256(src_xml.encode("utf-8", "surrogateescape")).digest()
        cache = _Template._patched
        if key not in cache:
            if len(cache) >= 64:  # the parts of two templates; never grows without bound
                cache.clear()
            cache[key] = super().patch_xml(src_xml)
        return cache[key]


_ENV: SandboxedEnvironment | None = None


def jinja_env() -> SandboxedEnvironment:
    """Templates come from a SharePoint library anyone with edit rights may change: they are
    rendered sandboxed (no `__class__`, no `__subclasses__`, no unsafe calls) and autoescaped."""
    global _ENV
    if _ENV is None:
        _ENV = _CachingSandbox(autoescape=True)
    return _ENV


def _template_sources(path: Path | str) -> list[str]:
    """Every text docxtpl renders: body, headers, footers, footnotes, document properties."""
    tpl = _Template(str(path))
    tpl.init_docx()
    xml = tpl.patch_xml(tpl.get_xml())
    sources = [xml]
    for uri in (tpl.HEADER_URI, tpl.FOOTER_URI):
        for _, part in tpl.get_headers_footers(uri):
            sources.append(tpl.patch_xml(tpl.get_part_xml(part)))
    for part in tpl.docx.part.package.parts:
        if str(part.partname).endswith("footnotes.xml"):
            sources.append(tpl.patch_xml(part.blob.decode("utf-8", "replace")))
    props = tpl.docx.core_properties
    sources += [
        str(getattr(props, name) or "")
        for name in (
            "author",
            "category",
            "comments",
            "content_status",
            "identifier",
            "keywords",
            "language",
            "subject",
            "title",
            "version",
        )
    ]
    return sources


# Templates already found valid in this process, by (content digest, kind): a scheduler or a
# replay runs night after night with the same two templates (half a second each night otherwise).
_VALIDATED: set[tuple[str, str]] = set()


def validate_template(path: Path | str, kind: str, known=None) -> None:
    """Reject a template that uses a variable or an attribute the context does not document, or
    calls anything, naming what it found: a template is data, never code. `known`: the state's
    store (get/set by key), where a template found valid is remembered by its digest and copil's
    version, so a night with the same templates does not try them again (0.8 s a night)."""
    try:
        seen = (hashlib.sha256(Path(path).read_bytes()).hexdigest(), kind)
    except OSError:
        seen = None
    if seen is not None and seen in _VALIDATED:
        return
    key = f"modèle valide:{kind}:{seen[0]}:{__version__}" if seen is not None else None
    if known is not None and key is not None and known.get(key):
        _VALIDATED.add(seen)  # type: ignore[arg-type]
        return
    _validate(path, kind)
    if seen is not None and len(_VALIDATED) < 64:
        _VALIDATED.add(seen)
    if known is not None and key is not None:
        known.set(key, "oui")


@contextlib.contextmanager
def time_limit(seconds: float, what: str):
    """Stop a rendering that lasts beyond `seconds` (loops over loops over the portfolio): an
    alarm in the main thread of the process (the worker processes' too). In another thread (the
    scheduler's) signals cannot be used: the static rules and the arithmetic checks remain."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    if signal.getitimer(signal.ITIMER_REAL)[0] > 0:  # inside an outer limit (a template's trial): it holds
        yield
        return

    def expired(_signum, _frame):
        raise TemplateLimit(f"rendu de {what} interrompu après {seconds:g} s".replace(".", ","))

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _trial(path: Path | str, kind: str, name: str) -> None:
    """Render the template once with the documented sample values: what the rules cannot see
    before running (a power computed from a variable, a loop that never ends) shows here, at
    `copil check` and before a night writes anything, not in forty reports."""
    proj, port = sample_contexts()
    try:
        with time_limit(RENDER_SECONDS / 2, f"l'essai du modèle « {name} »"):
            render(path, proj if kind == "project" else port, {})
    except TemplateLimit as e:
        raise ConfigError(f"le modèle « {name} » dépasse les limites d'un modèle : {e}") from None
    except Exception as e:
        raise ConfigError(f"le modèle « {name} » ne peut pas être rendu : {type(e).__name__} : {e}") from None


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _validate(path: Path | str, kind: str) -> None:
    env = jinja_env()
    try:
        trees = [env.parse(src) for src in _template_sources(path)]
    except Exception as e:
        raise ConfigError(f"modèle de rapport illisible « {path} » : {type(e).__name__} : {e}") from None
    name = Path(path).name
    fields = set(known_attributes(kind))
    for tree in trees:
        for n in tree.find_all(nodes.Name):
            if n.name in ("self", "caller", "varargs", "kwargs"):  # Jinja's own objects, not values
                raise ConfigError(
                    f"le modèle « {name} » utilise « {n.name} », qui n'est pas une variable documentée "
                    "(voir docs/template-variables.md)"
                )
        for node_type, shown in REFUSED_STATEMENTS.items():
            if any(True for _ in tree.find_all(node_type)):
                raise ConfigError(
                    f"le modèle « {name} » utilise {shown} : un modèle ne peut pas charger ni définir "
                    "d'autre modèle (voir docs/template-variables.md)"
                )
        for f in tree.find_all((nodes.Filter, nodes.Test)):
            allowed_names = ALLOWED_FILTERS if isinstance(f, nodes.Filter) else ALLOWED_TESTS
            if f.name not in allowed_names:
                what = "filtre" if isinstance(f, nodes.Filter) else "test"
                raise ConfigError(
                    f"le modèle « {name} » utilise le {what} « {f.name} », non autorisé "
                    "(voir docs/template-variables.md)"
                )
            for kw in f.kwargs:  # map(attribute='x'), sort(attribute='x'): documented fields only
                if kw.key == "attribute" and not (
                    isinstance(kw.value, nodes.Const)
                    and isinstance(kw.value.value, str)
                    and all(part in fields for part in kw.value.value.split("."))
                ):
                    raise ConfigError(
                        f"le modèle « {name} » lit un attribut non documenté par le filtre « {f.name} » "
                        "(voir docs/template-variables.md)"
                    )
            first = f.args[0] if f.args else None
            if f.name in ("selectattr", "rejectattr", "groupby") and not (
                isinstance(first, nodes.Const)
                and isinstance(first.value, str)
                and all(part in fields for part in first.value.split("."))
            ):
                shown = first.value if isinstance(first, nodes.Const) else "…"
                raise ConfigError(
                    f"le modèle « {name} » lit un attribut non documenté « {shown} » par le filtre "
                    f"« {f.name} » (voir docs/template-variables.md)"
                )
            if f.name in ("select", "reject") and not (
                isinstance(first, nodes.Const) and first.value in ALLOWED_TESTS
            ):  # select('test') applies a test by name: the allowed ones only
                raise ConfigError(
                    f"le modèle « {name} » utilise un test non autorisé par le filtre « {f.name} » "
                    "(voir docs/template-variables.md)"
                )
            if f.name == "map" and first is not None:  # map('filter') applies any filter by name
                raise ConfigError(
                    f"le modèle « {name} » applique un filtre par « map » : écrivez map(attribute='champ') "
                    "(voir docs/template-variables.md)"
                )
    allowed = set(known_attributes(kind)) | LOOP_ATTRIBUTES
    unknown: set[str] = set()
    for tree in trees:
        unknown |= meta.find_undeclared_variables(tree) - set(known_variables(kind))
    if unknown:
        raise ConfigError(
            f"le modèle « {name} » utilise une variable inconnue : "
            + ", ".join(f"« {u} »" for u in sorted(unknown))
            + " (voir docs/template-variables.md)"
        )
    for tree in trees:
        for node in tree.find_all((nodes.Getattr, nodes.Getitem, nodes.Call)):
            if isinstance(node, nodes.Call):
                raise ConfigError(
                    f"le modèle « {name} » appelle une fonction (« {_src(node)} ») : "
                    "un modèle ne peut qu'afficher des variables (voir docs/template-variables.md)"
                )
            attr = (
                node.attr
                if isinstance(node, nodes.Getattr)
                else (node.arg.value if isinstance(node.arg, nodes.Const) else None)
            )
            if isinstance(attr, int) or (isinstance(node, nodes.Getitem) and attr is None):
                continue  # x[0], x[i]: positions in a documented list
            if not isinstance(attr, str) or attr.startswith("_") or attr not in allowed:
                raise ConfigError(
                    f"le modèle « {name} » lit un attribut non documenté « {attr} » (voir docs/template-variables.md)"
                )
    _trial(path, kind, name)


def _src(node) -> str:
    fn = getattr(node, "node", None)
    parts = []
    while isinstance(fn, nodes.Getattr):
        parts.append(fn.attr)
        fn = fn.node
    if isinstance(fn, nodes.Name):
        parts.append(fn.name)
    return ".".join(reversed(parts)) + "(…)" if parts else "…(…)"


def render(
    template_path: Path | str,
    context: dict,
    charts_: Mapping[str, NativeChart | str],
    copil_date: date | None = None,
) -> bytes:
    """`charts_`: name -> a native chart, or the sentence that stands in its place (« Aucun jalon
    saisi. »)."""
    tpl = _Template(str(template_path))
    ctx = dict(context)
    for name, chart in charts_.items():
        ctx[name] = ChartRun(tpl, chart) if isinstance(chart, NativeChart) else ChartRun(tpl, None, chart)
    if "weather" in ctx:  # the météo in large coloured letters (templates from before the banner)
        w = ctx["weather"]
        ctx["weather_badge"] = RichText(
            f"Météo : {w.get('computed', '')}", color=w.get("color", "5F6368"), bold=True, size=36
        )
    url = (ctx.get("project") or {}).get("url")
    if url:  # back to the project's item: a real hyperlink, the address never typed into the text
        ctx["project_link"] = RichText(
            "Fiche du projet dans SharePoint", url_id=tpl.build_url_id(url), color="0563C1", underline=True
        )
    elif "project" in ctx:
        ctx["project_link"] = ""
    if "documents" in ctx:  # real hyperlinks to the library
        ctx["documents"] = [
            {
                **d,
                "link": RichText(d["name"], url_id=tpl.build_url_id(d["url"]), color="0563C1", underline=True)
                if d.get("url")
                else RichText(d["name"]),
            }
            for d in ctx["documents"]
        ]
    if "findings_by_manager" in ctx:  # each finding opens its item
        ctx["findings_by_manager"] = [
            {
                **g,
                "findings": [
                    {
                        **f,
                        "link": RichText("ouvrir", url_id=tpl.build_url_id(f["url"]), color="0563C1", underline=True)
                        if f.get("url")
                        else "",
                    }
                    for f in g["findings"]
                ],
            }
            for g in ctx["findings_by_manager"]
        ]
    with time_limit(RENDER_SECONDS, "ce rapport"):
        tpl.render(ctx, jinja_env=jinja_env(), autoescape=True)
    project = context.get("project") or {}
    when = copil_date or date.today()
    if project:
        title = f"COPIL {project.get('code', '')} – {project.get('title', '')}"
        subject, keywords = (
            f"Rapport du comité de pilotage du {context.get('copil_date', '')}",
            "COPIL ; " + project.get("code", ""),
        )
    else:
        title = f"Synthèse du portefeuille de projets – {context.get('copil_date', '')}"
        subject, keywords = (
            f"Situation au {context.get('copil_date', '')}, exercice {context.get('year', '')}",
            "COPIL ; portefeuille",
        )
    finish(
        tpl.docx,
        title=title,
        subject=subject,
        author=str(context.get("collectivite", "")),
        copil_date=when,
        keywords=keywords,
    )
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def chart_data(portfolio, code: str) -> dict:
    """What a project's charts are drawn from: a few plain rows, so a worker process needs
    them and not the whole portfolio."""
    return {
        "milestones": portfolio.project_records(code, portfolio.milestones),
        "budget": portfolio.project_records(code, portfolio.budget),
        "as_of": portfolio.as_of,
        "currency": portfolio.currency,
    }


def charts_for(data: dict) -> dict[str, NativeChart | str]:
    ms, budget = data["milestones"], data["budget"]
    return {
        "chart_timeline": charts.timeline_chart(ms, data["as_of"]) if ms else "Aucun jalon saisi.",
        "chart_budget": charts.budget_chart(budget, data["currency"]) if budget else "Aucune ligne budgétaire saisie.",
    }


def project_charts(portfolio, code: str) -> dict[str, NativeChart | str]:
    return charts_for(chart_data(portfolio, code))


def portfolio_charts(portfolio) -> dict[str, NativeChart | str]:
    pr = portfolio.projects
    counts = synthesis.weather_counts(pr)  # as the counts beside the chart
    d = portfolio.rollups.get("direction")
    rows = [] if d is None else [(str(n), r["cp_year"], r["paid_year"]) for n, r in d.iterrows()]
    return {
        "chart_weather": charts.weather_chart(counts),
        "chart_execution": charts.execution_chart(rows, portfolio.currency)
        if rows
        else "Aucun crédit de paiement inscrit sur l’exercice.",
    }


def render_project(
    portfolio,
    code: str,
    *,
    template_path,
    collectivite: str,
    copil_date: date,
    previous: dict | None,
    previous_date: date | None = None,
) -> bytes:
    ctx = project_context(
        portfolio,
        code,
        collectivite=collectivite,
        copil_date=copil_date,
        previous=previous,
        previous_date=previous_date,
    )
    return render(template_path, ctx, project_charts(portfolio, code), copil_date)


def render_portfolio(
    portfolio,
    *,
    template_path,
    collectivite: str,
    copil_date: date,
    previous: dict[str, dict],
    previous_date: date | None = None,
) -> bytes:
    ctx = portfolio_context(
        portfolio,
        collectivite=collectivite,
        copil_date=copil_date,
        previous=previous,
        previous_date=previous_date or getattr(previous, "as_of", None),
    )
    return render(template_path, ctx, portfolio_charts(portfolio), copil_date)
