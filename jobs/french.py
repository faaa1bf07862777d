"""The command line's own words in French: Typer's help panels, its help option and its usage
errors (« Commande inconnue », « [obligatoire] »), which it writes in English.

Typer (0.29) carries its Click inside and writes its words as constants of `typer.rich_utils`
and as f-strings of its exceptions: the constants are replaced, the help option gets its French
text where Typer builds it, and each error message goes through `french()` before Typer draws its
panel. Applied once, when `jobs.cli` is imported (the `copil` script and the tests alike)."""

from __future__ import annotations

import re
from typing import Any

from typer import core as typer_core
from typer import rich_utils
from typer._click import decorators as click_decorators  # the help option's text is set there

CONSTANTS = {
    "DEPRECATED_STRING": "(obsolète) ",
    "DEFAULT_STRING": "[défaut : {}]",
    "ENVVAR_STRING": "[variable d'environnement : {}]",
    "REQUIRED_LONG_STRING": "[obligatoire]",
    "ARGUMENTS_PANEL_TITLE": "Arguments",
    "OPTIONS_PANEL_TITLE": "Options",
    "COMMANDS_PANEL_TITLE": "Commandes",
    "ERRORS_PANEL_TITLE": "Erreur",
    "ABORTED_TEXT": "Interrompu.",
    "RICH_HELP": "Essayez [blue]« {command_path} {help_option} »[/] pour l'aide.",
}
HELP = "Afficher ce message et quitter."

# Typer's usage errors, as it words them, and how copil says them. Order matters: the specific
# forms before the general ones.
MESSAGES: list[tuple[re.Pattern[str], Any]] = [
    (re.compile(r"No such command '(.+?)'\."), r"Commande inconnue : « \1 »."),
    (re.compile(r"No such option: (\S+)"), r"Option inconnue : \1"),
    (re.compile(r"\(Possible options: (.+)\)"), r"(options possibles : \1)"),
    (re.compile(r"Did you mean (\S+?)\?"), r"Vouliez-vous dire \1 ?"),
    (re.compile(r"Missing option '(.+)'\."), lambda m: f"Option obligatoire manquante : {_names(m[1])}."),
    (re.compile(r"Missing argument '(.+)'\."), lambda m: f"Argument obligatoire manquant : {_names(m[1])}."),
    (re.compile(r"Missing parameter: (\S+)"), r"Paramètre manquant : \1"),
    (re.compile(r"Missing command\."), r"Commande manquante."),
    (re.compile(r"Option '(.+?)' requires an argument\."), r"L'option \1 attend une valeur."),
    (re.compile(r"Option '(.+?)' does not take a value\."), r"L'option \1 ne prend pas de valeur."),
    (re.compile(r"Got unexpected extra argument(?:\(s\)|s)? \((.*)\)"), r"Argument(s) en trop : \1"),
    (re.compile(r"Invalid value for (.+?): "), r"Valeur invalide pour \1 : "),
    (re.compile(r"Invalid value: "), r"Valeur invalide : "),
    (re.compile(r"'(.*?)' is not a valid integer( range)?\."), r"« \1 » n'est pas un nombre entier."),
    (re.compile(r"'(.*?)' is not a valid float( range)?\."), r"« \1 » n'est pas un nombre."),
    (re.compile(r"'(.*?)' is not a valid boolean\."), r"« \1 » n'est ni oui ni non."),
    (re.compile(r"Value '?(.*?)'? is not a valid (\w+)\."), r"« \1 » n'est pas une valeur permise (\2)."),
    (re.compile(r"(-?[\d.]+) is not in the range (.+)\."), r"\1 est hors de l'intervalle permis (\2)."),
    (re.compile(r"(?:File|Directory|Path) '(.+?)' does not exist\."), r"Le chemin « \1 » n'existe pas."),
    (re.compile(r"(?:File|Directory|Path) '(.+?)' is a directory\."), r"« \1 » est un dossier."),
    (re.compile(r"(?:File|Directory|Path) '(.+?)' is a file\."), r"« \1 » est un fichier."),
    (re.compile(r"(?:File|Directory|Path) '(.+?)' is not readable\."), r"« \1 » n'est pas lisible."),
    (re.compile(r"(?:File|Directory|Path) '(.+?)' is not writable\."), r"« \1 » n'est pas accessible en écriture."),
    (re.compile(r"Could not open file '(.+?)': "), r"Impossible d'ouvrir « \1 » : "),
    (re.compile(r"Input should be a valid integer.*"), "un nombre entier est attendu"),
    (re.compile(r"Input should be a valid (number|float).*"), "un nombre est attendu"),
    (re.compile(r"Input should be a valid boolean.*"), "oui ou non est attendu"),
    (re.compile(r"Input should be greater than or equal to (\S+)"), r"la valeur doit être au moins \1"),
    (re.compile(r"Input should be less than or equal to (\S+)"), r"la valeur doit être au plus \1"),
    (re.compile(r"Input should be (.+)"), r"valeur attendue : \1"),
]
# The kind of value an option takes, shown beside it in the help; a flag shows none.
TYPES = {
    "bool": None,
    "path": "chemin",
    "file": "fichier",
    "directory": "dossier",
    "int": "entier",
    "int range": "entier",
    "float": "nombre",
    "float range": "nombre",
    "text": "texte",
    "str": "texte",
    "datetime": "date",
}


def _names(quoted: str) -> str:
    """'--config' / '-c' as Typer quotes them -> --config / -c."""
    return quoted.replace("'", "")


def french(message: str) -> str:
    for pattern, replacement in MESSAGES:
        message = pattern.sub(replacement, message)
    return message


def _help_option(*param_decls, **kwargs):
    decorate = _ORIGINAL_HELP_OPTION(*param_decls, **kwargs)

    def apply(command):
        done = decorate(command)
        params = getattr(done, "params", None) or getattr(command, "params", None)
        if params:
            params[-1].help = HELP  # the option just added; Typer pops it from there
        return done

    return apply


def _display_type(self, ctx):
    shown = _ORIGINAL_DISPLAY_TYPE(self, ctx)
    if not isinstance(shown, str) or not (shown.startswith("<") and shown.endswith(">")):
        return shown
    label = shown[1:-1]
    if label not in TYPES:
        return shown
    return None if TYPES[label] is None else f"<{TYPES[label]}>"


def _format_error(error) -> None:
    message = french(error.format_message())
    error.format_message = lambda: message  # this error only: Typer draws the panel from it
    _ORIGINAL_FORMAT_ERROR(error)


_ORIGINAL_HELP_OPTION = click_decorators.help_option
_ORIGINAL_DISPLAY_TYPE = typer_core._TyperParameter.display_type
_ORIGINAL_FORMAT_ERROR = rich_utils.rich_format_error


def install() -> None:
    """Idempotent: a second import of the CLI (tests) changes nothing more."""
    for name, text in CONSTANTS.items():
        setattr(rich_utils, name, text)
    click_decorators.help_option = _help_option
    rich_utils.rich_format_error = _format_error
    typer_core._TyperParameter.display_type = _display_type  # type: ignore[method-assign]
