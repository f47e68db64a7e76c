"""Classify inbound mail: human reply, auto-reply, hard or soft bounce, unsubscribe, or other.

The order matters and follows what real mail does. Feedback reports come first, then
challenge-response mail (some of it is dressed as a delivery report), then delivery reports,
because nearly every bounce also carries ``Auto-Submitted``. Then read receipts (``other``), a
request to unsubscribe, auto-reply evidence (headers, subject, the words of the body), and
notifications from a no-reply address (``other``); what is left is a person writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from cadence.replies.absence import absence_subject, absence_text, address_gone
from cadence.replies.bounces import Bounce, bounce_of
from cadence.replies.mail import Mail, quote_start, read, unquoted
from cadence.replies.return_date import find_return_date

Label = Literal["human_reply", "auto_reply", "bounce_hard", "bounce_soft", "unsubscribe", "other"]
LABELS: tuple[Label, ...] = (
    "human_reply",
    "auto_reply",
    "bounce_hard",
    "bounce_soft",
    "unsubscribe",
    "other",
)


@dataclass(frozen=True)
class Verdict:
    label: Label
    reason: str  # why: the bounce reason, "vacation", "opt-out", "challenge", ...
    return_date: date | None = None  # auto-replies: the day the person is back
    status: str | None = None  # bounces: the RFC 3463 status code
    failed_recipient: str | None = None  # bounces: the address that failed
    address_gone: bool = False  # an auto-reply saying this address is no longer read


_AUTO_SUBMITTED = re.compile(r"^\s*auto-(?!forwarded)", re.I)
_AUTO_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponder",
    "x-amazon-auto-reply",
    "x-vacation",
    "x-mailer-autoreply",
)
# What challenge-response systems say. People write "guest list", "requires confirmation" and
# "please confirm the delivery date" too, so each phrase is tied to the sender's own message.
_CHALLENGE = re.compile(
    r"x-delivery-agent: tmda|x-bluebottle-request|protected by bluebottle|\bboxbe\b|"
    r"add yourself to my guest list|guest list so (?:that )?your messages?|was waitlisted|"
    r"(?:your|this|the) (?:server|message|e-?mail|address) requires confirmation|"
    r"identity (?:needs to|must) be confirmed|"
    r"confirm (?:that )?you are (?:a )?(?:human|real person|not a robot)|"
    r"spam ?arrest|challenge[- ]response|verify (?:that )?you are (?:a )?(?:human|person|sender)|"
    r"(?:is|are) protected by .{0,40}(?:spam|anti-spam)|"
    r"add you to (?:my|the) (?:approved|allowed) senders|"
    r"please (?:click|confirm).{0,80}(?:approved senders|whitelist|"
    r"(?:deliver|release) (?:your|the|this) (?:original )?(?:e-?mail|message)|"
    r"(?:e-?mail|message) (?:will|can) be (?:delivered|released))",
)  # matched on lower-cased text, which is much faster than re.I
_UNSUB_SUBJECT = re.compile(
    r"^\s*(?:(?:re|aw|sv|vs|antw|r|rif|odp|ynt|回复|答复)\s*:\s*)*\[?\s*"
    r"(?:unsubscribe|remove(?: me)?|stop|opt[- ]?out|abmelden|austragen|désabonner|désinscription|"
    r"se désinscrire|darse de baja|baja|cancella(?:re)? iscrizione|disiscriviti|afmelden|"
    r"uitschrijven|"
    r"descadastrar|cancelar inscrição|wypisz|avregistrera|avsluta prenumeration|afmeld|avmeld|"
    r"退订|退訂|取消订阅|取消訂閱|配信停止|配信解除|登録解除|購読解除|退会|メルマガ解除|"
    r"수신 ?거부|구독 ?취소|구독 ?해지|수신 ?중지)\s*\]?\s*[.!。！]?\s*$",
    re.I,
)
_UNSUB_TEXT = re.compile(
    r"^\W*(?:unsubscribe|remove|stop|opt[- ]?out)\W*$"
    r"|^\W*(?:(?:please|pls|kindly)\s+)?unsubscribe\b(?!\s+(?:link|button|request|option|page|"
    r"process|feature|footer|at the bottom))|\b(?:please|pls|kindly)\s+unsubscribe\b"
    r"|\bunsubscribe (?:me|us|my|our|this (?:address|e-?mail))\b|\bhow (?:do|can) i unsubscribe\b"
    r"|\b(?:want|wish|like|need|asked?|asking|request(?:ing)?)\s+to\s+(?:be\s+)?unsubscribed?\b"
    r"|\bremove (?:me|my (?:e-?mail|address|name))\b"
    r"|\btake (?:me|my (?:e-?mail|address|name)) off\b"
    r"|\bopt (?:me|us) out\b|\b(?:want|wish|like) to opt[- ]?out\b"
    r"|\bstop (?:e-?mailing|emailing|sending|contacting|writing to) me\b"
    r"|\b(?:do not|don't|dont) (?:e-?mail|contact|message|write to) me\b"
    r"|\bno (?:more|further) (?:e-?mails|emails|messages|mails)\b"
    r"|\bdelete my (?:e-?mail|address|data)\b"
    # de
    r"|\b(?:austragen|abmelden)\b|\babbestellen\b"
    r"|\b(?:nehmen|streichen|entfernen|löschen|tragen) sie mich\b"
    r"|\baus (?:ihrem|dem|eurem|ihren|diesem) (?:e-?mail-?)?(?:verteiler|newsletter|liste"
    r"|adressliste"
    r"|mailing-?liste)\b"
    r"|\bkeine (?:weiteren |neuen )(?:e-?mails|mails|nachrichten|werbung|zusendungen)\b"
    r"|keine werbung"
    r"|\bkeine (?:e-?mails|mails|nachrichten) mehr\b|\bmöchte (?:keine|nichts) .{0,30}(?:erhalten"
    r"|bekommen)\b|\b(?:nicht mehr|nie wieder) (?:kontaktieren|anschreiben|schreiben|anrufen)\b"
    # fr
    r"|désabonn|désinscri|retirez[- ]moi|supprimez[- ]moi|\bme (?:retirer|supprimer|radier"
    r"|désinscrire)"
    r" (?:de|du|des)\b|\bne (?:souhaite|veux|désire) plus (?:recevoir|être contacté)"
    r"|ne plus recevoir"
    r"|\bne (?:me )?(?:contactez|écrivez|sollicitez) plus\b|\barrêtez de m'(?:envoyer|écrire"
    r"|contacter)"
    # es
    r"|dar(?:me)? de baja|denme de baja|\belimín(?:enme|ame)\b|\beliminarme\b|\bsáquenme\b"
    r"|\bsacarme de\b|\bborr(?:enme|arme)\b|\bqu[ií]t(?:enme|arme) de\b"
    r"|\bno (?:quiero|deseo) (?:recibir|que me (?:envíen|escriban|contacten))"
    r"|\bno me (?:envíen|escriban|contacten|manden|vuelvan a (?:escribir|contactar))"
    r"|\bdejen de (?:enviarme|escribirme|contactarme)|eliminen mi"
    # it
    r"|\bcancellatemi\b|\bcancellarmi\b|\brimuovetemi\b|\brimuovermi\b|\btoglietemi\b"
    r"|\bnon (?:voglio|desidero) (?:più )?ricevere|\bnon (?:inviatemi|mandatemi|scrivetemi"
    r"|contattatemi) più|disiscriv|cancellare la mia|\bnon contattatemi\b"
    # pt
    r"|descadastr|\bremova[- ]me\b|\bme remova\b|\bremover[- ]me\b|\bme remover\b|\bretire[- ]me\b"
    r"|\bme retire\b|\btire[m]?[- ]me\b|remover meu|\bnão (?:quero|desejo) (?:mais )?receber"
    r"|\bparem de (?:me )?(?:enviar|mandar|contactar|escrever)|cancelar (?:a )?(?:minha )?inscrição"
    # nl
    r"|\bafmelden\b|\buitschrijven\b|\bverwijder (?:mij|me|mijn)\b|\bhaal (?:mij|me) (?:van|uit)\b"
    r"|\b(?:schrijf|meld) (?:mij|me) (?:uit|af)\b|\bgeen (?:e-?mails|mails|berichten) meer\b"
    r"|\bwil (?:geen|niet langer|niet meer) .{0,30}ontvangen\b|\bniet meer (?:mailen|benaderen)\b"
    # pl
    r"|\bwypisz(?:cie)? mnie\b|\bwypisać\b|\bwypisanie\b|\busuń(?:cie)? mnie\b|\busunąć (?:mnie"
    r"|mój)"
    r"|\busunięcie (?:mnie|mojego)|\bnie (?:chcę|życzę sobie) (?:więcej |już )?otrzymywać"
    r"|\bproszę (?:więcej )?nie (?:wysyłać|pisać|kontaktować)"
    # sv, da, no
    r"|avregistrera|\bta bort mig\b|\bsluta (?:skicka|maila|mejla|kontakta)|avsluta prenumeration"
    r"|\bvill inte (?:längre )?(?:få|ha|ta emot)\b|\bavanmäl"
    r"|\bafmeld\b|\bafmeld mig\b|\bfjern mig\b|\bstop med at (?:sende|skrive)"
    r"|\bønsker ikke (?:at modtage"
    r"|flere|å motta)|\bvil ikke (?:længere |lenger )?(?:modtage|motta)\b"
    r"|\bavmeld\b|\bavmeld meg\b|\bmeld meg av\b|\bfjern meg\b|\bslutt å sende"
    # zh, ja
    r"|退订|取消订阅|不要再(?:发|給|给|寄)|别再(?:发|给)|请勿再(?:发|寄)|停止(?:发送|寄送)"
    r"|配信停止|登録解除|配信を停止|送らないで|配信不要"
    r"|退訂|取消訂閱|不要再寄|請勿再(?:寄|發)|停止(?:寄送|發送)|不再接收|不想再收到"
    r"|配信解除|購読解除|退会(?:したい|します|させて|を希望)|メール(?:を|の)?(?:送信|配信)を?(?:停止|中止|やめ)"
    r"|(?:送信|配信)しないで|(?:メール|連絡)は?(?:不要|結構)です|今後.{0,20}(?:不要|お断り|送らない)"
    r"|수신 ?거부|구독 ?(?:취소|해지)|수신 ?중지|(?:메일|이메일)(?:을|를)? ?(?:보내지 ?마|그만)"
    r"|더 이상 .{0,20}(?:보내지|받고 싶지|원하지)|명단에서 (?:삭제|빼)",
    re.M,
)  # matched on lower-cased text
_SIGNATURE = re.compile(
    r"^(?:--\s*|sent from my .*|get outlook for .*|von meinem .* gesendet)$", re.I | re.M
)
_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|auto[-_.]?reply|autoresponder|mailer[-_.]?robot)",
    re.I,
)
# Acknowledgements that help desks and autoresponders send from a no-reply address.
_ACK = re.compile(
    r"thank you for (?:your (?:e-?mail|message|inquiry|enquiry)|contacting)|we have received your "
    r"(?:e-?mail|message|request)|your (?:request|ticket) (?:has been|was) (?:received|created)|"
    r"ticket (?:number|#|id)|this is an automated (?:message|response|reply)|"
    r"(?:vielen )?dank für ihre (?:elektronische )?(?:nachricht|e-?mail|anfrage)|"
    r"wir haben ihre (?:nachricht|e-?mail|anfrage) erhalten|eingangsbestätigung|"
    r"empfangsbestätigung|nous avons bien reçu votre|accusé de réception|"
    r"merci pour votre (?:message|e-?mail|demande)|hemos recibido su|"
    r"gracias por su (?:mensaje|correo)|"
    r"abbiamo ricevuto la sua|grazie per (?:il suo|la sua) (?:messaggio|e-?mail)|"
    r"(?:wij hebben|we hebben) uw (?:bericht|e-?mail|vraag) (?:in goede orde )?ontvangen|"
    r"bedankt voor uw (?:bericht|e-?mail)|recebemos (?:a sua|sua) (?:mensagem|solicitação)|"
    r"dziękujemy za (?:wiadomość|e-?mail)|tack för ditt (?:mejl|meddelande)|"
    r"tak for din (?:e-?mail|henvendelse)|takk for din (?:e-?post|henvendelse)",
    re.I,
)
_FEEDBACK_TYPE = re.compile(r"^Feedback-Type:\s*([\w-]+)", re.I | re.M)
_OPT_OUT = ("opt-out", "unsubscribe", "not-spam-opt-out")


def _quotes(mail: Mail) -> bool:
    """Whether the message quotes the one it answers, as a person's reply does and an absence
    notice (Exchange, Gmail, Sieve) does not."""
    return quote_start(mail.text) < len(mail.text) or bool(_QUOTED_LINE.search(mail.text))


_QUOTED_LINE = re.compile(r"^[ \t]*>", re.M)
# Words only a machine writes about itself.
_SAYS_AUTOMATIC = re.compile(
    r"\bautomat(?:ic|ed|ically)\b|\bauto-?(?:reply|response|generated)\b|automatisch|automatique"
    r"|automátic|automatic|automaticamente|automatyczn|自动|自動",
    re.I,
)


_REPLY_SUBJECT = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|r|rif|res|odp|ynt|回复|回覆|答复|返信)\s*(?:\[\d+\])?\s*[:：]", re.I
)


def _conversing(mail: Mail, written: str) -> bool:
    """A person who is away but answers anyway: they quote the message or talk about it, and
    do not call their words automatic."""
    if _SAYS_AUTOMATIC.search(written):
        return False
    return _quotes(mail) or bool(_TALKS_BACK.search(written))


# What a person answering says and a notice does not.
_TALKS_BACK = re.compile(
    r"\bsaw (?:this|your (?:e-?mail|message|note))|\bhappy to (?:chat|talk|connect|meet|jump on)"
    r"|\blet's (?:talk|chat|meet|connect|set up|schedule|do)|\bsounds (?:good|great|interesting)"
    r"|\bklingt (?:gut|interessant|spannend)|\binteressiert mich|\bmelde mich (?:aber|gern|gerne)"
    r"|\bça m'intéresse|\bme interesa|\bmi interessa|\bme interessa|\bklinkt (?:goed|interessant)",
    re.I,
)


def _written(mail: Mail) -> str:
    """What the sender wrote: the new text without quotes and signature."""
    text = unquoted(mail.text)
    signature = _SIGNATURE.search(text)
    return text[: signature.start()] if signature else text


# A read receipt sent as plain text (Lotus Notes "Return Receipt", Outlook "Read:"), not as an
# RFC 8098 report: the subject and the words must both say so.
_RECEIPT_SUBJECT = re.compile(
    r"^\s*(?:(?:not |un)?read|return receipt|read receipt|(?:un)?gelesen|lesebestätigung|"
    r"(?:non )?lu|accusé de lecture|(?:no )?leído|confirmación de lectura|gelezen|letto|läst|"
    r"læst|lest|odczytane|прочитано)\s*(?::|$)",
    re.I,
)
_RECEIPT_TEXT = re.compile(
    r"\bwas read on\b|\bhas been read\b|\bwas deleted without being read\b|"
    r"\byour\s.{0,200}?document:?\s.{0,40}?\bwas\s.{0,80}?\breceived\s+by\b|"
    r"wurde am .{0,60}gelesen|a été lu|fue leído|is gelezen|è stato letto|lästes|blev læst",
    re.I | re.S,
)
# "If you want to unsubscribe, ..." in an auto-reply's footer is an instruction, not a request.
_CONDITIONAL = re.compile(r"\b(?:if|wenn|falls|si|als)\b(?:(?!\n\s*\n)[^.!?]){0,90}$", re.I)


def _receipt_text(mail: Mail) -> bool:
    return bool(_RECEIPT_SUBJECT.match(mail.subject)) and bool(
        _RECEIPT_TEXT.search(mail.text[:2000])
    )


def _asks_to_unsubscribe(written: str) -> bool:
    written = written.lower()
    for match in _UNSUB_TEXT.finditer(written):
        if not _CONDITIONAL.search(written[max(0, match.start() - 120) : match.start()]):
            return True
    return False


def _challenge(mail: Mail) -> bool:
    return bool(
        _CHALLENGE.search(mail.text[:3000].lower())
        or any(mail.header(h) for h in ("x-bluebottle-request", "x-boxbe-request"))
        or "tmda" in mail.header("x-delivery-agent").lower()
        or any("boxbe" in f.get("diagnostic-code", "").lower() for f in mail.status_fields)
    )


_JMRP_SUBJECT = re.compile(r"^\s*complaint about message from\b", re.I)


def _feedback(mail: Mail) -> Verdict | None:
    kind = None
    if mail.feedback is not None:
        kind = mail.feedback.get("feedback-type", "abuse")
    elif mail.report_type == "feedback-report" or mail.content_type == "message/feedback-report":
        kind = "abuse"
    elif _JMRP_SUBJECT.match(mail.subject) and mail.original:
        kind = "abuse"  # Hotmail's older complaint format: the message attached, no report
    else:
        match = _FEEDBACK_TYPE.search(mail.text[:3000])
        if match is not None and re.search(
            r"^User-Agent:|^Version:", mail.text[:3000], re.I | re.M
        ):
            kind = match.group(1)
    if kind is None:
        return None
    kind = kind.lower()
    if kind in _OPT_OUT:
        return Verdict("unsubscribe", "opt-out report")
    return Verdict("other", f"feedback report: {kind}")


def _bounce(mail: Mail) -> Verdict | None:
    found = bounce_of(mail)
    if found is None:
        return None
    if found == "delivered":
        return Verdict("other", "delivered notice")
    if found == "complaint":
        return Verdict("other", "feedback report: abuse")
    assert isinstance(found, Bounce)
    return Verdict(
        "bounce_hard" if found.hard else "bounce_soft",
        found.reason,
        status=found.status,
        failed_recipient=found.recipient,
    )


def _replier_header(mail: Mail) -> bool:
    """A header only autoresponders set (not the RFC 3834 marker every notification has)."""
    if any(mail.header(name) for name in _AUTO_HEADERS):
        return True
    if re.search(r"auto[_-]?reply", mail.header("precedence"), re.I):
        return True
    return "vacation" in mail.header("x-apple-action").lower()


_BULK_PRECEDENCE = re.compile(r"^\s*(?:bulk|list|junk)\b", re.I)
_BULK_RETURN_PATH = re.compile(
    r"^(?:bounces?|bulk|newsletter|mailings?)[-+._]|[-+][^@]*=[^@]*@", re.I
)


def _bulk(mail: Mail) -> bool:
    """Mail sent to many that answers nothing: a newsletter or a notice to all customers
    (``Precedence: bulk``, list headers, or a mailing system's bounce address)."""
    if mail.thread_ids or _REPLY_SUBJECT.match(mail.subject):
        return False
    return bool(
        _BULK_PRECEDENCE.match(mail.header("precedence"))
        or mail.header("list-unsubscribe")
        or mail.header("list-id")
        or _BULK_RETURN_PATH.search(mail.return_path or "")
    )


def _auto_header(mail: Mail) -> bool:
    if _AUTO_SUBMITTED.match(mail.header("auto-submitted")):
        return True
    if any(mail.header(name) for name in _AUTO_HEADERS):
        return True
    if re.search(r"auto[_-]?reply", mail.header("precedence"), re.I):
        return True
    if "vacation" in mail.header("x-apple-action").lower():
        return True
    if "mailbox rules agent" in mail.header("x-ms-exchange-generated-message-source").lower():
        return True
    if "autoresponse" in mail.header("thread-topic").lower().replace(" ", ""):
        return True
    if "kana response" in mail.header("x-mailer").lower():
        return True
    suppress = mail.header("x-auto-response-suppress").lower()
    return "all" in suppress and bool(mail.header("x-ms-exchange-inbox-rules-loop"))


def classify_mail(mail: Mail) -> Verdict:
    """Label one parsed message (see the module docstring for the order of the checks)."""
    verdict = _feedback(mail)
    if verdict is not None:
        return verdict
    if _challenge(mail):  # some come dressed as delivery reports (Boxbe: "Action: failed")
        return Verdict("other", "challenge-response")
    verdict = _bounce(mail)
    if verdict is not None:
        return verdict
    if mail.mdn or mail.report_type == "disposition-notification" or _receipt_text(mail):
        return Verdict("other", "read receipt")
    written = _written(mail)
    if _UNSUB_SUBJECT.match(mail.subject) or (len(written) < 600 and _asks_to_unsubscribe(written)):
        return Verdict("unsubscribe", "request")
    gone = address_gone(written)
    subject_says = absence_subject(mail.subject)
    text_says = absence_text(written) and not _conversing(mail, written)
    acknowledges = bool(_NOREPLY.match(mail.sender)) and bool(_ACK.search(written))
    header_says = _auto_header(mail)
    if header_says and not (subject_says or text_says or gone or acknowledges):
        generated = mail.header("auto-submitted").lower().lstrip().startswith("auto-generated")
        if (
            generated
            and not _replier_header(mail)
            and not mail.thread_ids
            and not _REPLY_SUBJECT.match(mail.subject)
        ):
            # RFC 3834 "auto-generated" and answering nothing: a notification, not a reply
            return Verdict("other", "notification")
    if header_says or subject_says or text_says or gone or acknowledges:
        back = None if gone else find_return_date(mail.subject, written, mail.sent_on)
        return Verdict(
            "auto_reply", "address gone" if gone else "auto-reply", back, address_gone=gone
        )
    if _NOREPLY.match(mail.sender):
        return Verdict("other", "notification")  # nobody writes from a no-reply address
    if _bulk(mail):
        return Verdict("other", "bulk mail")
    return Verdict("human_reply", "written by a person")


def classify(raw: bytes | str) -> Verdict:
    """Label a raw RFC 822 message."""
    return classify_mail(read(raw))
