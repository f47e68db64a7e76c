"""The inbound-mail classifier on the project's own fixtures (tests/fixtures/replies/*.eml).

Each fixture is a whole message as a real MTA or mail client writes it: delivery reports from
Postfix, Exim, Sendmail, qmail, Exchange / Office 365, Gmail, Yahoo, Lotus Domino and Amazon SES
(SNS notifications), feedback reports, challenge-response mail, read receipts, unsubscribe
requests in several languages, auto-replies marked by headers only, and human replies that must
stay human (Outlook's X-Auto-Response-Suppress, "I was out of the office last week", HTML only,
unsubscribe links in the quoted footer, 8-bit headers).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from cadence.replies.classify import LABELS, Verdict, classify
from cadence.replies.mail import read

FIXTURES = Path(__file__).parents[1] / "fixtures" / "replies"


class Expect(NamedTuple):
    label: str
    reason: str | None = None  # checked when given
    status: str | None = None  # bounces: the RFC 3463 code (checked when given)
    failed: str | None = None  # bounces: the failed recipient (checked when given)


def hard(reason: str, status: str | None, failed: str | None) -> Expect:
    return Expect("bounce_hard", reason, status, failed)


def soft(reason: str, status: str | None, failed: str | None) -> Expect:
    return Expect("bounce_soft", reason, status, failed)


HUMAN = Expect("human_reply")
AUTO = Expect("auto_reply", "auto-reply")
REQUEST = Expect("unsubscribe", "request")

EXPECTED: dict[str, Expect] = {
    # RFC 3464 reports, hard: the address itself is bad
    "postfix_user_unknown.eml": hard("userunknown", "5.1.1", "ada.lovelace@example.com"),
    "postfix_host_unknown.eml": hard("hostunknown", "5.4.4", "tom@exampel-typo.com"),
    "postfix_null_mx.eml": hard("notaccept", "5.1.10", "info@parked-domain.example"),
    "postfix_smtputf8_global_dsn.eml": hard("userunknown", "5.1.1", "zoë.müller@example.ch"),
    # Exim says "Status: 5.0.0"; the server's own 5.1.1 is the better code
    "exim_user_unknown.eml": hard("userunknown", "5.1.1", "p.hughes@example.co.uk"),
    "sendmail_user_unknown.eml": hard("userunknown", "5.1.1", "kwong@example.edu"),
    "sendmail_host_unknown.eml": hard("hostunknown", "5.1.2", "lee@no-such-host.example"),
    # Office 365 puts 5.1.10 on an unknown recipient, not only on a null MX
    "o365_recipient_not_found.eml": hard("userunknown", "5.1.10", "j.smith@contoso.example"),
    "exchange_ndr_text.eml": hard("hasmoved", "5.1.6", "m.garcia@corp.example.com"),
    "gmail_text_user_unknown.eml": hard("userunknown", "5.1.1", "olaf.n@example.no"),
    "ses_bounce_permanent.eml": hard("userunknown", "5.1.1", "jane.doe@example.com"),
    # text bounces: the failed address comes from the words
    "qmail_failure_notice.eml": hard("userunknown", "5.1.1", "hans.b@isp.example"),
    "yahoo_user_unknown.eml": hard("userunknown", None, "nobody.here@yahoo.com"),
    "domino_user_unknown.eml": hard("userunknown", None, "k.meier@lotus-corp.example"),
    "de_unzustellbar.eml": hard("userunknown", "5.1.1", "m.schulz@provider-de.example"),
    "es_no_se_puede_entregar.eml": hard("userunknown", "5.1.1", "j.lopez@empresa-es.example"),
    # a disabled account is a dead address too, whatever the code says (5.2.1)
    "gmail_dsn_disabled.eml": hard("disabled", "5.2.1", "former.employee@gmail.com"),
    # a suspended one is not (yet): sisimai's "suspend", soft even under 5.1.1
    "postfix_suspended_mailbox_5_1_1.eml": soft("suspend", "5.1.1", "d.ruiz@example.net"),
    # soft, even with a 5.x.x status
    "postfix_mailbox_full.eml": soft("mailboxfull", "5.2.2", "b.weber@example.de"),
    "gmail_dsn_over_quota.eml": soft("mailboxfull", "5.2.2", "mehmet.y@example.com.tr"),
    "postfix_blocked_spamhaus.eml": soft("blocked", "5.7.1", "purchasing@example.com"),
    "postfix_dmarc_reject.eml": soft("authfailure", "5.7.26", "priya.k@gmail.com"),
    "sendmail_spam_rejected.eml": soft("spamdetected", "5.7.1", "admissions@example.edu"),
    "postfix_expired.eml": soft("expired", "4.4.7", "carla@example.net"),
    "postfix_delayed.eml": soft("delayed", "4.4.1", "carla@example.net"),
    # "550 5.1.1" on the words of a rate limit
    "exim_rate_limit.eml": soft("speeding", "5.1.1", "sales@example.org"),
    "fr_non_remis.eml": soft("mailboxfull", "5.2.2", "c.dupont@fai-fr.example"),
    # our own sending address failed their check ("the account or domain may not exist")
    "postfix_sender_verify_failed.eml": soft("rejected", "5.1.1", "orders@example.org"),
    # wrapped diagnostics, words around the address, and no useful status code
    "postfix_user_does_not_exist_wrapped.eml": hard("userunknown", "5.0.0", "k.tanaka@example.net"),
    "postfix_no_mail_box_for_user.eml": hard("userunknown", "5.0.0", "r.okafor@example.ac.uk"),
    # no Diagnostic-Code: the status decides, not the gateway's virus-scanner footer
    "exchange_dsn_status_only_virus_footer.eml": hard(
        "userunknown", "5.1.1", "s.patel@lgpartners.example"
    ),
    # "Access denied" from Exchange Online's directory check means "no such recipient"
    "exchange_online_dbeb_access_denied.eml": hard(
        "userunknown", "5.4.1", "l.nguyen@contoso.example"
    ),
    # qmail's one-liner with no From and no subject, and a report after blank lines
    "bare_not_a_valid_user.eml": hard("userunknown", None, "sarah.d@coop-example.org"),
    "leading_blank_lines_dsn.eml": hard("userunknown", "5.1.1", "ada.lovelace@example.com"),
    "nl_onbestelbaar.eml": soft("mailboxfull", "5.2.2", "p.devries@bedrijf-nl.example"),
    # other: success notices, complaints, challenge-response, read receipts
    "postfix_delivered.eml": Expect("other", "delivered notice"),
    "ses_delivery.eml": Expect("other", "delivered notice"),
    "ses_complaint_json.eml": Expect("other", "feedback report: abuse"),
    "arf_abuse.eml": Expect("other", "feedback report: abuse"),
    "challenge_tmda.eml": Expect("other", "challenge-response"),
    "challenge_boxbe.eml": Expect("other", "challenge-response"),
    "boxbe_challenge_as_report.eml": Expect("other", "challenge-response"),  # "Action: failed"
    "noreply_shipping_notification.eml": Expect("other", "notification"),
    # RFC 3834 auto-generated, answering nothing and saying nobody is away
    "auto_generated_notification.eml": Expect("other", "notification"),
    "hotmail_jmrp_complaint.eml": Expect("other", "feedback report: abuse"),
    "challenge_human_check.eml": Expect("other", "challenge-response"),
    "read_receipt_mdn.eml": Expect("other", "read receipt"),
    "lotus_return_receipt.eml": Expect("other", "read receipt"),
    # unsubscribe: an opt-out report, or a request in words
    "arf_opt_out.eml": Expect("unsubscribe", "opt-out report"),
    "unsub_subject_only.eml": REQUEST,
    "unsub_gmail_mailto.eml": REQUEST,
    "unsub_remove_me.eml": REQUEST,
    "unsub_take_me_off.eml": REQUEST,
    "unsub_de_austragen.eml": REQUEST,
    "unsub_fr_desabonnez.eml": REQUEST,
    "unsub_es_darme_de_baja.eml": REQUEST,
    "unsub_smtputf8_subject.eml": REQUEST,
    # auto-replies, most of them known by their headers alone
    "auto_submitted_header.eml": AUTO,
    "x_autoreply_header.eml": AUTO,
    "precedence_auto_reply.eml": AUTO,
    "apple_vacation.eml": AUTO,
    "exchange_automatic_reply.eml": AUTO,
    "de_automatische_antwort.eml": AUTO,
    "ticket_ack_noreply.eml": AUTO,
    "de_empfangsbestaetigung_noreply.eml": AUTO,
    "auto_reply_with_unsubscribe_footer.eml": AUTO,
    "ooo_html_base64.eml": AUTO,
    "ooo_empty_plain_alternative.eml": AUTO,  # the words are only in the HTML alternative
    "address_gone_notice.eml": Expect("auto_reply", "address gone"),
    # people
    "human_outlook_suppress.eml": HUMAN,
    "human_forwards_a_bounce.eml": HUMAN,  # her words above a forwarded bounce
    "auto_forwarded_human_reply.eml": HUMAN,  # RFC 3834: auto-forwarded is not an auto-reply
    # away, but answering in person: no auto-reply marker, and the original is quoted
    "human_on_holiday_answers_anyway.eml": HUMAN,
    "de_human_im_urlaub_antwortet.eml": HUMAN,
    "human_was_out_last_week.eml": HUMAN,
    "human_qp_html_only.eml": HUMAN,
    "human_different_address.eml": HUMAN,
    "human_quoted_unsub_footer.eml": HUMAN,
    "human_nl_asks_about_unsubscribe.eml": HUMAN,
    "human_event_guest_list.eml": HUMAN,
    "human_talks_about_delivery_failures.eml": HUMAN,
    "human_de.eml": HUMAN,
    "human_fr.eml": HUMAN,
    "human_es.eml": HUMAN,
    "human_ja.eml": HUMAN,
    "human_ru_8bit_headers.eml": HUMAN,
}


def raw(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def verdict(name: str) -> Verdict:
    return classify(raw(name))


def test_every_fixture_has_an_expectation() -> None:
    on_disk = {path.name for path in FIXTURES.glob("*.eml")}
    assert on_disk == set(EXPECTED)
    assert {expect.label for expect in EXPECTED.values()} == set(LABELS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture(name: str) -> None:
    expect, got = EXPECTED[name], verdict(name)
    assert got.label == expect.label, got
    if expect.reason is not None:
        assert got.reason == expect.reason, got
    if got.label.startswith("bounce"):
        assert got.status == expect.status, got
        assert got.failed_recipient == expect.failed, got
    else:
        assert got.status is None and got.failed_recipient is None, got


def test_delivery_reports_come_before_auto_reply_headers() -> None:
    """Postfix, Exim, Gmail and Office 365 reports carry Auto-Submitted: auto-replied."""
    marked = [name for name, expect in EXPECTED.items() if expect.label.startswith("bounce")
              and read(raw(name)).header("auto-submitted").startswith("auto-replied")]  # fmt: skip
    assert len(marked) >= 10
    for name in marked:
        assert verdict(name).label.startswith("bounce"), name
    assert read(raw("postfix_delivered.eml")).header("auto-submitted") == "auto-replied"
    assert verdict("postfix_delivered.eml").label == "other"


def test_html_only_base64_out_of_office() -> None:
    """The body is the only evidence, and it is base64 HTML: every field must come through."""
    message = raw("ooo_html_base64.eml")
    assert b"out of the office" not in message  # only after decoding
    mail = read(message)
    assert "I am out of the office until Friday 8 November 2024" in mail.text
    assert "<p>" not in mail.text and "&nbsp;" not in mail.text
    assert mail.sent_on == date(2024, 11, 5)
    assert classify(message) == Verdict(
        label="auto_reply",
        reason="auto-reply",
        return_date=date(2024, 11, 11),
        status=None,
        failed_recipient=None,
        address_gone=False,
    )


def test_quoted_printable_html_reply_is_read_as_text() -> None:
    mail = read(raw("human_qp_html_only.eml"))
    assert mail.sender_name == "Sören Andersen"
    assert "Thanks – that’s helpful." in mail.text
    assert "=3D" not in mail.text and "<div" not in mail.text


def test_raw_utf8_headers_are_decoded() -> None:
    """RFC 6532 allows UTF-8 in headers; the parser must not turn it into replacement marks."""
    mail = read(raw("human_ru_8bit_headers.eml"))
    assert mail.subject == "Re: Предложение для вашей команды"
    assert (mail.sender_name, mail.sender) == ("Иван Петров", "ivan.petrov@пример.example")
    assert read(raw("unsub_smtputf8_subject.eml")).subject == "Désinscription"
    assert read(raw("human_ja.eml")).subject == "Re: 打合せ"


def test_returned_copies_name_our_message() -> None:
    """A bounce is matched to our message through the copy it returns, in any format."""
    cases = {
        "postfix_user_unknown.eml": "cadence.7f3a9c2e.1@seller.example",
        "postfix_smtputf8_global_dsn.eml": "cadence.e0f1a2b3.1@seller.example",
        "exim_user_unknown.eml": "cadence.aa11bb22.1@seller.example",
        "o365_recipient_not_found.eml": "cadence.0b1c2d3e.1@seller.example",
        "qmail_failure_notice.eml": "cadence.5a6b7c8d.1@seller.example",
        "de_unzustellbar.eml": "cadence.4c5d6e7f.1@seller.example",
    }
    for name, message_id in cases.items():
        assert message_id in read(raw(name)).original_message_ids(), name


def test_returned_copy_does_not_decide_the_reason() -> None:
    """The German bounce returns a sales email that talks about spam and block lists."""
    assert "Spam" not in read(raw("de_unzustellbar.eml")).text
    assert verdict("de_unzustellbar.eml").label == "bounce_hard"


def test_text_and_bytes_give_the_same_verdict() -> None:
    for name in ("postfix_user_unknown.eml", "human_fr.eml", "ooo_html_base64.eml"):
        assert classify(raw(name).decode("utf-8")) == verdict(name)


def test_crlf_line_endings() -> None:
    message = raw("o365_recipient_not_found.eml")
    assert b"\r\n" in message
    assert classify(message.replace(b"\r\n", b"\n")) == classify(message)


@pytest.mark.parametrize(
    "message",
    [
        b"",
        b"\x00\xff\xfe garbage",
        b"Subject: only a header",
        b"Content-Type: multipart/report; report-type=delivery-status\n\nno boundary",
        b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\ncut",
        b"Content-Type: text/plain; charset=no-such-charset\n"
        b"Content-Transfer-Encoding: base64\n\n!!!not base64",
    ],
)
def test_malformed_mail_never_raises(message: bytes) -> None:
    assert classify(message).label in LABELS


def test_truncated_fixtures_never_raise() -> None:
    for name in sorted(EXPECTED):
        message = raw(name)
        for cut in (len(message) // 3, len(message) // 2):
            assert classify(message[:cut]).label in LABELS


QUOTED_CAMPAIGN = (
    "\n\nOn Thu, Dec 19, 2024 at 9:00 AM Rita Rep <rita@seller.example> wrote:\n"
    "> Hi, a quick question about your plans for next year.\n"
    "> To stop receiving these emails, unsubscribe: https://seller.example/u/1\n"
)


def answer(subject: str, words: str) -> bytes:
    """A person's reply to a campaign email, quoting it (and its unsubscribe footer)."""
    return (
        f"From: Lead <lead@example.com>\nTo: rita@seller.example\nSubject: {subject}\n"
        "Date: Fri, 20 Dec 2024 10:00:00 +0100\nMessage-ID: <answer@example.com>\n"
        "In-Reply-To: <cadence.1@seller.example>\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{words}{QUOTED_CAMPAIGN}"
    ).encode()


@pytest.mark.parametrize(
    ("subject", "words"),
    [
        ("Re: Quick question", "Please remove me from your list."),
        ("Re: Quick question", "Not interested. Please do not contact me again."),
        ("AW: Kurze Frage", "Bitte nehmen Sie mich aus Ihrem Verteiler."),
        ("AW: Kurze Frage", "Bitte keine weiteren E-Mails."),
        ("RE: Question", "Merci de me retirer de votre liste de diffusion."),
        ("RE: Question", "Je ne souhaite plus recevoir vos emails."),
        ("RE: Pregunta", "Por favor, elimínenme de su lista."),
        ("RE: Pregunta", "No quiero recibir más correos."),
        ("R: Domanda", "Vi prego di cancellarmi dalla vostra mailing list."),
        ("RE: Pergunta", "Por favor, me remova da sua lista."),
        ("Re: Vraag", "Haal mij van uw mailinglijst."),
        ("Odp: Pytanie", "Proszę usunąć mnie z listy mailingowej."),
        ("SV: Fråga", "Ta bort mig från er lista."),
        ("SV: Spørgsmål", "Fjern mig venligst fra jeres liste."),
        ("SV: Spørsmål", "Vennligst fjern meg fra listen."),
        ("回复: 问题", "请不要再给我发邮件。"),
        ("Re: 質問", "今後のメール配信を停止してください。"),
    ],
)
def test_unsubscribe_requests_in_words(subject: str, words: str) -> None:
    assert classify(answer(subject, words)).label == "unsubscribe"


@pytest.mark.parametrize(
    "words",
    [
        "Not now, maybe next quarter. Thanks.",
        "Your unsubscribe link is broken, by the way. Anyway, let's talk Tuesday.",
        "I can't stop thinking about your proposal! Let's meet.",
        "Ich habe bisher keine Nachrichten von Ihnen erhalten, bitte schicken Sie das Angebot.",
        "Pode me tirar uma dúvida? Quanto custa a licença?",
    ],
)
def test_words_near_unsubscribing_are_still_a_person(words: str) -> None:
    assert classify(answer("Re: Quick question", words)).label == "human_reply"


@pytest.mark.parametrize(
    "words",
    [
        "I'm on holiday but saw this - happy to chat in January. Back on the 6th.",
        "Ich bin gerade im Urlaub, melde mich aber nach dem 6. Januar. Klingt interessant!",
    ],
)
def test_away_but_answering_in_person_without_quoting(words: str) -> None:
    raw = answer("Re: Quick question", words).replace(QUOTED_CAMPAIGN.encode(), b"")
    assert classify(raw).label == "human_reply"
    # the same words under an auto-reply marker are a notice
    marked = raw.replace(
        b"Subject: Re: Quick question", b"Subject: Automatic reply: Quick question"
    )
    assert classify(marked).label == "auto_reply"


@pytest.mark.parametrize(
    ("subject", "words", "back"),
    [
        ("Re: Proposal", "I will return to the office on January 6.", date(2025, 1, 6)),
        ("Re: Proposal", "Je serai de retour le lundi 6 janvier 2025.", date(2025, 1, 6)),
        ("Re: Propuesta", "Volveré el lunes 6 de enero.", date(2025, 1, 6)),
        ("Re: Offerta", "Rientrerò in ufficio il 7 gennaio.", date(2025, 1, 7)),
        ("Re: Proposta", "Retorno no dia 6 de janeiro.", date(2025, 1, 6)),
        ("Re: Oferta", "Przebywam na urlopie w dniach 23.12-03.01.", date(2025, 1, 6)),
        ("Re: Oferta", "Wracam 7 stycznia.", date(2025, 1, 7)),
        ("Re: Offert", "Jag är tillbaka måndag 6 januari.", date(2025, 1, 6)),
        ("Re: 报价", "本人休假至2025年1月3日。", date(2025, 1, 6)),
        ("Re: お見積り", "1月6日（月）より出社いたします。", date(2025, 1, 6)),
    ],
)
def test_unmarked_notices_that_only_say_when_they_are_back(
    subject: str, words: str, back: date
) -> None:
    raw = answer(subject, words).replace(QUOTED_CAMPAIGN.encode(), b"")
    verdict = classify(raw)
    assert (verdict.label, verdict.return_date) == ("auto_reply", back)


@pytest.mark.parametrize(
    ("subject", "words"),
    [
        ("Re: ご案内", "今後このようなメールは不要です。配信を停止してください。"),
        ("Re: ご案内", "メールの配信を停止してください。"),
        ("配信停止", "よろしくお願いします。"),
        ("Re: 提案", "請勿再寄信給我，謝謝。"),
        ("回覆: 提案", "我不想再收到你們的郵件。"),
        ("RE: 제안", "수신거부 합니다."),
        ("RE: 제안", "더 이상 메일 보내지 마세요."),
        ("구독 취소", "감사합니다."),
    ],
)
def test_unsubscribe_requests_in_chinese_japanese_and_korean(subject: str, words: str) -> None:
    assert classify(answer(subject, words)).label == "unsubscribe"


def old_mta(sender: str, subject: str, body: str, charset: str = "us-ascii") -> bytes:
    """A delivery report as older MTAs write it: prose, no multipart/report, no Status line,
    the returned message appended after a separator line."""
    head = (
        f"Return-Path: <>\nFrom: {sender}\nTo: rita@seller.example\nSubject: {subject}\n"
        f"Date: Fri, 20 Dec 2024 10:00:00 +0100\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset={charset}\nContent-Transfer-Encoding: 8bit\n\n"
    )
    returned = (
        "\n----- Original message -----\nFrom: Rita Rep <rita@seller.example>\n"
        "To: lead@example.com\nSubject: Quick question\nMessage-ID: <cadence.1@seller.example>\n\n"
        "Hi, a quick question about your plans for next year.\n"
    )
    return head.encode() + (body + returned).encode(charset)


@pytest.mark.parametrize(
    ("sender", "subject", "body", "charset", "label", "reason"),
    [
        # Sina (GB2312): "the mail could not be sent to the address you gave" (no reason, and
        # nothing says permanent: a bounce, soft)
        (
            "MAILER-DAEMON@sina.com",
            "邮件传输失败！",
            "邮件无法发送到您指定的地址中。\n<lead@example.com>:\n",
            "gb2312",
            "bounce_soft",
            "undefined",
        ),
        # JetMail, from the null sender, says the mailbox is full
        (
            '"Jetmail System" <>',
            "Mail Error",
            "Your mail cannot be delivered to the following "
            'address(es):\n  lead "(0), ErrMsg=mail box space not enough, account=lead "\n',
            "us-ascii",
            "bounce_soft",
            "mailboxfull",
        ),
        # an organisation's directory: no such person here, try these
        (
            '"Automated response from postmaster" <postmaster@example.gov>',
            'FAILED MAIL to "lead" regarding "Quick question"',
            "The address to which your "
            "message was addressed, lead@example.com, did not exactly match an email address "
            "here.\nThe following people might be the one you meant:\n"
            "  L. Ead  lead4@example.gov\n",
            "us-ascii",
            "bounce_hard",
            "userunknown",
        ),
        (
            "MAILER-DAEMON@airmail.example",
            "mail failed, returning to sender",
            "|---- Message log follows: ----|\nno valid recipients were found for this message\n"
            "|---- Failed addresses follow: ----|\nlead@example.com ... unknown host\n",
            "us-ascii",
            "bounce_hard",
            "hostunknown",
        ),
        # Japanese provider: the address is not there
        (
            "MAILER-DAEMON@example.ne.jp",
            "配信エラー",
            "以下の宛先に配信できませんでした。\n"
            "lead@example.com: 宛先のメールアドレスは存在しません。\n",
            "iso-2022-jp",
            "bounce_hard",
            "userunknown",
        ),
        # Korean provider: delivery failed, mailbox full
        (
            "MAILER-DAEMON@example.co.kr",
            "메일 전송 실패",
            "메일이 전달되지 못했습니다.\nlead@example.com: 메일함 용량 초과\n",
            "utf-8",
            "bounce_soft",
            "mailboxfull",
        ),
        # permanent failures that are about the account, not the server
        (
            "MAILER-DAEMON@mx.example",
            "Undelivered Mail Returned to Sender",
            "<lead@example.com>: host mx.example said: 551 lead@example.com is a deactivated "
            "mailbox\n",
            "us-ascii",
            "bounce_hard",
            "disabled",
        ),
        (
            "MAILER-DAEMON@mx.example.pl",
            "Undelivered Mail Returned to Sender",
            "<lead@example.pl>: host mx.example.pl said: 550 5.2.1 Skrzynka niedostępna / "
            "Mailbox not available (in reply to RCPT TO command)\n",
            "utf-8",
            "bounce_hard",
            "userunknown",
        ),
    ],
)
def test_delivery_reports_without_dsn_parts(
    sender: str, subject: str, body: str, charset: str, label: str, reason: str
) -> None:
    got = classify(old_mta(sender, subject, body, charset))
    assert (got.label, got.reason) == (label, reason), got


@pytest.mark.parametrize(
    "words",
    [
        "Sorry for the slow answer, my mailbox is full after the holidays. Yes, let's talk.",
        "Your last email could not be delivered to my old address, so please use this one.",
        "Our IT says the account was deactivated by mistake; it works again. Send the deck?",
        "I got a message saying 'user unknown' when I wrote to your colleague. Can you check?",
        "メールボックスが一杯でした。すみません。来週お話ししましょう。",
    ],
)
def test_people_talking_about_bounces_are_people(words: str) -> None:
    assert classify(answer("Re: Quick question", words)).label == "human_reply"


def test_a_person_quoting_a_bounce_is_a_person() -> None:
    quoted = (
        "Hi Rita, I got this back when I forwarded your note to Sam - is his address right?\n\n"
        "> Mail delivery failed: returning message to sender\n"
        "> This message was created automatically by mail delivery software.\n"
        "> A message that you sent could not be delivered to one or more of its recipients.\n"
        ">   sam@example.com\n>     550 5.1.1 user unknown\n"
    )
    raw = answer("Re: Quick question", quoted)
    assert classify(raw).label == "human_reply"


def test_header_only_auto_reply_is_an_auto_reply() -> None:
    """X-Autoreply with RFC 3834's auto-generated marker and words that say nothing."""
    raw = (
        b"From: Lead <lead@example.com>\nTo: rita@seller.example\nSubject: Thanks\n"
        b"Auto-Submitted: auto-generated\nX-Autoreply: yes\nMessage-ID: <a@example.com>\n"
        b"Date: Fri, 20 Dec 2024 10:00:00 +0100\n\nThanks for your note.\n"
    )
    assert classify(raw).label == "auto_reply"


def test_bulk_notice_is_not_a_person() -> None:
    raw = (
        b"Return-Path: <bounces-main+rita=seller.example@shop.example>\n"
        b"From: news@shop.example\nTo: rita@seller.example\nSubject: We are moving systems\n"
        b"Date: Fri, 20 Dec 2024 10:00:00 +0100\n\nDear customer, we apologise if you receive "
        b"this email twice: we are moving to a new system.\n"
    )
    assert classify(raw).label == "other"


@pytest.mark.parametrize("part", ["tune", "holdout"])
def test_public_corpus(part: str) -> None:
    """tests/corpora/replies: 205 real messages from public projects (see its README)."""
    from cadence.replies.evaluate import evaluate

    metrics = evaluate(Path(__file__).parents[1] / "corpora" / "replies" / part).metrics()
    assert metrics["human reply misread"] == 0
    assert metrics["dates invented"] == 0
    assert metrics["bounce vs not-bounce"] >= 0.98
    assert metrics["exact label"] >= (0.97 if part == "tune" else 0.95)


@pytest.mark.parametrize(
    ("said", "label", "reason"),
    [
        # suspended or frozen: often lifted again (unpaid, abuse lock), so soft (sisimai "suspend")
        ("550 Mailbox is frozen. See http://mail.example.ua/err/3/", "bounce_soft", "suspend"),
        ("550 5.2.1 Account suspended for non-payment", "bounce_soft", "suspend"),
        ("554 This account has been temporarily disabled", "bounce_soft", "suspend"),
        # au/EZweb: the subscriber's contract is suspended, whatever "user unknown" says after it
        (
            "The user(s) account is disabled.\n\n<lead@ezweb.example>: 550 user unknown "
            "(in reply to RCPT TO command)",
            "bounce_soft",
            "suspend",
        ),
        # disabled, deactivated or closed: the address is dead (issue 17)
        ("551 lead@example.com is a deactivated mailbox", "bounce_hard", "disabled"),
        (
            "550 5.2.1 The email account that you tried to reach is disabled.",
            "bounce_hard",
            "disabled",
        ),
        ("550 This account has been closed", "bounce_hard", "disabled"),
    ],
)
def test_suspended_is_soft_and_disabled_is_hard(said: str, label: str, reason: str) -> None:
    body = f"<lead@example.com>: host mx.example said: {said}\n"
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail Returned to Sender", body))
    assert (got.label, got.reason) == (label, reason), got


@pytest.mark.parametrize(
    "transcript",
    [
        # Postfix
        "<lead@example.com>: host mx.example[192.0.2.1] said: 550 No such user here (in reply "
        "to end of DATA command)",
        # Postfix, the command wrapped onto the next line
        "<lead@example.com>: host mx.example[192.0.2.1] said:\n    550 Unknown user "
        "lead@example.com (in reply to end of DATA\n    command)",
        # Exim
        "  lead@example.com\n    SMTP error from remote mail server after end of data:\n"
        "    550 Unknown user",
        # Sendmail
        "----- Transcript of session follows -----\n... while talking to mx.example.:\n"
        ">>> DATA\n<<< 550 User unknown\n554 5.0.0 Service unavailable",
    ],
)
def test_user_unknown_after_data_is_filtered(transcript: str) -> None:
    """Accepted at RCPT TO, refused after DATA: the address exists, a filter said no (soft)."""
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail", transcript + "\n"))
    assert (got.label, got.reason) == ("bounce_soft", "filtered"), got


@pytest.mark.parametrize(
    "transcript",
    [
        "<lead@example.com>: host mx.example[192.0.2.1] said: 550 No such user here (in reply "
        "to RCPT TO command)",
        "----- Transcript of session follows -----\n... while talking to mx.example.:\n"
        ">>> RCPT To:<lead@example.com>\n<<< 550 User unknown\n550 5.1.1 lead@example.com... "
        "User unknown",
        # a 5.1.1 code names the address, whatever the command
        "<lead@example.com>: host mx.example said: 550 5.1.1 User unknown (in reply to end of "
        "DATA command)",
        # Exim
        "  lead@example.com\n    SMTP error from remote mail server after RCPT TO:"
        "<lead@example.com>:\n    550 Unknown user",
        # qmail relaying: "does not like recipient" is its word for a refusal at RCPT TO
        "<lead@example.com>:\n192.0.2.7 does not like recipient.\nRemote host said: 550 "
        "lead@example.com... No such user\nGiving up on 192.0.2.7.",
        # IMail
        "Unknown user: lead@example.com\nRCPT TO generated following response:\n553 5.3.0 "
        "<lead@example.com>... Addressee unknown",
        # qmail's own local delivery, not quoting a remote host
        "Hi. This is the qmail-send program at mx.example.\nI'm afraid I wasn't able to "
        "deliver your message to the following addresses.\n\n<lead@example.com>:\nSorry, no "
        "mailbox here by that name. (#5.1.1)",
        # the mailbox's own system, in its words
        "Your message to lead@example.com has reached our local address lead@example.com, but "
        "this email address is wrong or no longer valid.",
        "lead@example.com - no such user here.\nThere is no user by that name at this server.",
        # an organisation's directory
        "Your message to lead@example.com was not delivered: there is no such person here.\n"
        "Possible matches in our directory: Lead Person <l.person@example.com>",
    ],
)
def test_user_unknown_at_rcpt_stays_hard(transcript: str) -> None:
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail", transcript + "\n"))
    assert (got.label, got.reason) == ("bounce_hard", "userunknown"), got


@pytest.mark.parametrize(
    "transcript",
    [
        "Unable to deliver message to: <lead@example.com>\nServer mx.example[192.0.2.9] failed "
        "with: 550 <lead@example.com> No such user here\nThis has been a permanent failure.",
        "The following address failed:\n  <lead@example.com>: 550 unknown user",
        "---The following addresses had delivery errors---\nlead@example.com [User unknown]",
        "Reason: Remote host said: 550 unknown user <lead@example.com>",
        # qmail: refused after the message was sent, not at RCPT TO
        "<lead@example.com>:\n192.0.2.7 failed after I sent the message.\nRemote host said: "
        "554 No such user",
    ],
)
def test_user_unknown_with_no_sign_of_the_address_being_refused_is_filtered(
    transcript: str,
) -> None:
    """A relayed "user unknown" with no 5.1.1, no SMTP command and not in the words of the
    mailbox's own system: soft, as sisimai reads it (the repeated soft-bounce rule counts it)."""
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail", transcript + "\n"))
    assert (got.label, got.reason) == ("bounce_soft", "filtered"), got


def test_a_report_status_of_5_0_0_takes_the_5_1_1_its_text_gives() -> None:
    """A DSN that says only "Status: 5.0.0" and quotes the server's 5.1.1 in its own words."""
    raw = (
        "Return-Path: <>\nFrom: MAILER-DAEMON@mx.example\nTo: rita@seller.example\n"
        "Subject: Undeliverable mail\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n\n'
        "--B\nContent-Type: text/plain\n\nFailed to deliver to 'lead@example.com'\n"
        "SMTP module(domain [192.0.2.9]) reports:\n host 192.0.2.9 says:\n 550 5.1.1 User "
        "unknown\n\n--B\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; "
        "mx.example\n\nFinal-Recipient: rfc822;<lead@example.com>\nAction: failed\n"
        "Status: 5.0.0\n\n--B--\n"
    )
    got = classify(raw)
    assert (got.label, got.reason, got.status) == ("bounce_hard", "userunknown", "5.1.1"), got


def test_yahoo_no_account_after_data_stays_hard() -> None:
    """Yahoo refuses a dead address at the end of DATA: words that say the account does not
    exist are no content filter's."""
    body = (
        "<lead@yahoo.example>: host mx.yahoo.example said: 554 delivery error: dd This user "
        "doesn't have a yahoo.example account (lead@yahoo.example) [0] (in reply\n"
        "    to end of DATA command)\n"
    )
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail", body))
    assert (got.label, got.reason) == ("bounce_hard", "userunknown"), got


@pytest.mark.parametrize(
    ("said", "label", "reason"),
    [
        # our own From domain refused: nothing wrong with the lead's address
        (
            "550 5.2.0 <rita@seller.example> From: Domain is invalid. Please provide a valid "
            "From: IB506",
            "bounce_soft",
            "rejected",
        ),
        # RFC 3463 X.7.13: user account disabled
        ("525 5.7.13 Disabled recipient address", "bounce_hard", "disabled"),
    ],
)
def test_who_the_failure_is_about(said: str, label: str, reason: str) -> None:
    body = f"<lead@example.com>: host mx.example said: {said}\n"
    got = classify(old_mta("MAILER-DAEMON@mx.example", "Undelivered Mail", body))
    assert (got.label, got.reason) == (label, reason), got


def gateway(sender: str, subject: str, body: str) -> bytes:
    """A message from an ordinary address (not MAILER-DAEMON, not the null sender)."""
    return (
        f"Return-Path: <{sender}>\nFrom: {sender}\nTo: rita@seller.example\n"
        f"Subject: {subject}\nDate: Tue, 2 May 2006 18:42:52 +0200\nMIME-Version: 1.0\n"
        f"Content-Type: text/plain; charset=utf-8\n\n{body}"
    ).encode()


def test_gateway_answering_re_with_only_a_bounce_is_a_bounce() -> None:
    """A mail gateway answers with the original subject and a bilingual failure notice."""
    raw = gateway(
        "Gateway.Internet@bank.example",
        "RE: Quick question : non remis (delivery failed)",
        "*****************\nVotre message n'a pas pu etre delivre a\nlead@bank.example\n\n"
        "*****************\nYour message could not be delivered to\nlead@bank.example\n"
        "*****************\n",
    )
    assert classify(raw).label.startswith("bounce")


@pytest.mark.parametrize(
    "body",
    [
        # a person in a thread about delivery failures, saying more than the failure
        "Your message could not be delivered to bob@partner.example, can you check the "
        "address and resend?\n",
        "Our IT says delivery failed for a few of you. Sorry about that!\n",
    ],
)
def test_person_answering_re_about_failures_stays_a_person(body: str) -> None:
    raw = gateway("lead@example.com", "RE: Delivery failed for our newsletter", body)
    assert classify(raw).label == "human_reply"


def test_failed_recipients_notice_from_an_smtp_service_is_a_bounce() -> None:
    """A relayed "550 mailbox unavailable" that names no SMTP command and no 5.1.1: a bounce,
    soft (``filtered``) because nothing shows the address itself was refused."""
    raw = gateway(
        "E500_SMTP_Mail_Service@isp.example",
        "Returned Mail - Error During Delivery",
        "------ Failed Recipients ------\n\n<lead@example.com>: Requested action not taken: "
        "mailbox unavailable. [SMTP Error Code 550]\n-------- Returned Mail --------\n",
    )
    got = classify(raw)
    assert (got.label, got.reason) == ("bounce_soft", "filtered"), got


def test_person_mentioning_failed_recipients_stays_a_person() -> None:
    raw = gateway(
        "lead@example.com",
        "Returned mail from our last mailing",
        "Hi Rita, the failed recipients in our mailing were mostly old addresses. Could we "
        "talk about cleaning the list next week?\n",
    )
    assert classify(raw).label == "human_reply"
