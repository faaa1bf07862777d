"""The site's regional settings: the locale form values are parsed in, the time zone date-only
values are stored in."""

from __future__ import annotations

import logging

from office365.runtime.client_request_exception import ClientRequestException

from connector.sharepoint import timezones
from connector.sharepoint.client import Client
from connector.sharepoint.forms import FR, Locale
from connector.sharepoint.retries import short as _short

log = logging.getLogger("copil.sp")


class Regional(Client):
    """The web's locale and time zone, read once per run."""

    def _regional(self) -> dict:
        """The web's regional settings with its time zone, in one round trip, read once."""
        if self._regional_settings is None:
            try:
                self._regional_settings = self._get_json(
                    f"{self.site_url}/_api/web/RegionalSettings?$expand=TimeZone", "paramètres régionaux"
                )["d"]
            except (ClientRequestException, KeyError) as e:  # unreachable: raised, not papered over
                log.warning("paramètres régionaux du site illisibles (%s)", _short(e))
                self._regional_settings = {}
        return self._regional_settings

    @property
    def locale(self) -> Locale:
        """Form values are parsed by SharePoint in the web's locale."""
        if self._locale is None:
            rs = self._regional()
            self._locale = (
                Locale(rs.get("DecimalSeparator") or ",", rs.get("LocaleId") == 1033, int(rs.get("LocaleId") or 1036))
                if rs
                else FR
            )
        return self._locale

    def timezone(self, default: str = "Europe/Paris") -> str:
        """The site's time zone as an IANA name; `default` (the TOML's) only when it cannot be read."""
        tz = self._regional().get("TimeZone") or {}
        found = timezones.resolve(tz.get("Id"), preferred=default)
        if found is None:
            log.warning(
                "fuseau horaire du site illisible (%s) : fuseau de la configuration utilisé (%s)",
                tz.get("Description") or tz.get("Id") or "réponse vide",
                default,
            )
            return default
        return found

    @property
    def timezone_label(self) -> str | None:
        """The site's zone as SharePoint describes it, e.g. "(UTC+11:00) Solomon Is., New Caledonia"."""
        tz = self._regional().get("TimeZone") or {}
        return tz.get("Description") if timezones.by_id(tz.get("Id")) else None
