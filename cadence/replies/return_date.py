"""The day someone is back at work, read from an out-of-office reply.

``find_return_date(subject, body, sent_on)`` finds the date mentions in the subject and the
unquoted body (month names and numeric dates in 14 languages, ISO and CJK dates, weekday names,
"tomorrow"), decides what each one means from the words around it, and answers:

* an explicit return phrase ("back on", "zurück am", "de retour le", "5月7日より出社") wins;
* else the last day of the absence ("until X", "from A to B", "July 10-31", "bis einschließlich
  X", "休假至X", "X まで", "out of the office Friday") is followed by the next business day;
* else ``None``.

A missing year comes from ``sent_on`` (rolling into the next year when the date would lie more
than about two months before it). Numeric dates such as 05/07/2024 are read day-first or
month-first from their separator, the language around them, other dates in the text and the
plausible window (``sent_on`` up to a year later); when both readings survive, the date is
dropped rather than guessed.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from cadence.replies.mail import unquoted

__all__ = ["find_absence_end", "find_return_date", "next_business_day"]

_MAX_CHARS = 10_000  # an out-of-office notice states its dates near the top
_ROLL_BACK = timedelta(days=62)  # a yearless date this far before sent_on is next year's
_HORIZON = timedelta(days=366)  # no return date further ahead than this

# --- vocabulary -------------------------------------------------------------------------------

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("january", "jan", "januar", "jänner", "jaenner", "januari", "janvier", "janv", "enero",
        "ene", "gennaio", "gen", "janeiro", "styczeń", "stycznia", "styczen", "sty"),
    2: ("february", "feb", "febr", "februar", "feber", "februari", "février", "fevrier", "févr",
        "fevr", "febrero", "febbraio", "fevereiro", "fev", "luty", "lutego", "lut"),
    3: ("march", "mar", "märz", "maerz", "mrz", "mär", "maart", "mrt", "mars", "marts", "marzo",
        "março", "marco", "marzec", "marca"),
    4: ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "kwiecień", "kwietnia",
        "kwiecien", "kwi"),
    5: ("may", "mai", "mei", "mayo", "maggio", "mag", "maio", "maj", "maja"),
    6: ("june", "jun", "juni", "juin", "junio", "giugno", "giu", "junho", "czerwiec", "czerwca",
        "cze"),
    7: ("july", "jul", "juli", "juillet", "juil", "julio", "luglio", "lug", "julho", "lipiec",
        "lipca", "lip"),
    8: ("august", "aug", "augustus", "augusti", "août", "aout", "agosto", "ago", "sierpień",
        "sierpnia", "sierpien", "sie"),
    9: ("september", "sep", "sept", "septembre", "septiembre", "setiembre", "settembre", "set",
        "setembro", "wrzesień", "września", "wrzesien", "wrzesnia", "wrz"),
    10: ("october", "oct", "oktober", "okt", "octobre", "octubre", "ottobre", "ott", "outubro",
         "out", "październik", "października", "pazdziernik", "pazdziernika", "paź", "paz"),
    11: ("november", "nov", "novembre", "noviembre", "novembro", "listopad", "listopada", "lis"),
    12: ("december", "dec", "dezember", "dez", "décembre", "decembre", "déc", "diciembre", "dic",
         "dicembre", "dezembro", "desember", "grudzień", "grudnia", "grudzien", "gru"),
}  # fmt: skip
_RU_MONTHS: dict[int, tuple[str, ...]] = {
    1: ("января", "январь", "янв"), 2: ("февраля", "февраль", "фев"), 3: ("марта", "март", "мар"),
    4: ("апреля", "апрель", "апр"), 5: ("мая", "май"), 6: ("июня", "июнь", "июн"),
    7: ("июля", "июль", "июл"), 8: ("августа", "август", "авг"),
    9: ("сентября", "сентябрь", "сен", "сент"), 10: ("октября", "октябрь", "окт"),
    11: ("ноября", "ноябрь", "ноя"), 12: ("декабря", "декабрь", "дек"),
}  # fmt: skip
for _num, _names in _RU_MONTHS.items():
    _MONTH_NAMES[_num] += _names
_EN_MONTHS = ("january", "jan", "february", "feb", "march", "mar", "april", "apr", "may", "june",
              "jun", "july", "jul", "august", "aug", "september", "sept", "sep", "october", "oct",
              "november", "nov", "december", "dec")  # fmt: skip
_MONTH_OF = {name: num for num, names in _MONTH_NAMES.items() for name in names}

_WEEKDAY_NAMES: tuple[tuple[str, ...], ...] = (
    ("monday", "montag", "maandag", "lundi", "lunes", "lunedì", "lunedi", "segunda-feira",
     "poniedziałek", "poniedzialek", "måndag", "måndagen", "mandag", "mandagen"),
    ("tuesday", "dienstag", "dinsdag", "mardi", "martes", "martedì", "martedi", "terça-feira",
     "terca-feira", "wtorek", "tisdag", "tisdagen", "tirsdag", "tirsdagen"),
    ("wednesday", "mittwoch", "woensdag", "mercredi", "miércoles", "miercoles", "mercoledì",
     "mercoledi", "quarta-feira", "środa", "środę", "sroda", "srode", "onsdag", "onsdagen"),
    ("thursday", "donnerstag", "donderdag", "jeudi", "jueves", "giovedì", "giovedi",
     "quinta-feira", "czwartek", "torsdag", "torsdagen"),
    ("friday", "freitag", "vrijdag", "vendredi", "viernes", "venerdì", "venerdi", "sexta-feira",
     "piątek", "piatek", "fredag", "fredagen"),
    ("saturday", "samstag", "sonnabend", "zaterdag", "samedi", "sábado", "sabado", "sabato",
     "sobota", "sobotę", "sobote", "lördag", "lördagen", "lørdag", "lørdagen"),
    ("sunday", "sonntag", "zondag", "dimanche", "domingo", "domenica", "niedziela", "niedzielę",
     "niedziele", "söndag", "söndagen", "søndag", "søndagen"),
)  # fmt: skip
_RU_WEEKDAYS = (("понедельник", "понедельника"), ("вторник", "вторника"),
                ("среда", "среду", "среды"), ("четверг", "четверга"),
                ("пятница", "пятницу", "пятницы"), ("суббота", "субботу", "субботы"),
                ("воскресенье", "воскресенья"))  # fmt: skip
_WEEKDAY_NAMES = tuple(names + ru for names, ru in zip(_WEEKDAY_NAMES, _RU_WEEKDAYS, strict=True))
_WEEKDAY_ABBR: tuple[tuple[str, ...], ...] = (
    ("mon", "mo", "ma", "lun", "segunda", "pon", "mån", "man"),
    ("tue", "tues", "di", "mar", "terça", "terca", "wt", "tis", "tir"),
    ("wed", "mi", "wo", "mer", "mié", "mie", "quarta", "śr", "ons"),
    ("thu", "thur", "thurs", "do", "jeu", "jue", "gio", "quinta", "czw", "tor"),
    ("fri", "fr", "vr", "ven", "vie", "sexta", "pt", "pią", "fre"),
    ("sat", "sa", "za", "sam", "sáb", "sab", "sob", "lör", "lør"),
    ("sun", "so", "zo", "dim", "dom", "nie", "sön", "søn"),
)  # fmt: skip
_WEEKDAY_OF = {n: i for i, names in enumerate(_WEEKDAY_NAMES) for n in names}
_WEEKDAY_ABBR_OF = {n: i for i, names in enumerate(_WEEKDAY_ABBR) for n in names}
_CJK_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6,
                "月": 0, "火": 1, "水": 2, "木": 3, "金": 4, "土": 5}  # fmt: skip


def _alt(names: Iterable[str]) -> str:
    """A regex alternation of literal names, longest first."""
    words = sorted(set(names), key=len, reverse=True)
    return "|".join(re.escape(w) for w in words)


_MON_ALL = r"(?P<mon>" + _alt(_MONTH_OF) + r")(?:\.|\b)"
_MON_EN = r"(?P<mon>" + _alt(_EN_MONTHS) + r")(?:\.|\b)"
_WD_FULL = _alt(_WEEKDAY_OF)
_WD_ABBR = _alt(_WEEKDAY_ABBR_OF)
_DAYNUM = r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)"
_ORD = r"(?:st|nd|rd|th|ère|ere|er|re|ème|eme|ste|de|e|-?go|:[ae]|\.?[oa°]|\.)?"
_YEAR = (r"(?:\s*,?\s*(?:(?:de|del|of)\s+)?(?P<y>(?:19|20)\d{2})(?![\d:])"
         r"|\s*'(?P<y2>\d{2})(?!\d))?")  # fmt: skip

# --- date patterns (text is NFKC-normalised and lower-cased) ------------------------------------

_ISO_RX = re.compile(
    r"(?<![\d./-])(?P<y>(?:19|20)\d{2})(?P<s>[-/.])(?P<m>1[0-2]|0?[1-9])(?P=s)"
    r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)"
)
_CJK_RX = re.compile(
    r"(?:(?P<y>(?:19|20)\d{2})\s*年\s*)?(?<!\d)(?P<m>1[0-2]|0?[1-9])\s*月\s*"
    r"(?P<d>3[01]|[12]\d|0?[1-9])(?!\d)\s*(?:日|号|號)?"
    r"(?:(?:\s*[(（][^)）\n]{1,6}[)）])?\s*(?:-|–|~|〜|至|到)\s*"
    r"(?P<d2>3[01]|[12]\d|0?[1-9])\s*(?:日|号|號))?"
)
_DAY_FIRST_RX = re.compile(
    r"(?<![\d.,/:])" + _DAYNUM + _ORD
    + r"(?:\s*[-/]\s*|\s*(?:(?:de|of|del|di)\s+)?)" + _MON_ALL + r"(?!\s+of\b)" + _YEAR
)  # fmt: skip
_MONTH_FIRST_RX = re.compile(
    r"\b" + _MON_EN + r"\s*(?:the\s+)?" + _DAYNUM + r"(?:st|nd|rd|th)?(?![\d:])"
    r"(?!\s*(?:%|am\b|pm\b|a\.m|p\.m|hours?\b|days?\b|weeks?\b|h\b|min))"
    r"(?:\s*(?:-|–|—|to|through|thru|until|till)\s*(?P<d2>3[01]|[12]\d|0?[1-9])"
    r"(?:st|nd|rd|th)?(?![\d:]))?" + _YEAR
)  # fmt: skip
_NUM_RX = re.compile(
    r"(?<![a-z\d.,/+:])(?P<a>\d{1,2})(?P<s>[./-])(?P<b>\d{1,2})"
    r"(?:(?P=s)(?P<y>(?:19|20)?\d{2})(?!\d))?\.?(?!\d)(?![./-]\d)"
    r"(?!\s*(?:am\b|pm\b|a\.m|p\.m|uhr\b|h\b|hrs?\b|hours?\b|godz|tim\b|kl\b|%|€|\$))"
)
_WEEKDAY_RX = re.compile(
    r"\b(?P<wd>" + _WD_FULL + r")\b"
    r"|(?P<nw>下周|下週|下星期|下礼拜|下禮拜|来週の?|來週)?"
    r"(?:(?:星期|礼拜|禮拜|周|週)(?P<cwd>[一二三四五六日天])|(?P<jwd>[月火水木金土日])曜日?)"
)
_RELATIVE_RX = re.compile(
    r"(?P<r2>day after tomorrow|übermorgen|overmorgen|après-demain|pasado mañana|dopodomani"
    r"|depois de amanhã|pojutrze|i övermorgon|i overmorgen|后天|後天|明後日|あさって)"
    r"|\b(?P<r1>tomorrow|morgen|demain|mañana|domani|amanhã|jutro|imorgon|i morgon|i morgen)\b"
    r"|(?P<c1>明天|明日)"
    r"|\b(?P<r0>today|heute|vandaag|aujourd'hui|hoy|oggi|hoje|dzisiaj|dziś|idag|i dag)\b"
    r"|(?P<c0>今天|今日|本日)"
)
_EN_WD_ABBR = ("mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun")
_WD_BEFORE_RX = re.compile(
    r"(?:\b(?P<wd>" + _WD_FULL + r")\s*,?|\b(?P<en>" + _alt(_EN_WD_ABBR) + r")\b\.?\s*,?"
    r"|\b(?P<ab>" + _WD_ABBR + r")(?:\.\s*,?|\s*,))\s*(?:(?:the|den|der|dem|le|el|il|o|a)\s+)?$"
)
_WD_AFTER_RX = re.compile(
    r"\s*[(（]\s*(?:(?:星期|礼拜|禮拜|周|週)?(?P<c>[一二三四五六日天月火水木金土])(?:曜日?)?"
    r"|(?P<wd>" + _WD_FULL + r")|(?P<ab>" + _WD_ABBR + r")\.?)\s*[)）]"
)

# --- what the words around a date say ------------------------------------------------------------

_RET = (
    r"\bback\b(?!\s+to\s+you)|\breturn(?:s|ing|ed)?\b(?!\s+(?:your|the\s+call|calls?\b|e-?mails?"
    r"|messages?))|\bresum(?:e|es|ing)\b|\bagain\b|\bexpected\s+back\b|\bbe\s+in\s+(?:the\s+)?"
    r"office\b|\bzurück\b|\bzurueck\b|\bwieder\b|\brückkehr\b|\bterug\b|\bweer\b|\bterugkomst\b"
    r"|\bde\s+retour\b|\bretour\b|\brevien\w*|\brentre\w*|\breprendr\w*|\bde\s+nouveau\b"
    r"|\bà\s+nouveau\b|\bde\s+vuelta\b|\bregres\w*|\bvuelvo\b|\bvolver\w*|\breincorpor\w*"
    r"|\bde\s+nuevo\b|\bnuevamente\b|\bretorn\w*|\bdi\s+ritorno\b|\brientr\w*|\britorn\w*"
    r"|\btorn(?:o|erò|ero)\b|\bdi\s+nuovo\b|\bsar[òo]\s+(?:di\s+nuovo\s+|nuovamente\s+)?in\s+"
    r"ufficio\b|\bde\s+volta\b|\bvolt(?:o|arei)\b|\bnovamente\b|\bde\s+novo\b|\bwracam\b"
    r"|\bwróc\w*|\bwroc\w*|\bz\s+powrotem\b|\bpowr[óo]t\w*|\bpowracam\b|\bponownie\b|\bznów\b"
    r"|\bznowu\b|\bbęd[ęe]\s+w\s+biurze\b|\btillbaka\b|\båter\w*|\bigen\b|\btilbage\b"
    r"|\btilbake\b|\bigjen\b|\bвернусь\b|\bвернуться\b|\bвыйду\b|\bснова\b|\bбуду на месте\b"
    r"|\bбуду в офисе\b"
    r"|\bприступлю\b|回来|回來|返回|回到|上班|回公司|返岗|复工|戻|出社|復帰|帰社|出勤"
)
_FILLER = (
    r"(?:\s*(?:the|el|la|le|il|lo|al|au|aux|den|dem|der|zum|zur|einschließlich|einschliesslich"
    r"|einschl\.|inkl\.|inklusive|incl\.|including|inclusive|dnia|dia|día|o|a|ao|de|du|del"
    r"|on|and\s+including|en\s+met|og\s+med|och\s+med|giorno)\b)*\s*"
)
_UNTIL = (
    r"\buntil\b|\btill\b|\btil\b|'til\b|\buntill\b|\bthrough\b|\bthru\b|\bup\s+to\s+and\s+"
    r"including\b|\bto\s+and\s+including\b|\b(?:back|return\w*)\s+(?:after|following)\b|\bafter\b"
    r"|\bbis\b|\bnach\b|\btot\s+en\s+met\b|\bt/m\b|\bt\.e\.m\.?|\btot\b|\bna\b|\bjusqu'|\bjusque\b"
    r"|\baprès\b|\bhasta\b|\bdespués\s+del?\b|\bfino\b|\bsino\b|\bdopo\b|\baté\b|\bapós\b"
    r"|\bdepois\s+de\b|\bdo\b|\bpo\b|\btill\s+och\s+med\b|\bt\.o\.m\.?|\bfram\s+till\b"
    r"|\btil\s+og\s+med\b|\bfrem\s+til\b|\bindtil\b|\binntil\b|\befter\b|\bдо\b|\bпо\b"
    r"|\bпосле\b|至|到|直到|截止|~|〜"
)
_START = (
    r"\bfrom\b|\bas\s+of\b|\bstarting\b|\bbeginning\b|\bsince\b|\beffective\b|\bab\b|\bvom\b"
    r"|\bvon\b|\bseit\b|\bvanaf\b|\bvan\b|\bper\b|\bsinds\b|\bà\s+partir\s+d[ue]\b"
    r"|\ba\s+partir\s+d[ue]l?\b|\bdu\b|\bdepuis\b|\bdès\b|\bdesde\b|\bdel\b|\bdal\b|\bda\b"
    r"|\ba\s+partire\s+da\w*|\bde\b|\bod\b|\bfrån\b|\bfra\b|\bfr\.o\.m\.?|\bfra\s+og\s+med\b"
    r"|\bс\b|\bсо\b|自|从|從|起"
)
_UNTIL_END_RX = re.compile(r"(?:" + _UNTIL + r")" + _FILLER + r"$")
_START_END_RX = re.compile(r"(?:" + _START + r")" + _FILLER + r"$")
_RET_RX = re.compile(_RET)
_CONNECTOR = (
    r"(?:-|–|—|to|till|until|through|thru|bis|au|al|a|à|ao|tot|t/m|tot\s+en\s+met|do|til|até"
    r"|till\s+och\s+med|til\s+og\s+med|по|до|~|〜|至|到|から)"
)
_RANGE_GAP_RX = re.compile(r"\s*" + _CONNECTOR + _FILLER + r"$")
_BARE_DAY_RANGE_RX = re.compile(
    r"(?<![\d.:/])(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th|er|e|\.|o|º)?\s*" + _CONNECTOR + _FILLER
    + r"$"
    r"|(?:between|zwischen|tussen|entre|tra|między|mellan|mellem)\s+" + _FILLER
    + r"(?:3[01]|[12]\d|0?[1-9])\S{0,3}\s+(?:and|und|en|et|y|e|i|och|og)" + _FILLER + r"$"
)  # fmt: skip
_AND_GAP_RX = re.compile(r"\s*(?:and|und|en|et|y|e|i|och|og)" + _FILLER + r"$")
_BETWEEN_RX = re.compile(r"(?:between|zwischen|tussen|entre|tra|między|mellan|mellem)\W*$")
_POST_RET_RX = re.compile(r"[^.!?;。\n]{0,40}?(?:" + _RET + r"|以降)")
_POST_UNTIL_RX = re.compile(
    r"\s*(?:まで|迄|为止|為止|之后|以后|之後|以後|inclusive\b|incl\b|einschließlich\b|einschl\b"
    r"|inklusive\b|inkl\b|inclus\b|incluse?\b|inclusief\b|incluido\b|incluso\b|incluído\b"
    r"|compreso\b|włącznie\b|inklusive\b|inklusiv\b)"
)
_POST_START_RX = re.compile(r"\s*(?:から|より|起|开始|開始|onwards\b|on\b(?=\s*$))")
_ABSENT_RX = re.compile(
    r"\bout\s+of\s+(?:the\s+)?office\b|(?<![-\w])out\b(?!-|\s+(?:more|about|how|what|why|which|if)\b)"
    r"|\baway\b|\boff\b|\bleave\b|\bvacation|\bholiday|\btravel|\babsent|\bunavailable\b"
    r"|\bnot\s+(?:be\s+)?(?:in|available|reachable)\b|\bclosed\b|\burlaub|\babwesen"
    r"|\bnicht\s+(?:im|in|da|erreichbar|verfügbar|anwesend)\b|\bdienstreise|\bgeschäftsreise"
    r"|\bafwezig|\bvakantie|\bverlof|\bniet\s+(?:aanwezig|op\s+kantoor|bereikbaar)\b|\bcongé"
    r"|\bvacances\b|\bdéplacement\b|\bausente\b|\bfuera\b|\bvacaciones\b|\bviaje\b|\bassente\b"
    r"|\bfuori\b|\bferie\b|\bvacanza\b|\btrasferta\b|\bférias\b|\bfora\b|\blicença\b|\bnieobecn"
    r"|\burlop|\bpoza\s+biurem\b|\bdelegacj|\bledig\b|\bsemester\b|\bfrånvar|\btjänstresa\b"
    r"|\bborta\b|\bfravær|\bborte\b|\bfri\b|\bsyk\b|\bsyg\b|\bотпуск|\bотсутств|\bкомандировк"
    r"|\bбольничн|\bне буду\b|\bнет в офисе\b|休假|不在|出差|请假|請假|外出|休暇|出張"
    r"|お休み|休み"
)
_BOUNDARY_RX = re.compile(r"(?<!\d)(?P<dot>\.)\s+(?P<nxt>\S)|[!?;。！？]|\n[ \t]*\n")

_LANG_EN_RX = re.compile(
    r"\b(?:the|and|i|i'm|am|will|be|you|your|office|until|back|please|with|of|on|my|for|is"
    r"|returning|away)\b"
)
_LANG_OTHER_RX = re.compile(
    r"\b(?:ich|und|bin|nicht|sie|ihre|bis|zurück|wieder|bitte|mit|der|die|das|im|ik|ben|niet"
    r"|tot|met|uw|het|van|weer|terug|vanaf|je|suis|les|et|vous|votre|retour|jusqu'au|bureau"
    r"|serai|estoy|hasta|usted|gracias|oficina|vuelta|con|estaré|sono|il|fino|ufficio|grazie"
    r"|di|per|della|rientro|sarò|dal|al|estou|até|escritório|volta|em|estarei|jestem|do|dnia"
    r"|biura|będę|od|jag|är|och|tillbaka|på|till|inte|jeg|er|og|tilbage|tilbake|ikke|ferie"
    r"|я|в|до|и|не|с|по|на|отпуске|буду)\b"
)
_KANA_RX = re.compile(r"[\u3040-\u30ff]")
_HAN_RX = re.compile(r"[\u4e00-\u9fff]")

# --- date mentions --------------------------------------------------------------------------------


@dataclass
class _Mention:
    """One date-like expression in the text."""

    start: int
    end: int
    prio: int
    readings: list[tuple[int | None, int, int]]  # (year or None, month, day)
    d2: int | None = None  # last day of a "July 10-31" range
    weekday: int | None = None  # a named weekday (alone, or alongside a date)
    rel: int | None = None  # days after sent_on ("tomorrow" = 1)
    next_week: bool = False  # 下周一, 来週月曜日
    numeric: tuple[int, int, str] | None = None  # (a, b, separator) of a numeric a/b date
    ambiguous: bool = False  # both a/b readings are valid dates

    @property
    def bare(self) -> bool:
        """A weekday or "tomorrow" alone, placed relative to another date."""
        return not self.readings


def _year(y: str | None, y2: str | None) -> int | None:
    """A four- or two-digit year ("2024", "24", "'24"), if any."""
    if y:
        return int(y) + (2000 if len(y) == 2 else 0)
    if y2:
        return 2000 + int(y2)
    return None


def _raw_mentions(low: str) -> list[_Mention]:
    """Every date-like expression, overlaps resolved, weekdays attached to their dates."""
    found: list[_Mention] = []
    for m in _ISO_RX.finditer(low):
        found.append(_Mention(m.start(), m.end(), 0, [(int(m["y"]), int(m["m"]), int(m["d"]))]))
    for m in _CJK_RX.finditer(low):
        y = int(m["y"]) if m["y"] else None
        d2 = int(m["d2"]) if m["d2"] else None
        found.append(_Mention(m.start(), m.end(), 0, [(y, int(m["m"]), int(m["d"]))], d2))
    for m in _DAY_FIRST_RX.finditer(low):
        mon = _MONTH_OF[m["mon"]]
        found.append(_Mention(m.start(), m.end(), 1, [(_year(m["y"], m["y2"]), mon, int(m["d"]))]))
    for m in _MONTH_FIRST_RX.finditer(low):
        mon = _MONTH_OF[m["mon"]]
        d2 = int(m["d2"]) if m["d2"] else None
        reading = (_year(m["y"], m["y2"]), mon, int(m["d"]))
        found.append(_Mention(m.start(), m.end(), 1, [reading], d2))
    for m in _NUM_RX.finditer(low):
        if m["y"] is None and m["s"] == "-":
            continue  # "5-6" is a count, not a date
        a, b, y = int(m["a"]), int(m["b"]), _year(m["y"], None)
        readings: list[tuple[int | None, int, int]] = []
        if 1 <= a <= 31 and 1 <= b <= 12:
            readings.append((y, b, a))  # day first
        if 1 <= a <= 12 and 1 <= b <= 31 and a != b:
            readings.append((y, a, b))  # month first
        if readings:
            numeric = (a, b, m["s"])
            ambiguous = len(readings) == 2
            found.append(
                _Mention(m.start(), m.end(), 2, readings, numeric=numeric, ambiguous=ambiguous)
            )
    for m in _WEEKDAY_RX.finditer(low):
        wd = _WEEKDAY_OF[m["wd"]] if m["wd"] else _CJK_WEEKDAY[m["cwd"] or m["jwd"]]
        found.append(_Mention(m.start(), m.end(), 3, [], weekday=wd, next_week=bool(m["nw"])))
    for m in _RELATIVE_RX.finditer(low):
        rel = 2 if m["r2"] else 1 if (m["r1"] or m["c1"]) else 0
        found.append(_Mention(m.start(), m.end(), 3, [], rel=rel))
    if not found:
        return []
    found.sort(key=lambda x: (x.prio, x.start, x.start - x.end))
    taken: list[_Mention] = []
    for cand in found:
        if all(cand.end <= t.start or cand.start >= t.end for t in taken):
            taken.append(cand)
    taken.sort(key=lambda x: x.start)
    # A weekday next to a date belongs to it: "Monday, 15th September", "5月7日(火)".
    merged: list[_Mention] = []
    for cur in taken:
        if cur.readings:
            before = _WD_BEFORE_RX.search(low, max(0, cur.start - 30), cur.start)
            if before is not None:
                if before["wd"]:
                    cur.weekday = _WEEKDAY_OF[before["wd"]]
                else:
                    cur.weekday = _WEEKDAY_ABBR_OF[before["en"] or before["ab"]]
                cur.start = before.start()
                while merged and merged[-1].end > cur.start:
                    merged.pop()
            after = _WD_AFTER_RX.match(low, cur.end)
            if after is not None:
                if after["c"]:
                    cur.weekday = _CJK_WEEKDAY[after["c"]]
                elif after["wd"]:
                    cur.weekday = _WEEKDAY_OF[after["wd"]]
                else:
                    cur.weekday = _WEEKDAY_ABBR_OF[after["ab"]]
                cur.end = after.end()
        elif merged and cur.start < merged[-1].end:
            continue
        merged.append(cur)
    return merged


# --- meaning ------------------------------------------------------------------------------------

_RETURN, _END, _ABSENT, _NONE = "return", "end", "absent", "none"


def _kind(low: str, ms: list[_Mention], i: int, cstart: int, cend: int) -> str:
    """What the words around mention ``i`` make of it (clause ``low[cstart:cend]``)."""
    m = ms[i]
    prev_end = ms[i - 1].end if i > 0 else -1
    pre_start = max(cstart, prev_end, m.start - 100)
    gap = low[pre_start : m.start]
    nxt = ms[i + 1].start if i + 1 < len(ms) else len(low)
    post_end = min(cend, m.end + 50)
    post = low[m.end : min(post_end, nxt)]
    # a return word just before the next date is that date's: "20 Dec: back on 3 January"
    post_ret = nxt >= post_end and _POST_RET_RX.match(post) is not None
    reach = 40 if m.bare else 60  # absence words must be near: "out of the office Friday"
    absent = bool(
        _ABSENT_RX.search(low, max(cstart, m.start - reach), m.start)
        or _ABSENT_RX.search(low, m.end, min(cend, m.end + reach))
    )
    if m.bare:
        if _RET_RX.search(gap) or post_ret:
            return _RETURN
        if not absent or _START_END_RX.search(gap) or _POST_START_RX.match(post):
            return _NONE
        if _UNTIL_END_RX.search(gap):
            return _END  # "bis Freitag im Urlaub"
        return _ABSENT  # "out of the office Friday"
    if m.d2 is not None:
        return _END  # "July 10-31"
    if prev_end >= pre_start:
        if _RANGE_GAP_RX.fullmatch(gap):
            return _END  # "from 1 May to 5 May", "5月1日至5月6日"
        prev_start = ms[i - 1].start
        if _AND_GAP_RX.fullmatch(gap) and _BETWEEN_RX.search(
            low, max(0, prev_start - 20), prev_start
        ):
            return _END
    if _BARE_DAY_RANGE_RX.search(gap) or _UNTIL_END_RX.search(gap):
        return _END
    ret = _RET_RX.search(gap) is not None or post_ret
    if _START_END_RX.search(gap):
        return _RETURN if ret else _NONE  # "ab dem 8. Mai wieder", not "ab dem 1. Mai"
    if ret:
        return _RETURN
    if _POST_UNTIL_RX.match(post):
        return _END
    if _POST_START_RX.match(post):
        return _NONE
    return _ABSENT if absent else _NONE


def _english(low: str, start: int, end: int) -> bool | None:
    """True for English around a position, False for another language, None for CJK."""
    window = low[max(0, start - 150) : end + 150]
    if _HAN_RX.search(window) or _KANA_RX.search(window):
        return None
    return len(_LANG_EN_RX.findall(window)) >= len(_LANG_OTHER_RX.findall(window))


def _make_date(y: int | None, mo: int, d: int, sent_on: date | None) -> date | None:
    """The date, a missing year taken from ``sent_on`` (next year if long past)."""
    if y is None:
        if sent_on is None:
            return None
        for year in (sent_on.year, sent_on.year + 1):
            try:
                day = date(year, mo, d)
            except ValueError:
                continue
            if day >= sent_on - _ROLL_BACK or year > sent_on.year:
                return day
        return None
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _range_end(start: date, d2: int) -> date | None:
    """The last day of "July 10-31" (or "Jan 28-3", into the next month)."""
    month, year = start.month, start.year
    if d2 < start.day:
        month, year = (1, year + 1) if month == 12 else (month + 1, year)
    try:
        return date(year, month, d2)
    except ValueError:
        return None


def _today_order(ms: list[_Mention], sent_on: date | None) -> tuple[bool, bool]:
    """(day first, month first) as a slashed date that names the day the reply was sent shows
    it: "out of the office from 05/07/2010 until 12/07/2010", sent on 5 July."""
    day_first = month_first = False
    if sent_on is None:
        return day_first, month_first
    for m in ms:
        if not m.ambiguous or m.numeric is None or m.numeric[2] == ".":
            continue
        near = [
            day is not None and abs((day - sent_on).days) <= 1
            for day in (_make_date(y, mo, d, sent_on) for y, mo, d in m.readings)
        ]
        if near == [True, False]:
            day_first = True
        elif near == [False, True]:
            month_first = True
    return day_first, month_first


def _order_numeric(low: str, ms: list[_Mention], sent_on: date | None) -> None:
    """Keep one reading of ambiguous a/b dates where the text decides it."""
    slashed = [m.numeric for m in ms if m.numeric is not None and m.numeric[2] != "."]
    day_first = any(a > 12 >= b for a, b, _ in slashed)
    month_first = any(b > 12 >= a for a, b, _ in slashed)
    if not day_first and not month_first:
        day_first, month_first = _today_order(ms, sent_on)
    for m in ms:
        if not m.ambiguous or m.numeric is None:
            continue
        english = _english(low, m.start, m.end)
        if m.numeric[2] == ".":
            keep = 0  # 05.07.2024 is day-first wherever it is written
        elif english is None:
            keep = 1  # Chinese and Japanese write month/day
        elif english is False:
            keep = 0
        elif day_first != month_first:
            keep = 0 if day_first else 1  # another date in the text shows the order
        else:
            continue
        m.readings = [m.readings[keep]]
        m.ambiguous = False


def _dates(m: _Mention, kind: str, sent_on: date | None, known: set[tuple[int, int]]) -> set[date]:
    """The dates a dated mention can stand for (its end for a range ending an absence)."""
    readings = m.readings
    if m.ambiguous:
        agreed = [r for r in readings if (r[1], r[2]) in known]
        if len(agreed) == 1:
            readings = agreed
    out: list[date] = []
    for y, mo, d in readings:
        day = _make_date(y, mo, d, sent_on)
        if day is not None and m.d2 is not None and kind != _RETURN:
            day = _range_end(day, m.d2)
        if day is not None:
            out.append(day)
    if m.weekday is not None and len(out) > 1:
        same = [day for day in out if day.weekday() == m.weekday]
        if same:
            out = same
    return set(out)


def _bare_date(m: _Mention, kind: str, anchor: date) -> date:
    """The day a weekday or "tomorrow" names, counted from ``anchor``."""
    if m.rel is not None:
        return anchor + timedelta(days=m.rel)
    wd = m.weekday if m.weekday is not None else 0
    if m.next_week:
        return anchor + timedelta(days=7 - anchor.weekday() + wd)
    ahead = (wd - anchor.weekday()) % 7
    if kind != _ABSENT and ahead == 0:
        ahead = 7  # "back on Monday" / "until Monday" sent on a Monday: next week's
    return anchor + timedelta(days=ahead)


def next_business_day(day: date) -> date:
    """The first Monday-to-Friday after ``day``."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _normalise(text: str) -> str:
    """NFKC (full-width digits, 15º -> 15o) and straight apostrophes."""
    text = unicodedata.normalize("NFKC", text).replace("İ", "I")
    return text.replace("’", "'").replace("‘", "'").replace("`", "'").replace("´", "'")


def _analyse(subject: str, body: str, sent_on: date | None) -> tuple[date | None, date | None]:
    """(return date stated, last day of absence stated), both within the plausible window."""
    text = _normalise((subject or "") + "\n\n" + unquoted(body or "")[:_MAX_CHARS])
    low = text.lower()
    if len(low) != len(text):  # clause boundaries are found in ``text`` and used in ``low``
        text = low
    ms = _raw_mentions(low)
    if not ms:
        return None, None
    bounds = [
        b.start() for b in _BOUNDARY_RX.finditer(text) if b["dot"] is None or b["nxt"].isupper()
    ]
    _order_numeric(low, ms, sent_on)
    kinds: list[str] = []
    for i, m in enumerate(ms):
        k = bisect_right(bounds, m.start)
        cstart = bounds[k - 1] + 1 if k else 0
        j = bisect_left(bounds, m.start)  # "3 May. I am..." (the dot may end the mention)
        cend = bounds[j] if j < len(bounds) else len(low)
        kinds.append(_kind(low, ms, i, cstart, cend))

    def plausible_return(day: date) -> bool:
        """Up to a year after ``sent_on``, or a little before it: a notice left on past its
        date still states the date it states."""
        return sent_on is None or sent_on - _ROLL_BACK <= day <= sent_on + _HORIZON

    known: set[tuple[int, int]] = {(r[1], r[2]) for m in ms if not m.ambiguous for r in m.readings}
    ret: date | None = None
    until: date | None = None
    absent: date | None = None
    for m, kind in zip(ms, kinds, strict=True):
        if kind == _NONE or m.bare:
            continue
        days = _dates(m, kind, sent_on, known)
        if kind == _RETURN:
            days = {d for d in days if plausible_return(d)}
        else:
            days = {d for d in days if plausible_return(next_business_day(d))}
        if len(days) > 1 and sent_on is not None:  # 05/07 sent in June: July, not May
            days = {d for d in days if (d if kind == _RETURN else next_business_day(d)) >= sent_on}
        if len(days) != 1:
            continue  # nothing, or an ambiguous numeric date nothing decides
        (day,) = days
        if kind == _RETURN and ret is None:
            ret = day
        elif kind == _END and until is None:
            until = day
        elif kind == _ABSENT and (absent is None or day > absent):
            absent = day
    if sent_on is not None and until is None and absent is None:
        for m, kind in zip(ms, kinds, strict=True):
            if m.bare and kind == _END:
                day = _bare_date(m, kind, sent_on)
                if absent is None or day > absent:
                    absent = day  # "bis Freitag im Urlaub"; "out of the office Friday" says
                    # when they are away, not when they are back
    end = until or absent
    if sent_on is not None and ret is None:
        for m, kind in zip(ms, kinds, strict=True):
            if m.bare and kind == _RETURN:
                day = _bare_date(m, kind, end or sent_on)
                if plausible_return(day):
                    ret = day
                    break
    return ret, end


def find_return_date(subject: str, body: str, sent_on: date | None) -> date | None:
    """The day the sender is back at work, as the subject or the unquoted body states it.

    ``body`` is decoded plain text; ``sent_on`` is the message's Date (``None``: dates without a
    year, weekdays and "tomorrow" cannot be placed and are ignored).
    """
    ret, end = _analyse(subject, body, sent_on)
    if ret is not None:
        return ret
    return next_business_day(end) if end is not None else None


def find_absence_end(subject: str, body: str, sent_on: date | None) -> date | None:
    """The last day of the absence where the text states one ("until X", "from A to B")."""
    return _analyse(subject, body, sent_on)[1]
