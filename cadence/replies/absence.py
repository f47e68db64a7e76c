"""Out-of-office wording: subjects, body phrases and "this address is gone" notices.

Three predicates, each tuned to stay quiet on ordinary human replies (the caller weighs them with
the headers):

* ``absence_subject``: the subject marks an auto-reply ("Automatic reply:", "Out of Office:",
  "AUTO: Jane Doe is out of the office", "Abwesenheitsnotiz", "自動返信", ...). A reply prefix
  ("Re:", "AW:", "SV:", "回复:") only passes when an explicit auto-reply marker follows it.
* ``absence_text``: the body says the writer is away *now* or that the message is automatic, in
  English, German, Dutch, French, Spanish, Italian, Portuguese, Polish, Swedish, Danish,
  Norwegian, Chinese, Japanese or Russian. Past tense, "next week/month" plans without an end
  date, late reply apologies and questions do not count. ``absence_language`` names the language.
* ``address_gone``: the address is no longer read, the person has left, or mail should go to
  someone else instead.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator

__all__ = ["absence_language", "absence_subject", "absence_text", "address_gone"]

# --- text preparation ----------------------------------------------------------------------------


_MAX_CHARS = 10_000  # notices say what they are near the top; bound the work on long mail


def _normalise(text: str) -> str:
    """NFKC, straight apostrophes, lower case, wrapped lines joined (paragraphs kept)."""
    text = unicodedata.normalize("NFKC", (text or "")[:_MAX_CHARS]).replace("İ", "I")
    text = text.replace("’", "'").replace("‘", "'").replace("`", "'").replace("´", "'")
    text = re.sub(r"[ \t\r\f\v\u00a0]*\n[ \t\r\f\v\u00a0]*", "\n", text.lower())
    text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
    return re.sub(r"[ \t\r\f\v\u00a0]+", " ", text)


_WS, _OPT_WS = r"\s+", r"\s*"


def _rx(*patterns: str) -> re.Pattern[str]:
    """One alternation; in a pattern " " stands for whitespace and " ?" for optional whitespace."""
    return re.compile(
        "|".join("(?:" + p.replace(" ?", _OPT_WS).replace(" ", _WS) + ")" for p in patterns)
    )


# --- subject -------------------------------------------------------------------------------------

_REPLY_PREFIX_RX = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|antwort|r|rif|res|odp|ynt|wg|fw|fwd|tr|rv|enc|doorst|vl|vb"
    r"|回复|回覆|答复|答覆|转发|轉寄|返信|転送)\s*(?:\[\d+\])?\s*[:：]\s*"
)
_OPEN_BRACKET_RX = re.compile(r"^[\[【(「<*]\s*")
_STRONG = (
    r"(?:automatic|automated|auto) ?[-_]? ?(?:reply|response|answer)|autoreply|autoresponse"
    r"|autoresponder|auto ?-?responder|out of (?:the )?office auto ?-?reply"
    r"|automatische (?:antwort|rückantwort|abwesenheitsnotiz)|abwesenheitsnotiz"
    r"|automatisch antwoord|automatisch bericht|réponse automatique|reponse automatique"
    r"|respuesta automática|respuesta automatica|risposta automatica|risposta non al computer"
    r"|resposta automática|resposta automatica|automatyczna odpowied[źz]|autosvar"
    r"|automatiskt svar|automatisk svar|automatisk besked|automātiskā atbilde"
    r"|vacation (?:auto ?-?)?(?:reply|response)|yahoo! auto response|ārpus biroja atrašanās"
    r"|自动回复|自動回覆|自動回复|自动答复|自動応答|自動返信|自動回信"
    r"|автоответ|автоматический ответ"
)
_WEAK = (
    r"out of (?:the )?office|away from (?:the |my )?office|away|ooo|oof|on vacation|vacation"
    r"|on holiday|on leave|annual leave|abwesend|abwesenheit|nicht im büro|im urlaub|urlaub"
    r"|afwezig|afwezigheid|niet aanwezig|buiten kantoor|met vakantie|absence du bureau"
    r"|absent du bureau|absente du bureau|absence|absent|absente|en congés?|en vacances"
    r"|ausente|ausencia|fuera de (?:la )?oficina|de vacaciones|fuori sede|fuori ufficio"
    r"|assente|in ferie|ausência|fora do escritório|de férias|poza biurem|nieobecnoś[ćc]"
    r"|nieobecn[ya]|na urlopie|urlop|frånvaro|frånvarande|på semester|fravær|fraværende"
    r"|ikke til stede|ikke på kontoret|på ferie|ārpus biroja|atvaļinājums|нет на месте|вне офиса"
    r"|в отпуске|отпуск"
    r"|不在办公室|不在|休暇中|休暇|出張中|出張|外出中|休假中|休假|请假|出差中|出差"
)
_WEAK_END = (
    r"\s*(?:$|[:\-–—(\[【「!.,/|\]】」)>]|(?:until|till|from|returning|back|through|thru|on|and|bis"
    r"|vom|ab|zurück|tot|t/m|terug|jusqu|du|de retour|hasta|del|desde|fino|dal|até|de|do|od"
    r"|t\.o\.m|tillbaka|til|fra|frem|tilbage|tilbake|notice|notification|message|reply|auto"
    r"|autoreply|note|notiz|melding|meddelande|besked|bericht|\d)\b|の|のお知らせ|お知らせ|通知"
    r"|中|至|到|期間|期间)"
)
_SUBJECT_START_RX = _rx(
    r"(?:" + _STRONG + r")",
    r"(?:" + _WEAK + r")" + _WEAK_END,
    r"auto ?:",
    r"auto.{0,20}reply\b",
    r"thank you for (?:your|the) (?:e-?mail|message|mail|inquiry|enquiry|note)\b",
    r"vacation.{0,20}(?:reply|respon)",
    r"(?:i am|i'm)\b.{0,20}\s(?:away|on vacation|on leave|on holiday|out of (?:the )?office"
    r"|ooo|travel+ing|off)\b",
    r"[^:]{1,60} (?:is|are) (?:out of (?:the )?office|away|on vacation|on leave|on holiday)\b",
)
_STRONG_START_RX = _rx(_STRONG)
_SUBJECT_ANYWHERE_RX = _rx(
    r"\b(?:automatic reply|auto ?-?reply|auto response|out of (?:the )?office)\s*:",
    r"\bis out of the office\b",
    r"\[(?:out of (?:the )?office|auto ?-?reply|automatic reply|ooo|oof)\]",
    r"自动回复|自動回覆|自動応答|自動返信",
)


def absence_subject(subject: str) -> bool:
    """True when the subject marks an automatic reply or an out-of-office notice."""
    text = _normalise(subject).strip()
    prefixed = False
    while True:
        match = _REPLY_PREFIX_RX.match(text)
        if match is None:
            break
        prefixed = True
        text = text[match.end() :]
    text = _OPEN_BRACKET_RX.sub("", text)
    if prefixed:
        return _STRONG_START_RX.match(text) is not None
    return bool(_SUBJECT_START_RX.match(text) or _SUBJECT_ANYWHERE_RX.search(text))


# --- body ----------------------------------------------------------------------------------------

# Words between a subject and its state, within a clause: "ich bin bis zum 5. Mai nicht im Büro".
_GAP = r"(?:(?:[^.!?,;:\n]|(?<=\d)\.){0,60}? )?"

_ABSENCE: dict[str, re.Pattern[str]] = {
    "en": _rx(
        r"\b(?:i am|i'm) (?:(?:currently|presently|now|still|unfortunately|temporarily"
        r"|either) )*(?:out of (?:the )?office|ooo\b|out of town|away\b|on (?:(?:annual|sick"
        r"|parental|maternity|paternity|medical|family|study|compassionate|extended|personal"
        r"|garden|bereavement|holiday) )?(?:leave|vacation|holidays?|sabbatical|furlough)\b"
        r"|on (?:a )?(?:business trip|business travel|vacation|holiday)|off (?:work|sick|today"
        r"|for the day)|out sick|not (?:currently )?in the office|unavailable|absent\b"
        r"|attending (?:a|an|the) |at (?:a|an|the) (?:conference|trade ?show|offsite|off-site"
        r"|event)|away from (?:the|my) (?:office|desk)|on the road|out on)",
        r"\b(?:i am|i'm) (?:currently|presently) travel+ing\b",
        r"\bi (?:will|'ll|shall) be (?:out of (?:the )?office|away|on (?:\w+ )?(?:leave"
        r"|vacation|holidays?)|travel+ing|off|absent|unavailable|out)\b[^.?!\n]{0,60}?\b(?:until"
        r"|till|through|thru|from|between|starting|returning|and will|back on|with (?:limited"
        r"|no|intermittent)|without)\b",
        r"\bthis is an? (?:automatic|automated|auto-generated|auto generated|autogenerated"
        r"|auto) ?-?(?:reply|response|message|e-?mail|notification|generated)",
        r"\bthis (?:e-?mail|message) (?:is|was|has been) (?:automatically generated|sent "
        r"automatically|auto-?generated|an automatic)",
        r"\b(?:your|this) (?:e-?mail|message) (?:will not|won't) be (?:forwarded|read|monitored)",
        r"\b(?:limited|no|intermittent|restricted|occasional|sporadic|minimal) access to (?:my )?"
        r"(?:e-?mails?|the internet|phone)",
        r"\bi (?:will|'ll|shall) (?:respond|reply|answer|get back to you|attend to|deal with|read"
        r"|return your|reply to|respond to|review)[^.!?\n]{0,60}?\b(?:upon|on|after|when|once"
        r"|as soon as) (?:my return|i (?:return|am back|get back)|i'm back|returning|back)",
        r"\b(?:during|in) my absence\b",
        r"\bwhile i(?:'m| am) (?:away|out|on leave|on vacation|on holiday)",
        r"\bi (?:will|'ll|shall) (?:be back|return|be returning|resume work|be in the office"
        r"|be back in the office|be back at (?:my desk|work))(?: to (?:the|my) (?:office|desk))?"
        r" (?:on|from|after|at the (?:start|beginning) of)\b(?: (?:monday|tuesday|wednesday"
        r"|thursday|friday|the|\d|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))",
    ),
    "de": _rx(
        r"\b(?:ich bin|bin ich|ich befinde mich|befinde ich mich) "
        + _GAP
        + r"(?:nicht (?:im büro|im hause?|am arbeitsplatz|erreichbar|verfügbar|anwesend"
        r"|im office|da)\b|abwesend|im urlaub|in (?:elternzeit|mutterschutz|karenz|urlaub)"
        r"|im mutterschutz|auf (?:einer )?(?:dienstreise|geschäftsreise|reisen|messe|konferenz"
        r"|fortbildung|schulung)|außer haus|ausser haus|krank|krankgeschrieben|unterwegs"
        r"|out of office|wieder (?:im büro|erreichbar|für sie|im hause?|da|zurück))",
        r"\bdies ist eine automatische (?:antwort|nachricht|benachrichtigung|e-?mail"
        r"|abwesenheitsnotiz)",
        r"\bautomatisch (?:generierte|erstellte|versandte|versendete) (?:nachricht|e-?mail"
        r"|antwort)",
        r"\babwesenheitsnotiz\b",
        r"\b(?:ihre|deine) (?:e-?mail|nachricht|mail) wird (?:[^.!?\n]{0,30} )?nicht "
        r"weitergeleitet",
        r"\bwährend meiner abwesenheit\b",
        r"\bnach meiner rückkehr\b",
        r"\b(?:ab|am) [^.!?\n]{0,30}?\bbin ich (?:wieder|zurück)\b",
        r"\b(?:eingeschränkten|keinen|begrenzten|nur sporadischen|nur eingeschränkten) zugriff "
        r"auf (?:meine )?(?:e-?mails?|mails)",
    ),
    "nl": _rx(
        r"\b(?:ik ben|ben ik) " + _GAP + r"(?:afwezig|niet (?:aanwezig|op kantoor|bereikbaar"
        r"|beschikbaar|op het werk)|met (?:vakantie|verlof|zwangerschapsverlof"
        r"|ouderschapsverlof)|op vakantie|op reis|ziek|buiten kantoor|de deur uit"
        r"|weer (?:aanwezig|op kantoor|bereikbaar|beschikbaar))\b",
        r"\bdit is een automatisch (?:antwoord|bericht|gegenereerd)",
        r"\bautomatisch antwoord\b",
        r"\btijdens mijn afwezigheid\b",
        r"\b(?:na|bij) (?:mijn )?(?:terugkomst|terugkeer)\b",
        r"\b(?:beperkt|geen|beperkte) toegang tot (?:mijn )?e-?mail",
        r"\b(?:uw|je) (?:e-?mail|bericht|mail) wordt niet doorgestuurd",
    ),
    "fr": _rx(
        r"\b(?:je suis|je me trouve) " + _GAP + r"(?:absente?|en (?:congés?|vacances"
        r"|déplacement|formation|arrêt maladie|congé maternité|congé parental|séminaire"
        r"|rendez-vous extérieur)|hors du bureau|en dehors du bureau|indisponible)\b",
        r"\bje serai absente? (?:du|jusqu|à partir|a partir|de retour)",
        r"\bceci est (?:un|une) (?:réponse|message|e-?mail|courriel) automatique",
        r"\b(?:réponse|message) automatique\b",
        r"\b(?:pendant|durant|en) mon absence\b",
        r"\b(?:dès|à) mon retour\b",
        r"\bje serai de retour (?:le|au bureau|à partir|dès|lundi|mardi|mercredi|jeudi|vendredi)\b",
        r"\baccès (?:limité|restreint) (?:à|aux) (?:mes )?(?:e-?mails|courriels|messagerie"
        r"|emails)",
        r"\bvotre (?:message|e-?mail|courriel) ne (?:sera|me sera) pas (?:transféré|lu)",
    ),
    "es": _rx(
        r"\b(?:estoy|me encuentro) " + _GAP + r"(?:fuera de (?:la )?oficina|de vacaciones"
        r"|ausente|fuera\b|de viaje|de baja|de permiso|de licencia|con acceso limitado"
        r"|disfrutando de (?:mis|unas) vacaciones)",
        r"\bestaré (?:fuera de (?:la )?oficina|ausente|de vacaciones|fuera)[^.!?\n]{0,40}?"
        r"\b(?:hasta|del|desde|entre)\b",
        r"\beste es un (?:mensaje|correo|e-?mail) (?:de respuesta )?automático",
        r"\b(?:respuesta|mensaje) automático|\brespuesta automática",
        r"\bdurante mi ausencia\b",
        r"\ba mi (?:regreso|vuelta)\b",
        r"\b(?:volveré|regresaré|estaré de vuelta|me reincorporaré)(?: a la oficina)? (?:el"
        r"|a partir"
        r"|desde|lunes|martes|miércoles|jueves|viernes)\b",
        r"\bacceso limitado al? (?:correo|e-?mail)",
        r"\bsu (?:mensaje|correo) no será (?:reenviado|leído)",
    ),
    "it": _rx(
        r"\b(?:sono|mi trovo) " + _GAP + r"(?:fuori (?:ufficio|sede)|in (?:ferie|vacanza"
        r"|viaggio|trasferta|maternità|malattia|congedo|permesso)|assente|fuori per lavoro)\b",
        r"\bsarò (?:fuori (?:ufficio|sede)|assente|in ferie)[^.!?\n]{0,40}?\b(?:fino|dal|da|tra)\b",
        r"\b(?:questa è una|questo è un) (?:risposta|messaggio) automatic[ao]",
        r"\brisposta automatica\b|\bmessaggio automatico\b",
        r"\bdurante la mia assenza\b",
        r"\bal mio (?:rientro|ritorno)\b",
        r"\b(?:rientrerò|sarò di ritorno|tornerò)(?: in (?:ufficio|sede))? (?:il|dal|lunedì|martedì"
        r"|mercoledì|giovedì|venerdì)\b",
        r"\baccesso limitato (?:alla|alle) (?:posta|e-?mail)",
    ),
    "pt": _rx(
        r"\b(?:estou|encontro-me|me encontro) " + _GAP + r"(?:ausente|de férias|fora do "
        r"escritório|em viagem|de licença|em licença|afastad[oa])\b",
        r"\bestarei (?:ausente|fora do escritório|de férias)[^.!?\n]{0,40}?\b(?:até|de|entre"
        r"|a partir)\b",
        r"\b(?:esta é uma|este é um) (?:resposta|mensagem|e-?mail) automátic[ao]",
        r"\b(?:resposta|mensagem) automática\b",
        r"\bdurante (?:a )?minha ausência\b",
        r"\b(?:no|após o|ao) (?:meu )?(?:regresso|retorno)\b",
        r"\b(?:retorno|regresso|voltarei|estarei de volta)(?: ao escritório)? (?:no dia|em|a partir"
        r"|na|segunda|terça|quarta|quinta|sexta)\b",
        r"\bacesso limitado (?:ao|aos) (?:e-?mails?|correio)",
    ),
    "pl": _rx(
        r"\bjestem " + _GAP + r"(?:poza biurem|na urlopie\w*|nieobecn[ya]|w podróży służbowej"
        r"|na zwolnieniu\w*|w delegacji|niedostępn[ya]|na l4|poza firmą|na szkoleniu"
        r"|na konferencji)",
        r"\bbędę (?:poza biurem|na urlopie|nieobecn[ya]|niedostępn[ya])[^.!?\n]{0,40}?"
        r"\b(?:do|od|w dniach|między)\b",
        r"\bautomatyczna odpowied[źz]|\bwiadomość (?:została )?wygenerowana automatycznie"
        r"|\bwiadomość automatyczna\b",
        r"\b(?:podczas|w czasie) mojej nieobecności\b",
        r"\bpo (?:moim )?powrocie\b",
        r"\bprzebywam " + _GAP + r"(?:na urlopie\w*|poza biurem|na zwolnieniu\w*|w delegacji"
        r"|na szkoleniu|na konferencji)",
        r"\b(?:wracam|wrócę|będę (?:z powrotem|ponownie|dostępn[ya]|w biurze))\b[^.!?\n]{0,20}?\d",
        r"\bograniczony dostęp do (?:poczty|e-?maila|e-?maili|skrzynki)",
    ),
    "sv": _rx(
        r"\bjag är " + _GAP + r"(?:på semester|ledig|tjänstledig|föräldraledig|frånvarande"
        r"|borta|på tjänsteresa|inte på kontoret|ej på kontoret|ej i tjänst|inte i tjänst"
        r"|sjukskriven|på resa|på konferens|inte tillgänglig|tillbaka (?:den|på|igen|i|måndag"
        r"|tisdag|onsdag|torsdag|fredag|\d)"
        r"|åter (?:den|på|i tjänst))\b",
        r"\bjag har semester\b",
        r"\bdetta är ett automatiskt (?:svar|meddelande|genererat)",
        r"\bautomatiskt svar\b",
        r"\bunder min frånvaro\b",
        r"\bnär jag (?:är|kommer) tillbaka\b|\b(?:vid|efter) min återkomst\b",
        r"\b(?:begränsad|ingen) tillgång till (?:min )?e-?post",
    ),
    "da": _rx(
        r"\bjeg er " + _GAP + r"(?:på ferie|ikke på kontoret|fraværende|syg|sygemeldt|på barsel"
        r"|på forretningsrejse|ude af huset|ikke til stede|væk fra kontoret|på kursus|på orlov"
        r"|tilbage (?:den|på|igen|i|mandag|tirsdag|onsdag|torsdag|fredag|\d))\b",
        r"\bjeg (?:har|holder|afholder) (?:ferie|fri)\b",
        r"\bdette er et automatisk (?:svar|genereret)",
        r"\bunder mit fravær\b",
        r"\bnår jeg (?:er|kommer) tilbage\b|\b(?:ved|efter) min tilbagekomst\b",
        r"\bbegrænset adgang til (?:min )?e-?mail",
    ),
    "no": _rx(
        r"\bjeg er " + _GAP + r"(?:på ferie|ikke på kontoret|fraværende|borte|syk|sykmeldt"
        r"|på reise|i (?:foreldre)?permisjon|på foreldrepermisjon|ikke til stede"
        r"|ute av kontoret|på kurs|på tjenestereise|tilbake (?:den|på|igjen|i|mandag|tirsdag"
        r"|onsdag|torsdag|fredag|\d))\b",
        r"\bjeg (?:har|avvikler) ferie\b",
        r"\bdette er et automatisk (?:svar|generert)",
        r"\bautomatisk svar\b",
        r"\bunder mitt fravær\b",
        r"\bnår jeg (?:er|kommer) tilbake\b",
        r"\bbegrenset tilgang til (?:min )?e-?post",
    ),
    "ru": _rx(
        r"\b(?:я|сейчас я|я сейчас|я нахожусь|нахожусь|я буду|буду) " + _GAP + r"(?:в отпуске"
        r"|в командировке|на больничном|вне офиса|в декретном отпуске|недоступ(?:ен|на)"
        r"|отсутств(?:ую|овать))",
        r"\bменя (?:сейчас )?нет (?:в офисе|на месте|на работе)\b",
        r"\b(?:это|данное|настоящее) (?:сообщение|письмо) (?:является )?(?:автоматическ|создано"
        r" автоматически|сформировано автоматически)",
        r"\bавтоматический ответ\b|\bавтоответ",
        r"\bво время (?:моего )?отсутствия\b|\bпо возвращении\b|\bпосле (?:моего )?возвращения\b",
        r"\bограниченный доступ к (?:почте|электронной почте)",
    ),
    "zh": _rx(
        r"我(?:目前|现在|現在|正在|正|目前正在|现正|這段時間|这段时间|暂时|暫時)*在?(?:休假|度假|出差"
        r"|外出|请假|請假|休产假|休年假|不在办公室|不在辦公室|不在公司)",
        r"不在办公室|不在辦公室",
        r"(?:这是|這是|此为|此為|本邮件为|此邮件为)(?:一封)?自动回复|自动回复|自動回覆",
        r"(?:休假|出差|外出|我不在|不在办公室)期间|(?:休假|出差|外出)期間",
        r"(?:无法|無法)及时(?:回复|处理)|暂时(?:无法|不能)(?:回复|查看|处理)",
        r"休假中|出差中",
        r"休假至|本人休假|于.{0,20}(?:休假|出差)|(?:将|將)于.{0,20}(?:返回|回到|回来|回來)",
    ),
    "ja": _rx(
        r"不在にしております|不在にしています|不在です|不在となります|不在となっております|休暇中|出張中"
        r"|外出中|(?:休暇|お休み)をいただいて(?:おります|います)|(?:育児|産前産後|夏季|冬季|年末年始)休暇"
        r"|産休|育休",
        r"(?:この|本)メールは自動(?:送信|返信|応答)|自動返信|自動応答",
        r"\d{1,2}日(?:\s*[(（][^)）]{1,3}[)）])?\s*(?:より|から)(?:出社|出勤|業務に復帰)",
        r"戻り次第|帰社後|復帰後|出社後(?:に|、)?(?:確認|ご連絡|対応|返信)",
        r"不在期間|休暇期間",
    ),
}

_HUMAN_GUARD_RX = _rx(
    r"\blast (?:week|month|days|friday|monday)\b",
    r"\b(?:sorry|apologi[sz]e|apologies) (?:for|about) (?:the |my )?(?:late|slow|delayed|delay)",
    r"\b(?:letzte|vorige|vergangene)n? woche\b",
    r"\bentschuldig\w* (?:sie )?(?:die|meine) (?:späte|verspätete)",
    r"\bvorige (?:week|maand)\b|\bsorry voor (?:de|het|mijn) (?:late|trage|vertraagde)",
    r"\bla semaine dernière\b|\bdésolée? (?:pour le|du|pour la) (?:retard|réponse tardive)",
    r"\bla semana pasada\b|\b(?:perdón|disculpa\w*) (?:por )?(?:la )?(?:demora|tardanza)",
    r"\bla settimana scorsa\b|\bscus\w* (?:per )?il ritardo",
    r"\b(?:na )?semana passada\b|\bdesculp\w* (?:a|pela) demora",
    r"\bw zeszłym tygodniu\b|\bprzepraszam za (?:opóźnienie|późną)",
    r"\bförra veckan\b|\bursäkta (?:sent|dröjsmålet|det sena)",
    r"\bsidste uge\b|\bundskyld (?:det )?sene svar",
    r"\bforrige uke\b|\bbeklager (?:sent svar|forsinkelsen)",
    r"上周|上星期|上个月|上週|抱歉.{0,4}晚|先週|先月|遅くなり",
    r"\bна прошлой неделе\b|\bизвините за (?:задержку|поздний ответ|долгий ответ)",
)
_FUTURE_RX = _rx(
    r"\bnext (?:week|month)\b|\bnächste[nr]? (?:woche|monat)\b|\bvolgende (?:week|maand)\b"
    r"|\bla semaine prochaine\b|\ble mois prochain\b|\bla (?:semana que viene|próxima semana)\b"
    r"|\bel (?:mes que viene|próximo mes)\b|\bla (?:settimana prossima|prossima settimana)\b"
    r"|\bil mese prossimo\b|\bna próxima semana\b|\bpróximo mês\b"
    r"|\bw przyszłym (?:tygodniu|miesiącu)\b|\bnästa (?:vecka|månad)\b|\bnæste (?:uge|måned)\b"
    r"|\bneste (?:uke|måned)\b|\bна следующей неделе\b|\bв следующем месяце\b"
    r"|下周|下个月|下週|来週|来月"
)
_UNTIL_WORD_RX = _rx(
    r"\b(?:until|till|through|bis|tot|t/m|jusqu|hasta|fino|até|do|t\.o\.m|til)\b|至|まで"
)
_SENTENCE_END = ".!?。！？\n"


def _sentence(text: str, start: int, end: int) -> tuple[str, str]:
    """The sentence around ``text[start:end]`` and the character that ends it."""
    left = max(text.rfind(c, 0, start) for c in _SENTENCE_END) + 1
    stops = [i for i in (text.find(c, end) for c in _SENTENCE_END) if i >= 0]
    right = min(stops) if stops else len(text)
    return text[left:right], text[right : right + 1]


def _human(text: str, start: int, end: int) -> bool:
    """Whether the sentence of a match reads as a person's remark, not a notice."""
    sentence, stop = _sentence(text, start, end)
    if stop and stop in "?？":
        return True
    if _HUMAN_GUARD_RX.search(sentence):
        return True
    return bool(_FUTURE_RX.search(sentence)) and not _UNTIL_WORD_RX.search(sentence)


def _absence_matches(text: str) -> Iterator[tuple[int, str]]:
    """(position, language) of the first notice-like statement per language."""
    for lang, rx in _ABSENCE.items():
        for match in rx.finditer(text):
            if not _human(text, match.start(), match.end()):
                yield match.start(), lang
                break


def absence_language(body: str) -> str | None:
    """The language of the first statement of absence in the body (``"de"``, ``"ja"``...)."""
    text = _normalise(body)
    found = min(_absence_matches(text), default=None)
    return found[1] if found else None


def absence_text(body: str) -> bool:
    """True when the body says the writer is away now, or that it is an automatic reply."""
    text = _normalise(body)
    return next(_absence_matches(text), None) is not None


# --- address gone ---------------------------------------------------------------------------------

_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_GONE_RX = _rx(
    # en
    r"\b(?:this|my|the) (?:e-?mail |mail )?(?:address|account|mailbox|inbox)(?: [^.!?\n]{0,30}?)?"
    r" (?:is|has been|will be|will no longer be) (?:no longer (?:in use|active|valid|monitored"
    r"|being monitored|checked|available|operational|used|read|in service)|(?:de|in)activated"
    r"|discontinued|closed|disabled|retired|terminated|not (?:in use|monitored|active) anymore)",
    r"\bno longer (?:in use|monitored|being monitored|checked)\b",
    r"\b(?:i am|i'm|i have|i've) no longer (?:with|at|employed|working|part of|an employee)\b",
    r"\b(?:i|he|she|they) (?:have|has|'ve) (?:left|departed) (?:the |our )?(?:company"
    r"|organi[sz]ation|firm|business|agency)\b",
    r"\b(?:is|are) no longer (?:with|employed|working (?:at|for|with)|part of) (?:the |our |us\b)",
    r"\bplease (?:\w+ ){0,4}?(?:write|send|direct|forward|address|email|e-mail|contact"
    r"|reach out to|use|update)\b(?:[^.!?\n]|\.(?=\w)){0,80}?\binstead\b",
    r"\bmy new (?:e-?mail )?address is\b|\bplease update your (?:records|address book|contacts)\b",
    r"\bmy last (?:working )?day (?:at|with|in)\b",
    # de
    r"\b(?:zukünftig|künftig|ab sofort)\b[^.!?]{0,80}?" + _EMAIL,
    r"\b(?:e-?mail-?adresse|adresse|postfach|mailadresse|mailbox)\b[^.!?\n]{0,40}? "
    r"(?:ist|wird) (?:nicht mehr (?:aktiv|gültig|in (?:benutzung|betrieb|gebrauch)|erreichbar"
    r"|abgerufen|gelesen)|deaktiviert|abgeschaltet|gelöscht)",
    r"\b(?:unter dieser (?:e-?mail-?)?adresse|hier) (?:bin ich |ist \w+ )?nicht mehr "
    r"(?:erreichbar|zu erreichen)",
    r"\b(?:ist|bin) nicht mehr (?:erreichbar|zu erreichen)\b",
    r"\bnicht mehr (?:im unternehmen|in unserem unternehmen|bei (?:der|uns)|für (?:die|das|uns)"
    r"[^.!?\n]{0,30}?tätig|tätig|beschäftigt|angestellt|im hause?)\b",
    r"\b(?:hat|habe) (?:das unternehmen|die firma|unser unternehmen|unser haus) verlassen",
    r"\b(?:wird|werden) nicht mehr (?:gelesen|abgerufen|genutzt|verwendet|bearbeitet)",
    r"\bwenden sie sich (?:bitte )?(?:zukünftig|künftig|ab sofort)\b",
    r"\bmeine neue (?:e-?mail-?)?adresse\b",
    # nl
    r"\b(?:dit|mijn|het) (?:e-?mail)?adres\b[^.!?\n]{0,30}? (?:is|wordt) (?:niet meer|niet langer)"
    r" (?:in gebruik|actief|geldig|gelezen)",
    r"\b(?:niet meer|niet langer) in gebruik\b",
    r"\b(?:ben|is) niet (?:meer|langer) (?:werkzaam|in dienst|actief) (?:bij|voor)\b",
    r"\b(?:heeft|heb) (?:het bedrijf|de organisatie|ons bedrijf) verlaten",
    r"\bmijn nieuwe (?:e-?mail)?adres\b",
    r"\bvoortaan\b[^.!?]{0,60}?" + _EMAIL,
    # fr
    r"\b(?:cette|mon|l') ?adresse (?:e-?mail |électronique |mail |de messagerie )?(?:[^.!?\n]"
    r"{0,30}? )?(?:n'est plus (?:valide|active|utilisée|consultée|en service|lue)|a été "
    r"(?:désactivée|supprimée|fermée)|est désactivée)",
    r"\bne (?:fait|fais) plus partie (?:de|du|des)\b",
    r"\b(?:a|ai) quitté (?:la société|l'entreprise|le groupe|l'organisation|nos effectifs)",
    r"\b(?:ne travaille|n'est) plus (?:chez|dans|au sein|en poste|pour)\b",
    r"\bma nouvelle adresse\b",
    r"\bdésormais\b[^.!?]{0,60}?" + _EMAIL,
    # es
    r"\b(?:esta|mi|la) (?:dirección|cuenta)(?: de correo(?: electrónico)?)?\b[^.!?\n]{0,30}?"
    r" ?(?:ya no (?:está (?:en uso|activa|operativa)|es válida|se utiliza|se usa|existe)"
    r"|ha sido (?:desactivada|dada de baja|eliminada)|está desactivada)",
    r"\bya no (?:trabaja|trabajo|forma parte|formo parte|está en la empresa|pertenece"
    r"|presta servicios)\b",
    r"\b(?:ha dejado|dejó|he dejado|dejé) (?:la empresa|la compañía|la organización)",
    r"\bmi nueva dirección\b|\bya no está en uso\b",
    # it
    r"\b(?:questo|il mio|l') ?indirizzo(?: e-?mail| di posta(?: elettronica)?)?\b[^.!?\n]{0,30}?"
    r" ?non (?:è|e') più (?:attivo|valido|in uso|utilizzato|monitorato)",
    r"\bnon (?:è|e') più in uso\b",
    r"\bnon (?:lavora|lavoro|collabora|collaboro) più\b|\bnon (?:fa|faccio) più parte\b",
    r"\b(?:ha|ho) lasciato (?:l'azienda|la società|l'ufficio)",
    r"\bil mio nuovo indirizzo\b",
    # pt
    r"\b(?:este|o meu|o|meu) (?:endereço|e-?mail|email)(?: de e-?mail| eletrônico"
    r"| electrónico)?\b[^.!?\n]{0,30}? ?(?:não está mais|já não está|deixou de estar|não é mais"
    r"|já não é) (?:em uso|ativo|activo|válido|utilizado|monitorado)",
    r"\bnão (?:faz|faço) mais parte\b|\bjá não (?:faz|faço) parte\b",
    r"\bnão trabalh[ao] mais\b|\bjá não trabalh[ao]\b",
    r"\b(?:deixou|deixei|saiu|saí) (?:da|a) (?:empresa|companhia|organização)",
    r"\b(?:o )?meu novo (?:endereço|e-?mail)\b",
    # pl
    r"\b(?:ten |mój )?adres(?: e-?mail| mailowy| poczty)?\b[^.!?\n]{0,30}? ?(?:nie jest już "
    r"(?:aktywny|używany|obsługiwany|aktualny)|jest nieaktywny|został (?:wyłączony"
    r"|dezaktywowany|zlikwidowany|usunięty)|jest nieaktualny)",
    r"\b(?:nie pracuje już|już nie pracuje|nie pracuję już|już nie pracuję)\b",
    r"\b(?:odszedł|odeszła|odszedłem|odeszłam) z firmy|\b(?:opuścił|opuściła) firmę",
    r"\bmój nowy adres\b",
    # sv
    r"\b(?:denna|den här|min) (?:e-?post)?adress(?:en)?\b[^.!?\n]{0,30}? ?(?:används inte längre"
    r"|är inte längre (?:aktiv|i bruk)|har upphört|är avstängd)",
    r"\banvänds inte längre\b",
    r"\b(?:jag har|har) slutat (?:på|hos|min anställning)\b",
    r"\b(?:arbetar|jobbar) inte längre (?:på|hos|för)\b",
    r"\bmin nya (?:e-?post)?adress\b",
    # da
    r"\b(?:denne|min) (?:e-?mail)?adresse\b[^.!?\n]{0,30}? ?(?:er ikke længere (?:aktiv|i brug)"
    r"|bruges ikke længere|er lukket|er nedlagt)",
    r"\b(?:bruges|benyttes) ikke længere\b|\bikke længere i brug\b",
    r"\b(?:har forladt|har fratrådt|er fratrådt) (?:virksomheden|firmaet|stillingen)",
    r"\b(?:arbejder ikke længere|er ikke længere ansat)\b",
    r"\bmin nye (?:e-?mail)?adresse\b",
    # no
    r"\b(?:denne|min) (?:e-?post)?adress(?:e|en)\b[^.!?\n]{0,30}? ?(?:er ikke lenger (?:aktiv"
    r"|i bruk)|brukes ikke lenger|er stengt|er avsluttet)",
    r"\bikke lenger i bruk\b|\bbrukes ikke lenger\b",
    r"\bhar sluttet (?:i|hos)\b|\bjeg har sluttet\b|\bhar forlatt (?:selskapet|firmaet|bedriften)",
    r"\b(?:jobber|arbeider) ikke lenger\b|\ber ikke lenger ansatt\b",
    r"\bmin nye (?:e-?post)?adresse\b",
    # zh
    r"(?:此|该|該|这个|這個|本)(?:邮箱|郵箱|邮件地址|郵件地址|地址|账号|帳號)(?:已经?|已經)?(?:停用|不再使用|作废"
    r"|注销|失效|不再有效|停止使用)",
    r"不再使用此邮箱|已经?离职|已經離職|已離職|离开公司|離開公司|不再在.{0,10}(?:工作|任职|任職)",
    r"新(?:的)?(?:邮箱|邮件地址|郵箱|電郵)(?:地址)?(?:为|是|為)",
    # ja
    r"(?:この|本|こちらの)メールアドレスは[^。]{0,30}?(?:使用|利用)(?:されて|して)(?:おりません|いません)"
    r"|使われておりません|廃止(?:いたしました|しました|されました|となりました)",
    r"退職(?:いたしました|しました|致しました)|退社(?:いたしました|しました|致しました)",
    r"新しい(?:メール)?アドレス|今後は[^。]{0,40}?(?:まで|宛|へ)(?:ご連絡|お送り|送信)",
)


def address_gone(body: str) -> bool:
    """True when the body says this address is dead or mail should go to someone else."""
    return _GONE_RX.search(_normalise(body)) is not None
