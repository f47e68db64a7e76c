"""Delivery reports: is this a bounce, and is the address itself dead (hard) or not (soft)?

Hard means the address will not work again: the user or the host is unknown, the mailbox has
moved, the domain accepts no mail, or the account is disabled or deactivated (closed).
Everything else is soft, even with a 5.x.x status: a suspended or frozen account, a full
mailbox, a filter, a block list, a policy against our mail, an expired queue, a rate limit, a
temporary failure, "user unknown" said after DATA (the address was accepted at RCPT TO), and
"user unknown" with nothing to show the address was what the server refused (no 5.1.1, no RCPT
TO, not the words of the mailbox's own system): sisimai's ``filtered``.
A failure that gives no reason at all follows its class: permanent (5.x.x, or words saying
so) is hard. The diagnostic text decides before the status code, because servers put the
wrong code on the right words (``550 5.1.1 ... has sent to too many recipients this hour`` is
a rate limit). The reasons and the rule are listed in docs/replies.md (``HARD_REASONS`` here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from cadence.replies.mail import Mail, quote_start, unquoted


@dataclass(frozen=True)
class Bounce:
    hard: bool
    reason: str  # userunknown, hostunknown, hasmoved, notaccept, mailboxfull, ... (sisimai's names)
    status: str | None  # the RFC 3463 code, when the report gives one
    recipient: str | None = None  # the address that failed
    delayed: bool = False  # only delayed so far: the server is still trying


def _rx(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.I)


def _lower_rx(*patterns: str) -> re.Pattern[str]:
    """For text already lower-cased (``reason_of``): about twice as fast as ``re.I``. The
    patterns are written in lower case (so no ``\\S``, ``\\W`` or ``\\D`` either)."""
    assert all(p == p.lower() for p in patterns), patterns
    return re.compile("|".join(f"(?:{p})" for p in patterns))


# Soft reasons whose words outrank "user unknown" in the same text.
_STRONG_SOFT: list[tuple[str, re.Pattern[str]]] = [
    (
        "rejected",  # our own sending address failed the receiver's check, not theirs
        _lower_rx(
            r"sender verif\w* failed",
            r"verification failed for",
            r"sender address verification",
            r"could not verify (?:the )?sender",
            # our From or sender domain refused ("From: Domain is invalid. Please provide a
            # valid From:", "Sender address rejected: Domain not found")
            r"from:? domain (?:is )?(?:invalid|not found|unknown)",
            r"provide a valid from\b",
            r"sender (?:address |domain )?(?:rejected: )?domain (?:not found|is invalid)",
        ),
    ),
    (
        "speeding",
        _lower_rx(
            r"too many (?:recipients|messages|emails|mails|connections)",
            r"rate limit",
            r"sending (?:limit|quota)",
            r"sent too many",
            r"throttl",
            r"try again later.*(?:rate|too many)",
            r"exceed(?:ed|s)? .{0,30}(?:rate|frequency)",
        ),
    ),
    (
        "authfailure",
        _lower_rx(
            r"\bdmarc\b",
            r"\bspf\b.{0,40}(?:fail|reject)",
            r"\bdkim\b.{0,40}(?:fail|invalid)",
            r"authentication (?:failed|required)",
            r"not authenticated",
        ),
    ),
    (
        "spamdetected",
        _lower_rx(
            r"\bspam\b",
            r"\bunsolicited\b",
            r"\bube\b",
            r"junk mail",
            r"bulk e-?mail",
            r"content (?:rejected|filter)",
            r"message content",
            r"virus(?:es)? (?:detected|found)",
            r"(?:contains?|containing|infected with) (?:an? )?virus",
            r"malware",
            r"phishing",
        ),
    ),
    (
        "blocked",
        _lower_rx(
            r"block ?list",
            r"black ?list(?:ed)? (?:by|at|in|on)",
            r"is (?:black|block)listed",
            r"listed (?:on|in|at) (?:the )?(?:\w+\.)*"
            r"(?:rbl|dnsbl|spamhaus|spamcop|barracuda|sorbs)",
            r"blocked (?:using|by|due|because)",
            r"\bblocked\b",
            r"\brbl\b",
            r"spamhaus",
            r"sender (?:address )?rejected",
            r"client host .{0,40}rejected",
            r"(?:ip|host|network) (?:address )?(?:not allowed|refused|rejected)",
            r"access denied",
            r"poor reputation",
            r"\breputation\b",
        ),
    ),
    (
        "policyviolation",
        _lower_rx(
            r"policy (?:violation|reasons?|restrictions?)",
            r"violat\w+ .{0,20}polic",
            r"not allowed by polic",
            r"prohibited",
            r"\baup\b",
        ),
    ),
    (
        "mailboxfull",
        _lower_rx(
            r"mail ?(?:box|folder)(?: is)? full",
            r"mailbox (?:has )?exceeded",
            r"over ?quota",
            r"quota (?:exceeded|full|limit)",
            r"exceeded .{0,20}quota",
            r"insufficient (?:system )?storage",
            r"(?:is|was) full\b",
            r"\bfull mailbox\b",
            r"out of (?:disk )?space",
            r"too many (?:messages|mails) (?:in|on)",
            r"number of messages .{0,30}exceeded",
            r"user has (?:too many|exceeded)",
            r"zuviele mails",
            r"voll\b",
            r"\bsaturée?\b",
            r"boîte (?:aux lettres |mail |de réception )?.{0,40}pleine",
            r"quota dépassé",
            r"buz[oó]n .{0,40}(?:lleno|excedido)",
            r"postbus .{0,40}\bvol\b",
            r"一杯",
            r"容量",
            r"disk ?quota",
            r"(?:not |in)?sufficient (?:disk |storage )?space",
            r"(?:enough|no) (?:disk |storage )?space",
            r"space not enough",
            r"空间不足|空間不足|邮箱已满|信箱已满|용량 초과|메일함이 가득",
        ),
    ),
    (
        "mesgtoobig",
        _lower_rx(
            r"(?:message|mail) (?:size|length) (?:limit )?exceed",
            r"size limit",
            r"message (?:is )?too (?:big|large)",
            r"exceeds? (?:the )?(?:maximum )?(?:message )?size",
            r"length exceeds",
            r"message too large",
        ),
    ),
]
# A suspended or frozen account (sisimai's "suspend"): soft, since a suspension is often lifted
# (an unpaid bill, an abuse lock); a mailbox that stays suspended reaches the repeated soft-bounce
# limit. Its words outrank "user unknown" in the same text. au/EZweb's "The user(s) account is
# disabled" and "... temporarily limited" are this too: the subscriber's contract is suspended
# (sisimai's EZweb rules), not the address closed.
_SUSPEND = _lower_rx(
    r"(?:account|mailbox|user|address)(?:\(s\))? (?:is |has been |was )?"
    r"(?:currently |temporarily |now )?(?:suspended|frozen)",
    r"\[suspend\]",
    r"suspended (?:mail-?box|account|user)",
    r"is an? (?:suspended|frozen) (?:mail-?box|account|user|address)",
    r"(?:account|mailbox)\b.{0,40}\b(?:is|has been) (?:suspended|frozen)",
    r"temporarily (?:disabled|deactivated|limited|locked)",
    r"the user\(s\) account is (?:disabled|temporarily limited)",
    r"(?:konto|postfach) .{0,30}gesperrt",
    r"compte .{0,30}suspendu",
    r"cuenta .{0,30}suspendida",
    r"conta .{0,30}suspensa",
    r"account .{0,30}sospeso",
    r"konto .{0,30}zablokowane",
    r"(?:帐户|账户|帳戶|邮箱|信箱)(?:已)?(?:被)?冻结",
    r"(?:アカウント|メールボックス).{0,10}停止",
    r"(?:계정|메일함).{0,10}정지",
)
# A disabled, deactivated or closed account: hard (issue 17: "is a deactivated mailbox" (551) and
# "the email account that you tried to reach is disabled" (550 5.2.1) are permanent).
_DISABLED = _lower_rx(
    r"(?:account|mailbox|user|address)(?:\(s\))? (?:is |has been |was )?(?:now )?"
    r"(?:disabled|deactivated|inactive|discontinued|closed|terminated)",
    r"(?:deactivated|disabled|inactive|discontinued) (?:mail-?box|account|user|recipient)",
    r"is an? (?:deactivated|disabled|inactive) (?:mail-?box|account|user|address)",
    r"mailbox (?:is )?(?:inactive|disabled|unavailable due)",
    r"account (?:has been )?terminated",
    r"(?:account|mailbox)\b.{0,40}\b(?:is|has been) "
    r"(?:disabled|deactivated|inactive|discontinued)",
    r"(?:konto|postfach) .{0,30}deaktiviert",
    r"compte .{0,30}désactivé",
    r"cuenta .{0,30}(?:desactivada|deshabilitada)",
    r"conta .{0,30}desativada",
    r"account .{0,30}disattivato",
    r"konto .{0,30}(?:nieaktywne|wyłączone)",
    r"(?:帐户|账户|帳戶|邮箱|信箱)(?:已)?(?:被)?(?:停用|禁用|注销)",
    r"(?:アカウント|メールボックス).{0,10}無効",
    r"(?:계정|메일함).{0,10}(?:비활성|휴면)",
)
_HASMOVED = _lower_rx(
    r"has moved",
    r"\bmoved\b.{0,40}(?:no forwarding|address)",
    r"no longer on (?:this )?server",
    r"not our (?:customer|user)",
    r"5\.1\.6",
)
_HOSTUNKNOWN = _lower_rx(
    r"host (?:or domain name )?(?:not found|unknown)",
    r"unknown host",
    r"no such (?:host|domain)",
    r"domain (?:not found|does not exist|is not reachable|name not found|unknown|not exist)",
    r"domain may not exist",
    r"unknown domain",
    r"invalid domain",
    r"unrout(?:e)?able",
    r"name service error",
    r"nxdomain",
    r"\bno (?:valid )?mx\b",
    r"no mx (?:record|host)s?",
    r"couldn't find a mail exchanger",
    r"mail exchanger .{0,20}not found",
    r"unresolvable",
    r"dns (?:error|failure).{0,40}(?:domain|host)",
    r"host not found",
    r"name or service not known",
    r"domain\b.{0,40}\b(?:does ?n[o']t exist|not found|is invalid)",
    r"couldn't find any host",
    r"non-?existent (?:host|domain)",
)
# Words only: Office 365 puts 5.1.10 on an unknown recipient (RecipientNotFound), so the code
# itself counts only after the words for an unknown user (see _HARD_STATUS).
_NOTACCEPT = _lower_rx(
    r"does not accept (?:e-?)?mail",
    r"indicated no smtp service",
    r"null ?mx",
    r"accepts no mail",
    r"no smtp service",
)
_USERUNKNOWN = _lower_rx(
    r"user (?:unknown|not found|does not exist)",
    r"unknown (?:user|recipient|local[- ]part|address|mailbox)",
    r"no such (?:user|mailbox|recipient|address|account)",
    r"(?:user|recipient|address|mailbox) (?:name )?"
    r"(?:is )?(?:not (?:known|found|recognized|recognised|listed|valid)|unknown|invalid|"
    r"does ?n[o']t exist)",
    r"invalid (?:recipient|user|mailbox|address|e-?mail address)",
    r"no mailbox here",
    r"mail-?box (?:is )?(?:not (?:found|available)|unavailable|unknown|does ?n[o']t exist"
    r"|name not allowed)",
    r"no (?:such )?mail-? ?box (?:available|found|here|by that name)",
    r"badrcptto",
    r"recipientnotfound",
    r"(?:user|recipient|rcpt|address|mailbox|account)\b[^;\n]{0,80}?"
    r"\b(?:does ?n[o']t exist|is unknown|not found|not known|is not active)",
    r"is not an? (?:active|valid|known) (?:e-?mail )?(?:address|user|mailbox|recipient|account)",
    r"(?:not a|no) valid (?:user|recipient|mailbox)s?\b",
    r"invalid (?:\w+ )?username",
    r"no account by that name",
    r"no such person",
    r"addressee unknown",
    r"(?:e-?mail )?account (?:that )?you tried to reach (?:does not exist|is disabled)",
    r"(?:e-?mail )?address .{0,40}(?:could ?n[o']t be found|wasn't found|was not found)",
    r"not listed in",
    r"recipient (?:address )?rejected",
    r"address rejected",
    r"bad (?:destination|recipient) (?:mailbox )?address",
    r"account (?:does not exist|not found|unknown)",
    r"(?:doesn't|does not) have an? .{0,30}account",
    r"is not a (?:known|valid) (?:user|recipient)",
    r"not a valid mailbox",
    r"unknown or illegal alias",
    r"no longer (?:exists|valid|active)",
    r"email address (?:could not be found|couldn't be found)",
    r"nie istnieje",
    r"nieznany (?:użytkownik|odbiorca|adres)",
    r"utente (?:sconosciuto|inesistente)",
    r"casella .{0,20}inesistente",
    r"usu[aá]rio (?:desconhecido|inexistente)",
    r"utilizador desconhecido",
    r"n[ãa]o existe",
    r"(?:usuario|destinatario) desconocido",
    r"onbekende (?:gebruiker|ontvanger)",
    r"okänd (?:användare|mottagare)",
    r"finns inte",
    r"ukendt (?:bruger|modtager)",
    r"findes ikke",
    r"ukjent (?:bruker|mottaker)",
    r"finnes ikke",
    r"adresse inexistante",
    r"宛先不明",
    r"(?:用户|收件人|地址|帐户|账户|信箱|邮箱)不存在",
    r"destinatario sconosciuto",
    r"indirizzo inesistente",
    r"unbekannt",
    r"existiert nicht",
    r"n'existe pas",
    r"inconnu",
    r"no existe",
    r"bestaat niet",
    r"見つかりません",
    r"存在しません",
    r"存在しない(?!か)",
    r"宛先(?:が|の)?(?:見つから|不明|誤り)",
    r"该用户不存在|用户不存在|查无此人|收件人地址(?:有误|错误)|地址(?:有误|错误)",
    r"존재하지 않는|없는 (?:사용자|계정|주소)|수신자를 찾을 수 없",
    r"invalid (?:final )?(?:delivery )?userid",
    r"no match(?:es)? (?:to|for|found)",
    r"(?:does not|doesn't) have a (?:final )?(?:e-?mail )?delivery point",
    r"did not (?:exactly )?match (?:an? |any )?.{0,30}(?:e-?mail )?address",
    r"(?:wrong|no longer valid|not valid) (?:e-?mail )?address",
    r"address is wrong or no longer valid",
    r"mailbox unavailable",
    r"nieprawidłowy (?:adres|odbiorca)|skrzynka .{0,20}(?:nie istnieje|niedostępna)",
    r"indirizzo .{0,20}(?:non valido|inesistente)",
    r"endereço .{0,20}(?:inválido|inexistente)",
    r"ongeldig (?:e-?mail)?adres",
    r"ugyldig (?:e-?post)?adresse|ogiltig (?:e-?post)?adress",
)
# Words that look like a block but mean "no such recipient": Exchange Online's directory-based
# edge blocking answers an unknown address with "5.4.1 ... Access denied. AS(201806281)".
_NO_SUCH_RECIPIENT_CODED = _lower_rx(
    r"5\.4\.1 recipient address rejected: access denied", r"\bas\(201806281\)"
)
_WEAK_SOFT: list[tuple[str, re.Pattern[str]]] = [
    (
        "expired",
        _lower_rx(
            r"expired",
            r"queue too long",
            r"in the queue",
            r"(?:timed?|time) ?out",
            r"delayed",
            r"not (?:yet )?been delivered",
            r"will (?:retry|continue trying)",
            r"retry (?:time|timeout)",
        ),
    ),
    (
        "systemerror",
        _lower_rx(
            r"temporar",
            r"service (?:currently )?unavailable",
            r"system error",
            r"try again later",
            r"resources? .{0,20}unavailable",
            r"local error",
            r"internal error",
            r"server (?:error|busy)",
            r"loops? back to myself",
            r"mail(?:ing)? loop",
            r"too many hops",
            r"\blooping\b",
        ),
    ),
    (
        "rejected",
        _lower_rx(
            r"not a member",
            r"(?:are|is) not accepted",
            r"not permitted",
            r"not authori[sz]ed",
            r"rejected",
            r"denied",
            r"refused",
        ),
    ),
]
_HARD_STATUS = {
    "5.1.1": "userunknown",
    "5.1.2": "hostunknown",
    "5.1.3": "userunknown",
    "5.1.6": "hasmoved",
    "5.1.10": "notaccept",
    "5.7.13": "disabled",  # RFC 3463: user account disabled
    "5.4.4": "hostunknown",
    "5.7.27": "notaccept",
}
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
# Which SMTP command the failure answered, when the report shows it. After DATA the server had
# taken the address at RCPT TO and refused the message, so "user unknown" in its answer is a
# content filter's word, not a dead address (sisimai's "filtered"): Postfix "(in reply to end of
# DATA command)", Exim "SMTP error from remote mail server after end of data", Sendmail ">>>
# DATA" followed by the "<<<" answer. At RCPT TO the address itself was refused: Postfix "(in
# reply to RCPT TO command)", Exim "after RCPT TO", Sendmail ">>> RCPT To:", qmail "does not
# like recipient", IMail "RCPT TO generated following response", "SMTP:RCPT host", Yahoo
# "[RCPT_TO]". RCPT TO named as the failing command outranks DATA.
_DATA_PHASE = re.compile(
    r"in\s+reply\s+to\s+(?:end\s+of\s+)?data\s+command"
    r"|after\s+(?:end\s+of\s+)?data\b"
    r"|>>>\s*data\s*<<<"
    r"|in\s+response\s+to\s+(?:end\s+of\s+)?data\b"
    r"|failed\s+after\s+i\s+sent\s+the\s+message",  # qmail
    re.I,
)
_RCPT_PHASE = re.compile(
    r"(?:in\s+reply\s+to|after|at|during|in\s+response\s+to)\s+(?:the\s+)?rcpt(?:\s+to)?\b"
    r"|rcpt\s+to\s+(?:command|generated)|\[rcpt_to\]|>>>\s*rcpt\s+to:|\bsmtp:\s*rcpt\b"
    r"|does\s+not\s+like\s+recipient",
    re.I,
)
DATA = "data"
RCPT = "rcpt"


def failing_command(text: str) -> str | None:
    """``RCPT`` or ``DATA`` when the transcript names the command the failure answered."""
    if _RCPT_PHASE.search(text):
        return RCPT
    return DATA if _DATA_PHASE.search(text) else None


# "User unknown" is the address's death only with evidence that the address was what the server
# refused (sisimai's rule): a 5.1.1 or 5.1.3 status, RCPT TO as the failing command, or the
# words of the system that holds the mailbox. Without it, a relayed "550 No such user here"
# could be a filter's answer to the message, so it is `filtered` (soft, and it counts towards
# the repeated soft-bounce limit). The mailbox's own system: local delivery, directory servers,
# Domino, Exchange, GroupWise, IMail and SMTP32 notices, qmail-local; and words that say the
# account does not exist, which a content filter does not borrow (Yahoo refuses dead addresses
# at the end of DATA: "554 delivery error: dd This user doesn't have a yahoo.com account").
_SAYS_NO_ACCOUNT = _lower_rx(
    r"(?:doesn't|does not) have an? .{0,30}account", r"does ?n[o']t exist", r"no longer exists"
)
_MAILBOX_HOST_SAYS = _lower_rx(
    r"not listed in",
    r"(?:recipient|user) name is not recognized",
    r"recipientnotfound",
    r"(?:wasn't|was not) found at",
    r"invalid (?:final )?(?:delivery )?userid",
    r"no final delivery point",
    r"(?:does not|doesn't) have a (?:final )?(?:e-?mail )?delivery point",
    r"no match(?:es)? (?:to|for|found)",
    r"no such person",  # an organisation's directory: "no such person here, try these"
    r"(?:possible|partial|closest) match",
    r"did not (?:exactly )?match",
    r"no mailbox here by that name",
    r"\b(?:our )?local (?:user|delivery|recipient|mailbox|address)",
    r"(?:user|mailbox|account)s? (?:by that name )?(?:at|on|of) (?:this|the|our)"
    r" (?:server|system|host)",
    r"not an? (?:valid|known) (?:user|recipient|mailbox|address) (?:here|at|on|of)\b",
    r"unknown user: (?:[^ ]+@|\")",
    r"n'existe (?:pas|plus)",
    r"nie istnieje",
    r"n[ãa]o existe",
    r"no existe",
    r"existiert nicht",
    r"finns inte",
    r"findes ikke",
    r"finnes ikke",
    r"bestaat niet",
    r"inesistente",
    r"inexistente",
    r"不存在",
    r"存在しません",
    r"ディレクトリ",
    r"존재하지 않는",
)


# RFC 3463 codes about the recipient's address (not 5.1.7 and 5.1.8, which are about ours)
_ADDRESS_STATUS = frozenset({"5.1.0", "5.1.1", "5.1.3", "5.1.6", "5.1.10"})
# qmail's own report ("Hi. This is the qmail-send program at ..."): a failure it does not quote
# from a remote host ("Remote host said:") is its own local delivery's.
_QMAIL = _lower_rx(r"this is the (?:qmail-send|deliver) program at")
_RELAYED = _lower_rx(r"remote host said", r"remote (?:smtp )?server (?:returned|said|says)")


def _user_unknown_confirmed(text: str, status: str | None, command: str | None) -> bool:
    if status in _ADDRESS_STATUS or _SAYS_NO_ACCOUNT.search(text):
        return True
    if command == RCPT or _MAILBOX_HOST_SAYS.search(text):
        return True
    return bool(_QMAIL.search(text)) and not _RELAYED.search(text)


_DAEMON = re.compile(
    r"^(?:mailer-?daemon|post_?master|poostmaster|mail ?delivery ?(?:system|subsystem)|"
    r"mail\.?daemon|bounces?|mailerdaemon|mdaemon|smtp\.?gateway|no-?reply)@",
    re.I,
)
_DAEMON_NAME = re.compile(r"mail delivery (?:system|subsystem)|mailer-?daemon|postmaster", re.I)
_BOUNCE_SUBJECT = _rx(
    r"undeliver(?:able|ed)",
    r"undelivered mail",
    r"delivery (?:status )?notification",
    r"delivery (?:failure|failed|has failed|problem|report)",
    r"failure (?:notice|delivery)",
    r"returned (?:mail|to sender)",
    r"mail delivery failed",
    r"could not (?:be )?deliver",
    r"not (?:be )?delivered",
    r"delivery status",
    r"mail system error",
    r"nondeliverable",
    r"non-?delivery",
    r"non remis",
    r"unzustellbar",
    r"nicht zustellbar",
    r"onbestelbaar",
    r"no se puede entregar",
    r"no entregado",
    r"mancata consegna",
    r"impossibile recapitare",
    r"niedostarczon",
    r"olevererbart",
    r"kan ikke leveres",
    r"ikke levert",
    r"kunne ikke leveres",
    r"não entregue",
    r"falha na entrega",
    r"退信",
    r"未送达",
    r"配信エラー",
    r"配送エラー",
    r"届きません",
    r"returning message to sender",
    r"return(?:ed|ing) to sender",
    r"failed mail\b",
    r"mail failed",
    r"mail (?:system )?error",
    r"undeliverable mail",
    r"permanent delivery failure",
    r"automatically rejected mail",
    r"消息?(?:发送|投递)失败|邮件(?:发送|投递|传输)失败|退回|系統退信|系统退信",
    r"配信(?:エラー|失敗|不能)|送信(?:エラー|失敗)|未配達|Undelivered Mail Returned",
    r"전송 ?실패|배달 ?실패|반송|발송 ?실패|전달 ?실패",
    r"recapito fallito|non recapitat",
    r"entrega (?:falhou|fallida)|no se pudo entregar|devuelto al remitente",
    r"niet (?:afgeleverd|bezorgd)",
    r"nie dostarczono|zwrot",
    r"kunde inte levereras|ej levererat",
    r"warning: could not send",
    r"message not delivered",
    r"^\s*(?:mail )?delivery ",
    r"you .{0,60} are not member",
    r"не доставлено",
)
# A reply in a thread ("Re: Delivery failures at Northwind") is a person, unless a daemon sent it.
_REPLY = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|r|rif|odp|ynt|res|答复|回复)\s*(?:\[\d+\])?\s*:", re.I
)
_BOUNCE_TEXT = _rx(
    r"could not be delivered",
    r"was not delivered",
    r"wasn't able to deliver",
    r"(?:unable|failed) to deliver",
    r"undeliverable",
    r"delivery (?:to the following )?"
    r"(?:recipients? )?(?:has )?failed",
    r"did not reach the following recipient",
    r"permanent (?:fatal )?error",
    r"message delivery has failed",
    r"could not deliver",
    r"error (?:occurred )?(?:while )?(?:trying to )?deliver",
    r"delivery to the following",
    r"not (?:be )?delivered to",
    r"returned to (?:the )?sender",
    r"message is delayed",
    r"has not yet been delivered",
    r"temporary failure report",
    r"message not delivered",
    r"non-?delivery",
    r"your message .{0,80} (?:was|could) not",
    r"invalid user address",
    r"not a member of this (?:mailing )?list",
    r"送信できませんでした",
    r"配信できませんでした",
    r"no se ha podido entregar",
    r"n'a pas pu (?:être|etre) (?:remis|distribu|d[ée]livr)",
    # a heading over the failed addresses, and the RFC 5321 reply text a server gives
    r"(?:^|\n)[ \t*=-]*failed recipients?[ \t:*=-]*(?:\n|$)",
    r"requested action not taken",
    r"\[smtp error code [45]\d\d\]",
    r"konnte nicht zugestellt werden",
    r"nicht zugestellt",
    r"kon niet worden bezorgd",
    r"non è stato possibile recapitare",
    r"nie (?:mógł|może) zostać dostarczon",
    r"не может быть доставлено",
    r"can ?not be delivered",
    r"cannot deliver",
    r"(?:mail|message) (?:has been|was|is being) returned",
    r"failed addresses follow",
    r"did not reach (?:the following|some or all)",
    r"delivery failed \d+ attempts",
    r"undeliverable to\b",
    r"(?:was|been) automatically rejected",
    r"(?:could not|can't|cannot|unable to) (?:be )?(?:delivered|deliver)",
    r"not (?:exactly )?match (?:an? |any )?.{0,30}e-?mail address",
    r"无法(?:发送|送达|投递)|未能(?:发送|送达|投递)|不能(?:发送|送达|投递)|投递失败|发送失败|退信",
    r"無法(?:傳送|送達|投遞)|傳送失敗",
    r"(?:配信|送信|配達)(?:できません|できなかった|に失敗)|届きませんでした|届けることができません",
    r"(?:전송|배달|전달|발송)(?:되지 (?:않았|못했)|할 수 없|에 실패)",
    r"non (?:è stato possibile|può essere) (?:consegnat|recapitat)",
    r"não (?:foi possível|pôde ser) entregu?e",
    r"no (?:pudo|ha podido) ser entregado",
    r"kunde inte levereras|kunne ikke (?:leveres|afleveres)",
    r"nie (?:udało się|można) dostarczyć",
    r"ei voitu toimittaa",
)


_SCANNED = re.compile(r"[^\n]*\b(?:scanned|virus-?free|anti-?virus)\b[^\n]*")
_CODES = re.compile(
    r"\b(?:smtp|x-[\w-]+)\s*;|\b[245]\d\d\b|\b[245]\.\d{1,3}\.\d{1,3}\b|[#()<>\[\]-]", re.I
)
_WORDS = re.compile(r"[^\W\d_]{3,}")


def _strong_soft(text: str) -> str | None:
    for reason, pattern in _STRONG_SOFT:
        if pattern.search(text):
            return reason
    return None


# The reasons that mean the address is dead; every other reason is soft (docs/replies.md).
HARD_REASONS = frozenset({"userunknown", "hostunknown", "hasmoved", "notaccept", "disabled"})
# Soft reasons about our mail or our servers, not the address, and delays still being retried:
# these never add up to a dead address (the repeated soft-bounce rule skips them). `filtered`
# counts: it is the recipient's side refusing, and "user unknown" without proof lands there.
NOT_ABOUT_THE_ADDRESS = frozenset(
    {"blocked", "spamdetected", "authfailure", "rejected", "speeding", "policyviolation",
     "mesgtoobig", "delayed"}
)  # fmt: skip
_PERMANENT_WORDS = re.compile(
    r"permanent(?:ly)? (?:fatal )?(?:error|failure|failed)|failed permanently|fatal errors?\b"
    r"|erreur permanente|permanenter fehler|error permanente|errore permanente",
    re.I,
)


def permanent_without_reason(status: str | None, text: str) -> bool:
    """A failure that names no reason but says it is final: a 5.x.x status, or the words."""
    if status:
        return status.startswith("5")
    return bool(_PERMANENT_WORDS.search(text[:4000]))


def report_reason(
    diag: str, status: str | None, text: str, command: str | None
) -> tuple[str, bool]:
    """A delivery report's reason: its Diagnostic-Code's words first, then a specific status
    code, then the report's human-readable text (which may carry footers and hearsay)."""
    if _WORDS.search(_CODES.sub(" ", diag)):
        reason, hard = reason_of(diag, status, command)
        if reason != "undefined":
            return reason, hard
    if status and not status.endswith(".0.0") and reason_of("", status)[0] != "undefined":
        return reason_of("", status)
    return reason_of(f"{diag}\n{text}", status, command)


def _status(text: str) -> str | None:
    match = _STATUS.search(text)
    return ".".join(match.groups()) if match else None


_REASON_CHARS = 8000  # the diagnostic and the report's own words come first


def reason_of(text: str, status: str | None, command: str | None = None) -> tuple[str, bool]:
    """The reason for a failure and whether it is hard, from the diagnostic text, the status and
    the SMTP command the failure answered (``failing_command``)."""
    # lower case, wrapped lines joined, and no scanner footers
    text = " ".join(_SCANNED.sub(" ", text[:_REASON_CHARS].lower()).split())
    if _NO_SUCH_RECIPIENT_CODED.search(text):
        return "userunknown", True
    strong = _strong_soft(text)
    if strong == "rejected":  # our own sending address failed their check
        return strong, False
    if _SUSPEND.search(text):
        return "suspend", False
    if _DISABLED.search(text):
        return "disabled", True
    if strong is not None:
        return strong, False
    if _HASMOVED.search(text):
        return "hasmoved", True
    if _NOTACCEPT.search(text):
        return "notaccept", not (status or "").startswith("4")
    if _HOSTUNKNOWN.search(text):
        return "hostunknown", True
    if status and status.startswith(("5.2.", "4.2.")) and status not in ("5.2.0",):
        mailbox_words = _USERUNKNOWN.search(text)
        if not mailbox_words or command == DATA or status.startswith("4."):
            # accepted at RCPT and refused for its content, or only a full mailbox's code
            return ("mailboxfull" if status.endswith(".2") else "filtered"), False
    if _USERUNKNOWN.search(text):
        if _user_unknown_confirmed(text, status, command):
            return "userunknown", True
        return "filtered", False  # refused after RCPT, or no sign that the address was refused
    if status in _HARD_STATUS:
        return _HARD_STATUS[status], True
    for reason, pattern in _WEAK_SOFT:
        if pattern.search(text):
            return reason, False
    return "undefined", False


_SES_FIELD = re.compile(
    r'"(notificationType|eventType|bounceType|bounceSubType|status|diagnosticCode|'
    r'emailAddress)"\s*:\s*"((?:[^"\\]|\\.)*)"'
)
_SES_KIND = re.compile(r'"(?:notificationType|eventType)"\s*:\s*"')


def _ses(mail: Mail) -> Bounce | str | None:
    """An Amazon SES notification (JSON): a Bounce, "delivered", "complaint", or None.

    SNS mails either the notification itself ("email") or its own envelope with the
    notification as an escaped string in "Message" ("email-json"); SES event publishing names
    the kind ``eventType`` instead of ``notificationType``. Read field by field: SNS wraps long
    lines, which leaves the JSON itself invalid."""
    body = mail.text.lstrip()
    if not body.startswith("{"):
        return None
    if '"Message"' in body[:1000] and '\\"' in body:  # the SNS envelope
        body = body.replace('\\"', '"')
    if _SES_KIND.search(body[:1500]) is None:
        return None
    fields: dict[str, str] = {}
    for name, value in _SES_FIELD.findall(body):
        fields.setdefault(name, value)
    kind = (fields.get("notificationType") or fields.get("eventType") or "").lower()
    if kind == "complaint":
        return "complaint"
    if kind not in ("bounce", "deliverydelay"):
        return "delivered"  # Delivery, and the Send, Open or Click events of event publishing
    status = fields.get("status")
    reason, hard = reason_of(fields.get("diagnosticCode", ""), status)
    if kind == "deliverydelay":
        return Bounce(False, "delayed", status, fields.get("emailAddress"), delayed=True)
    if fields.get("bounceType") == "Transient":
        hard = False
    elif fields.get("bounceType") == "Permanent" and fields.get("bounceSubType") == "NoEmail":
        reason, hard = "userunknown", True  # SES itself says the address does not exist
    if reason == "undefined":
        sub = fields.get("bounceSubType", "")
        if sub in ("MailboxFull", "MessageTooLarge", "ContentRejected", "AttachmentRejected"):
            reason = {"MailboxFull": "mailboxfull", "MessageTooLarge": "mesgtoobig"}.get(
                sub, "filtered"
            )
        elif fields.get("bounceType") == "Permanent" and sub in ("NoEmail", "General"):
            reason, hard = "userunknown", True
    return Bounce(hard=hard, reason=reason, status=status, recipient=fields.get("emailAddress"))


_BAD_ADDRESS_ALONE = _rx(
    r"(?:not a valid|unknown|invalid) (?:user|recipient|mailbox)\b",
    r"no such (?:user|mailbox|recipient)\b",
    r"(?:user|recipient|mailbox) (?:unknown|does not exist)\b",
)


# Words that go with a bounce statement: "Your message could not be delivered to <address>".
_FILLER = re.compile(
    r"\b(?:your|votre|ihre|su|the|this|following|message|mail|e-?mail|nachricht|mensaje|to|a|an"
    r"|of|de|des|à|recipients?|addresses?|destinataires?)\b",
    re.I,
)


def _nothing_but_a_bounce(text: str) -> bool:
    """The text states a delivery failure and says nothing else (no word of a person)."""
    text = text[:2000]
    if quote_start(text) < len(text) or not _BOUNCE_TEXT.search(text):
        return False
    rest = _FILLER.sub(" ", _ADDRESS.sub(" ", _BOUNCE_TEXT.sub(" ", text)))
    return _WORDS.search(rest) is None


def looks_like_bounce(mail: Mail) -> bool:
    """A delivery failure without a machine-readable report: judged by sender, subject, words."""
    if mail.header("x-failed-recipients"):
        return True
    if "(rejected)" in mail.header("auto-submitted").lower():
        return True  # a Sieve or LDA reject (RFC 5429), sent as a report or as text
    daemon = bool(_DAEMON.match(mail.sender) or _DAEMON_NAME.search(mail.sender_name))
    machine = daemon or mail.return_path == "" or not mail.sender
    if _REPLY.match(mail.subject) and not machine:
        # A person answering a thread about deliveries, in the thread's words; unless it says
        # nothing but that a message could not be delivered, as gateways that answer with the
        # original subject do ("RE: <subject> : non remis (delivery failed)").
        return bool(_BOUNCE_SUBJECT.search(mail.subject)) and _nothing_but_a_bounce(mail.text)
    # A person forwarding a bounce writes above it; their own words are what counts.
    body = mail.text[:4000]
    if not machine and quote_start(body) < len(body):
        body = unquoted(body)
        subject = False  # "Fwd: Undelivered Mail" from a person: the subject is the bounce's
    else:
        subject = bool(_BOUNCE_SUBJECT.search(mail.subject))
    text = bool(_BOUNCE_TEXT.search(body))
    if machine and _BAD_ADDRESS_ALONE.search(body[:600]):
        return True  # "You sent mail to x. That's not a valid user here."
    return (subject and (text or machine)) or (machine and text)


def bounce_of(mail: Mail) -> Bounce | str | None:
    """The bounce this message reports; "delivered" for a success notice; None if not one."""
    ses = _ses(mail)
    if ses is not None:
        return ses
    failed = [f for f in mail.status_fields if f.get("action", "").lower().startswith("fail")]
    delayed = [f for f in mail.status_fields if f.get("action", "").lower().startswith("delay")]
    recipients = [f for f in mail.status_fields if "final-recipient" in f or "action" in f]
    structured = bool(recipients)
    if structured and not failed and not delayed:
        actions = {f.get("action", "").lower() for f in recipients}
        statuses = [_status(f.get("status", "")) for f in recipients]
        if actions & {"delivered", "relayed", "expanded", "deliverable"} or (
            statuses and all(s and s[0] == "2" for s in statuses)
        ):
            return "delivered"
        if not any(s and s[0] in "45" for s in statuses):
            return None if not looks_like_bounce(mail) else _from_text(mail)
    if not structured:
        return _from_text(mail) if looks_like_bounce(mail) else None
    chosen = (failed or delayed or recipients)[0]
    diag = chosen.get("diagnostic-code", "")
    status = _status(chosen.get("status", ""))
    text = mail.text[:6000]
    # Exim reports "Status: 5.0.0" over the server's 5.1.1, in the Diagnostic-Code or, without
    # one, in the report's own words ("host 10.2.9.112 says: 550 5.1.1 User unknown")
    said = _status(diag) or (None if diag else _status(text[:2000]))
    if status is None or (said and status.endswith(".0.0") and said[0] == status[0]):
        status = said or status
    reason, hard = report_reason(diag, status, text, failing_command(text))
    if not failed and not hard:  # still being retried, and no word says the address is bad
        reason = "delayed"
    elif reason == "undefined" and status and status[0] == "4":
        reason = "expired"
    elif reason == "undefined" and permanent_without_reason(status, text):
        hard = True
    recipient = chosen.get("final-recipient") or chosen.get("original-recipient") or ""
    return Bounce(
        hard=hard,
        reason=reason,
        status=status,
        recipient=recipient.split(";")[-1].strip().strip("<>").lower() or _recipient_in(mail),
        delayed=not failed,
    )


def _from_text(mail: Mail) -> Bounce:
    text = mail.text[:8000]
    status = _status(text)
    reason, hard = reason_of(f"{mail.subject}\n{text}", status, failing_command(text))
    if reason == "undefined" and permanent_without_reason(status, text):
        hard = True
    failed = mail.header("x-failed-recipients").split(",")[0].strip().lower()
    return Bounce(hard=hard, reason=reason, status=status, recipient=failed or _recipient_in(mail))


_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_SENT_BY = re.compile(r"^(?:from|return-path|reply-to|sender):.*$", re.I | re.M)


def _recipient_in(mail: Mail) -> str | None:
    """The failed address a bounce names in its text: the first address that is not ours (the
    bounce's own To and Cc, the sender of the returned message) nor the reporting system's."""
    ours = {mail.sender, mail.return_path or "", *mail.recipients}
    for line in _SENT_BY.findall(mail.original[:5000]):
        ours.update(found.lower() for found in _ADDRESS.findall(line))
    for found in _ADDRESS.finditer(mail.text[:5000]):
        address = found.group().lower().rstrip(".")
        if address not in ours and not _DAEMON.match(address):
            return address
    return None
