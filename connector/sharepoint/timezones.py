"""SharePoint's time zones (the ids of `RegionalSettings/TimeZones`) and their IANA zones.

SharePoint answers its own numeric id (3 is Paris, 13 is Pacific Time US). Each id is mapped
through its Windows zone name to the IANA zone CLDR (`windowsZones`) gives for it, never
through the bias alone: daylight saving differs between zones of the same offset.
Descriptions are those SharePoint Online answers on an English site."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True)
class SPTimeZone:
    id: int
    description: str
    windows: str
    iana: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.iana)


_TABLE = [
    (39, "(UTC-12:00) International Date Line West", "Dateline Standard Time", "Etc/GMT+12"),
    (95, "(UTC-11:00) Coordinated Universal Time-11", "UTC-11", "Etc/GMT+11"),
    (15, "(UTC-10:00) Hawaii", "Hawaiian Standard Time", "Pacific/Honolulu"),
    (14, "(UTC-09:00) Alaska", "Alaskan Standard Time", "America/Anchorage"),
    (78, "(UTC-08:00) Baja California", "Pacific Standard Time (Mexico)", "America/Tijuana"),
    (13, "(UTC-08:00) Pacific Time (US and Canada)", "Pacific Standard Time", "America/Los_Angeles"),
    (38, "(UTC-07:00) Arizona", "US Mountain Standard Time", "America/Phoenix"),
    (77, "(UTC-07:00) Chihuahua, La Paz, Mazatlan", "Mountain Standard Time (Mexico)", "America/Mazatlan"),
    (12, "(UTC-07:00) Mountain Time (US and Canada)", "Mountain Standard Time", "America/Denver"),
    (55, "(UTC-06:00) Central America", "Central America Standard Time", "America/Guatemala"),
    (11, "(UTC-06:00) Central Time (US and Canada)", "Central Standard Time", "America/Chicago"),
    (37, "(UTC-06:00) Guadalajara, Mexico City, Monterrey", "Central Standard Time (Mexico)", "America/Mexico_City"),
    (36, "(UTC-06:00) Saskatchewan", "Canada Central Standard Time", "America/Regina"),
    (35, "(UTC-05:00) Bogota, Lima, Quito", "SA Pacific Standard Time", "America/Bogota"),
    (10, "(UTC-05:00) Eastern Time (US and Canada)", "Eastern Standard Time", "America/New_York"),
    (34, "(UTC-05:00) Indiana (East)", "US Eastern Standard Time", "America/Indiana/Indianapolis"),
    (88, "(UTC-04:30) Caracas", "Venezuela Standard Time", "America/Caracas"),
    (91, "(UTC-04:00) Asuncion", "Paraguay Standard Time", "America/Asuncion"),
    (9, "(UTC-04:00) Atlantic Time (Canada)", "Atlantic Standard Time", "America/Halifax"),
    (81, "(UTC-04:00) Cuiaba", "Central Brazilian Standard Time", "America/Cuiaba"),
    (33, "(UTC-04:00) Georgetown, La Paz, Manaus, San Juan", "SA Western Standard Time", "America/La_Paz"),
    (28, "(UTC-03:30) Newfoundland", "Newfoundland Standard Time", "America/St_Johns"),
    (8, "(UTC-03:00) Brasilia", "E. South America Standard Time", "America/Sao_Paulo"),
    (85, "(UTC-03:00) Buenos Aires", "Argentina Standard Time", "America/Argentina/Buenos_Aires"),
    (32, "(UTC-03:00) Cayenne, Fortaleza", "SA Eastern Standard Time", "America/Cayenne"),
    (60, "(UTC-03:00) Greenland", "Greenland Standard Time", "America/Godthab"),
    (90, "(UTC-03:00) Montevideo", "Montevideo Standard Time", "America/Montevideo"),
    (103, "(UTC-03:00) Salvador", "Bahia Standard Time", "America/Bahia"),
    (65, "(UTC-03:00) Santiago", "Pacific SA Standard Time", "America/Santiago"),
    (96, "(UTC-02:00) Coordinated Universal Time-02", "UTC-02", "Etc/GMT+2"),
    (30, "(UTC-02:00) Mid-Atlantic", "Mid-Atlantic Standard Time", "Etc/GMT+2"),
    (29, "(UTC-01:00) Azores", "Azores Standard Time", "Atlantic/Azores"),
    (53, "(UTC-01:00) Cabo Verde", "Cape Verde Standard Time", "Atlantic/Cape_Verde"),
    (86, "(UTC) Casablanca", "Morocco Standard Time", "Africa/Casablanca"),
    (93, "(UTC) Coordinated Universal Time", "UTC", "Etc/UTC"),
    (2, "(UTC) Dublin, Edinburgh, Lisbon, London", "GMT Standard Time", "Europe/London"),
    (31, "(UTC) Monrovia, Reykjavik", "Greenwich Standard Time", "Atlantic/Reykjavik"),
    (4, "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna", "W. Europe Standard Time", "Europe/Berlin"),
    (
        6,
        "(UTC+01:00) Belgrade, Bratislava, Budapest, Ljubljana, Prague",
        "Central Europe Standard Time",
        "Europe/Budapest",
    ),
    (3, "(UTC+01:00) Brussels, Copenhagen, Madrid, Paris", "Romance Standard Time", "Europe/Paris"),
    (57, "(UTC+01:00) Sarajevo, Skopje, Warsaw, Zagreb", "Central European Standard Time", "Europe/Warsaw"),
    (69, "(UTC+01:00) West Central Africa", "W. Central Africa Standard Time", "Africa/Lagos"),
    (83, "(UTC+01:00) Windhoek", "Namibia Standard Time", "Africa/Windhoek"),
    (79, "(UTC+02:00) Amman", "Jordan Standard Time", "Asia/Amman"),
    (5, "(UTC+02:00) Athens, Bucharest, Istanbul", "GTB Standard Time", "Europe/Bucharest"),
    (80, "(UTC+02:00) Beirut", "Middle East Standard Time", "Asia/Beirut"),
    (49, "(UTC+02:00) Cairo", "Egypt Standard Time", "Africa/Cairo"),
    (98, "(UTC+02:00) Damascus", "Syria Standard Time", "Asia/Damascus"),
    (50, "(UTC+02:00) Harare, Pretoria", "South Africa Standard Time", "Africa/Johannesburg"),
    (59, "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius", "FLE Standard Time", "Europe/Helsinki"),
    (101, "(UTC+02:00) Istanbul", "Turkey Standard Time", "Europe/Istanbul"),
    (27, "(UTC+02:00) Jerusalem", "Israel Standard Time", "Asia/Jerusalem"),
    (7, "(UTC+02:00) Minsk (old)", "E. Europe Standard Time", "Europe/Minsk"),
    (104, "(UTC+02:00) E. Europe", "E. Europe Standard Time", "Europe/Chisinau"),
    (100, "(UTC+02:00) Kaliningrad (RTZ 1)", "Kaliningrad Standard Time", "Europe/Kaliningrad"),
    (26, "(UTC+03:00) Baghdad", "Arabic Standard Time", "Asia/Baghdad"),
    (74, "(UTC+03:00) Kuwait, Riyadh", "Arab Standard Time", "Asia/Riyadh"),
    (109, "(UTC+03:00) Minsk", "Belarus Standard Time", "Europe/Minsk"),
    (51, "(UTC+03:00) Moscow, St. Petersburg, Volgograd (RTZ 2)", "Russian Standard Time", "Europe/Moscow"),
    (56, "(UTC+03:00) Nairobi", "E. Africa Standard Time", "Africa/Nairobi"),
    (25, "(UTC+03:30) Tehran", "Iran Standard Time", "Asia/Tehran"),
    (24, "(UTC+04:00) Abu Dhabi, Muscat", "Arabian Standard Time", "Asia/Dubai"),
    (54, "(UTC+04:00) Baku", "Azerbaijan Standard Time", "Asia/Baku"),
    (106, "(UTC+04:00) Izhevsk, Samara (RTZ 3)", "Russia Time Zone 3", "Europe/Samara"),
    (89, "(UTC+04:00) Port Louis", "Mauritius Standard Time", "Indian/Mauritius"),
    (82, "(UTC+04:00) Tbilisi", "Georgian Standard Time", "Asia/Tbilisi"),
    (84, "(UTC+04:00) Yerevan", "Caucasus Standard Time", "Asia/Yerevan"),
    (48, "(UTC+04:30) Kabul", "Afghanistan Standard Time", "Asia/Kabul"),
    (58, "(UTC+05:00) Ekaterinburg (RTZ 4)", "Ekaterinburg Standard Time", "Asia/Yekaterinburg"),
    (87, "(UTC+05:00) Islamabad, Karachi", "Pakistan Standard Time", "Asia/Karachi"),
    (47, "(UTC+05:00) Tashkent", "West Asia Standard Time", "Asia/Tashkent"),
    (23, "(UTC+05:30) Chennai, Kolkata, Mumbai, New Delhi", "India Standard Time", "Asia/Kolkata"),
    (66, "(UTC+05:30) Sri Jayawardenepura", "Sri Lanka Standard Time", "Asia/Colombo"),
    (62, "(UTC+05:45) Kathmandu", "Nepal Standard Time", "Asia/Kathmandu"),
    (71, "(UTC+06:00) Astana", "Central Asia Standard Time", "Asia/Almaty"),
    (102, "(UTC+06:00) Dhaka", "Bangladesh Standard Time", "Asia/Dhaka"),
    (46, "(UTC+06:00) Novosibirsk (RTZ 5)", "N. Central Asia Standard Time", "Asia/Novosibirsk"),
    (61, "(UTC+06:30) Yangon (Rangoon)", "Myanmar Standard Time", "Asia/Yangon"),
    (22, "(UTC+07:00) Bangkok, Hanoi, Jakarta", "SE Asia Standard Time", "Asia/Bangkok"),
    (64, "(UTC+07:00) Krasnoyarsk (RTZ 6)", "North Asia Standard Time", "Asia/Krasnoyarsk"),
    (45, "(UTC+08:00) Beijing, Chongqing, Hong Kong, Urumqi", "China Standard Time", "Asia/Shanghai"),
    (63, "(UTC+08:00) Irkutsk (RTZ 7)", "North Asia East Standard Time", "Asia/Irkutsk"),
    (21, "(UTC+08:00) Kuala Lumpur, Singapore", "Singapore Standard Time", "Asia/Singapore"),
    (73, "(UTC+08:00) Perth", "W. Australia Standard Time", "Australia/Perth"),
    (75, "(UTC+08:00) Taipei", "Taipei Standard Time", "Asia/Taipei"),
    (94, "(UTC+08:00) Ulaanbaatar", "Ulaanbaatar Standard Time", "Asia/Ulaanbaatar"),
    (20, "(UTC+09:00) Osaka, Sapporo, Tokyo", "Tokyo Standard Time", "Asia/Tokyo"),
    (72, "(UTC+09:00) Seoul", "Korea Standard Time", "Asia/Seoul"),
    (70, "(UTC+09:00) Yakutsk (RTZ 8)", "Yakutsk Standard Time", "Asia/Yakutsk"),
    (19, "(UTC+09:30) Adelaide", "Cen. Australia Standard Time", "Australia/Adelaide"),
    (44, "(UTC+09:30) Darwin", "AUS Central Standard Time", "Australia/Darwin"),
    (18, "(UTC+10:00) Brisbane", "E. Australia Standard Time", "Australia/Brisbane"),
    (76, "(UTC+10:00) Canberra, Melbourne, Sydney", "AUS Eastern Standard Time", "Australia/Sydney"),
    (43, "(UTC+10:00) Guam, Port Moresby", "West Pacific Standard Time", "Pacific/Port_Moresby"),
    (42, "(UTC+10:00) Hobart", "Tasmania Standard Time", "Australia/Hobart"),
    (99, "(UTC+10:00) Magadan", "Magadan Standard Time", "Asia/Magadan"),
    (68, "(UTC+10:00) Vladivostok, Magadan (RTZ 9)", "Vladivostok Standard Time", "Asia/Vladivostok"),
    (107, "(UTC+11:00) Chokurdakh (RTZ 10)", "Russia Time Zone 10", "Asia/Srednekolymsk"),
    (41, "(UTC+11:00) Solomon Is., New Caledonia", "Central Pacific Standard Time", "Pacific/Guadalcanal"),
    (108, "(UTC+12:00) Anadyr, Petropavlovsk-Kamchatsky (RTZ 11)", "Russia Time Zone 11", "Asia/Kamchatka"),
    (17, "(UTC+12:00) Auckland, Wellington", "New Zealand Standard Time", "Pacific/Auckland"),
    (97, "(UTC+12:00) Coordinated Universal Time+12", "UTC+12", "Etc/GMT-12"),
    (40, "(UTC+12:00) Fiji", "Fiji Standard Time", "Pacific/Fiji"),
    (92, "(UTC+12:00) Petropavlovsk-Kamchatsky - Old", "Kamchatka Standard Time", "Asia/Kamchatka"),
    (67, "(UTC+13:00) Nuku'alofa", "Tonga Standard Time", "Pacific/Tongatapu"),
    (16, "(UTC+13:00) Samoa", "Samoa Standard Time", "Pacific/Apia"),
]

BY_ID: dict[int, SPTimeZone] = {row[0]: SPTimeZone(*row) for row in _TABLE}

# IANA zones CLDR lists under the same Windows zone for French territories: a collectivité that
# names its own zone in the TOML keeps that name when the site's zone is the same one.
SAME_WINDOWS_ZONE = {
    "Hawaiian Standard Time": {"Pacific/Tahiti"},  # Polynésie française
    "SA Eastern Standard Time": {"America/Cayenne"},  # Guyane
    "SA Western Standard Time": {
        "America/Martinique",
        "America/Guadeloupe",
        "America/St_Barthelemy",
        "America/Marigot",
    },
    "E. Africa Standard Time": {"Indian/Mayotte"},
    "Mauritius Standard Time": {"Indian/Reunion"},
    "Central Pacific Standard Time": {"Pacific/Noumea"},  # Nouvelle-Calédonie
    "UTC+12": {"Pacific/Wallis"},
    "Romance Standard Time": {"Europe/Paris"},
}

# For the emulator and tests: the French collectivités' zones by their SharePoint id.
FRENCH_SITES = {
    "Paris": 3,
    "Nouméa": 41,
    "Papeete": 15,
    "Cayenne": 32,
    "Fort-de-France": 33,
    "Saint-Denis (La Réunion)": 89,
    "Mamoudzou": 56,
    "Mata-Utu": 97,
}


def by_id(tz_id) -> SPTimeZone | None:
    try:
        return BY_ID.get(int(tz_id))
    except (TypeError, ValueError):
        return None


def resolve(tz_id, preferred: str | None = None) -> str | None:
    """IANA zone of a SharePoint time-zone id; the `preferred` name when it is the same zone."""
    tz = by_id(tz_id)
    if tz is None:
        return None
    if preferred and (preferred == tz.iana or preferred in SAME_WINDOWS_ZONE.get(tz.windows, ())):
        return preferred
    return tz.iana


def valid_iana(name: str) -> bool:
    try:
        ZoneInfo(name)
        return True
    except (ZoneInfoNotFoundError, ValueError):
        return False
