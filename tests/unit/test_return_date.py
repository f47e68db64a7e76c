"""Return dates read from out-of-office replies (cadence.replies.return_date).

Every fixture is a short out-of-office text written for these tests, the way mail clients and
people word them. Unless a case says otherwise the reply was sent on Monday 29 April 2024.
Calendar used: Fri 3 May, Mon 6 May, Tue 7 May, Fri 10 May, Mon 13 May 2024.
"""

from __future__ import annotations

import time
from datetime import date

import pytest

from cadence.replies.mail import unquoted
from cadence.replies.return_date import (
    find_absence_end,
    find_return_date,
    next_business_day,
)

SENT = date(2024, 4, 29)  # a Monday

# (subject, body, expected return date)
EXPLICIT_RETURN = {
    "ru back on": ("Автоответ: Вопрос", "Я в командировке. Вернусь 6 мая.", date(2024, 5, 6)),
    "ru in the office from": ("", "Буду в офисе с 7 мая.", date(2024, 5, 7)),
    "en outlook": (
        "Automatic reply: Your demo request",
        "Thank you for your email. I am currently out of the office and will be returning on"
        " Monday 13th May. I will have limited access to email during this time.\n\n"
        "For urgent matters please contact sales@example.com.",
        date(2024, 5, 13),
    ),
    "en back in the office": (
        "Out of Office",
        "Hi,\nI'm on annual leave and back in the office on 6 May.\nBest,\nTom",
        date(2024, 5, 6),
    ),
    "en available again from": (
        "",
        "I am travelling with limited access to email. I will be available again from"
        " Tuesday 7 May.",
        date(2024, 5, 7),
    ),
    "en I will return on": (
        "Auto Response",
        "I will return on May 6, 2024 and will respond to your message then.",
        date(2024, 5, 6),
    ),
    "en ISO date": ("", "Out of office. Return date: 2024-05-06", date(2024, 5, 6)),
    "de zurück am": (
        "Abwesenheitsnotiz",
        "Sehr geehrte Damen und Herren,\nich bin zurück am Montag, 6. Mai 2024.",
        date(2024, 5, 6),
    ),
    "de wieder im Büro ab": (
        "",
        "Ich bin derzeit nicht im Büro und ab dem 06.05.2024 wieder im Büro.",
        date(2024, 5, 6),
    ),
    "de ab dem ... wieder erreichbar": (
        "Automatische Antwort: Angebot",
        "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich 3. Mai nicht im Büro."
        " Ab dem 7. Mai bin ich wieder erreichbar.",
        date(2024, 5, 7),
    ),
    "de am ... wieder": ("", "Am 6. Mai bin ich wieder für Sie da.", date(2024, 5, 6)),
    "nl terug op": ("Afwezig", "Ik ben met vakantie en terug op 6 mei.", date(2024, 5, 6)),
    "nl weer aanwezig vanaf": (
        "Automatisch antwoord: offerte",
        "Ik ben afwezig tot en met vrijdag 3 mei. Vanaf dinsdag 7 mei ben ik weer aanwezig.",
        date(2024, 5, 7),
    ),
    "fr de retour le": (
        "Réponse automatique : votre offre",
        "Bonjour,\nJe suis absente et serai de retour le lundi 6 mai.\nCordialement",
        date(2024, 5, 6),
    ),
    "fr slash date is day-first": (
        "",
        "Je suis en congés. Je serai de retour le 07/05/2024.",
        date(2024, 5, 7),
    ),
    "es de vuelta el": ("", "Estoy de vacaciones, de vuelta el 6 de mayo.", date(2024, 5, 6)),
    "es regresaré el": (
        "Respuesta automática: oferta",
        "Gracias por su correo. Estoy fuera de la oficina y regresaré el lunes 6 de mayo.",
        date(2024, 5, 6),
    ),
    "es estaré de regreso el": (
        "",
        "Estaré de regreso el 7 de mayo de 2024.",
        date(2024, 5, 7),
    ),
    "it di ritorno il": ("", "Sono in ferie, di ritorno il 6 maggio.", date(2024, 5, 6)),
    "it rientrerò il": (
        "Risposta automatica: offerta",
        "Sono fuori ufficio fino al 3 maggio. Rientrerò il 7 maggio.",
        date(2024, 5, 7),
    ),
    "it sarò in ufficio dal": ("", "Sarò in ufficio dal 6 maggio.", date(2024, 5, 6)),
    "pt de volta no dia": (
        "Resposta automática: proposta",
        "Olá! Estou de férias e estarei de volta no dia 6 de maio.",
        date(2024, 5, 6),
    ),
    "pt retorno em": ("", "Estou ausente. Retorno em 07/05/2024.", date(2024, 5, 7)),
    "pt regresso a": ("", "Estou fora do escritório. Regresso a 6 de maio.", date(2024, 5, 6)),
    "pl wracam": (
        "Automatyczna odpowiedź: oferta",
        "Dzień dobry, jestem na urlopie do 3 maja 2024 r. Wracam 7 maja.",
        date(2024, 5, 7),
    ),
    "pl będę z powrotem": ("", "Będę z powrotem 6 maja.", date(2024, 5, 6)),
    "pl powrót": (
        "Poza biurem",
        "Jestem poza biurem. Powrót do biura: 7.05.2024.",
        date(2024, 5, 7),
    ),
    "sv tillbaka den": (
        "Autosvar: offert",
        "Hej! Jag är på semester och är tillbaka den 6 maj.",
        date(2024, 5, 6),
    ),
    "sv åter i tjänst": ("", "Jag är tjänstledig. Åter i tjänst måndag 6 maj.", date(2024, 5, 6)),
    "da tilbage på kontoret": (
        "Automatisk svar: tilbud",
        "Jeg er på ferie til og med 3. maj og tilbage på kontoret tirsdag den 7. maj.",
        date(2024, 5, 7),
    ),
    "da tilbage den": ("", "Jeg har ferie og er tilbage den 6. maj.", date(2024, 5, 6)),
    "no tilbake på kontoret": (
        "Fravær",
        "Jeg er på ferie. Tilbake på kontoret 7. mai.",
        date(2024, 5, 7),
    ),
    "no tilbake den": ("", "Jeg er tilbake den 6. mai.", date(2024, 5, 6)),
    "zh 返回办公室": (
        "自动回复: 您好",
        "您好，我正在休假，将于5月6日返回办公室。",
        date(2024, 5, 6),
    ),
    "zh 回来": ("", "我目前在出差，2024年5月7日回来。", date(2024, 5, 7)),
    "zh 上班": ("", "我正在休年假，5月6日上班。", date(2024, 5, 6)),
    "ja 出社": (
        "自動返信: お問い合わせ",
        "誠に勝手ながら、5月3日(金)まで休暇をいただいております。5月7日(火)より出社いたします。",
        date(2024, 5, 7),
    ),
    "ja 戻ります": (
        "",
        "出張中のため不在にしております。2024年5月7日に戻ります。",
        date(2024, 5, 7),
    ),
    "ja 復帰": ("", "育児休暇中です。5月7日から復帰します。", date(2024, 5, 7)),
    "ja numeric month/day": ("", "5/7(火)より出社いたします。", date(2024, 5, 7)),
}

# "until X", ranges and single days: back the next business day after X.
UNTIL = {
    "ru until": (
        "Автоматический ответ: Вопрос",
        "Я в отпуске до 3 мая.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "ru from to": ("", "Я в отпуске с 30 апреля по 7 мая.", date(2024, 5, 7), date(2024, 5, 8)),
    "en until, over the weekend": (
        "Out of Office",
        "I am out of the office until Friday, 3 May 2024 with limited access to email.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "en through": ("", "I'm on vacation through May 7.", date(2024, 5, 7), date(2024, 5, 8)),
    "en till": ("", "Away till 6th May, sorry!", date(2024, 5, 6), date(2024, 5, 7)),
    "en from A to B": (
        "",
        "I'm on annual leave from 2 May to 7 May.",
        date(2024, 5, 7),
        date(2024, 5, 8),
    ),
    "en from A to B, day only start": (
        "",
        "I will be out of the office from 1 to 3 May.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "en month range 10-31": (
        "",
        "I will be traveling for work on May 20-31. I will respond as promptly as possible.",
        date(2024, 5, 31),
        date(2024, 6, 3),
    ),
    "en en dash range": (
        "",
        "Out of office: 30 April – 3 May. Please contact my colleague.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "en between A and B": (
        "",
        "I am on annual leave between 1 and 3 May.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "de bis einschließlich": (
        "Abwesend",
        "Ich bin bis einschließlich 3. Mai im Urlaub.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "de vom ... bis, numeric": (
        "",
        "Ich bin vom 29.04. bis 03.05.2024 abwesend. In dringenden Fällen wenden Sie sich an"
        " Frau Muster.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "de day range 1.-3.5.": (
        "",
        "Ich bin vom 1.-3.5.2024 nicht im Büro.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "nl tot en met": (
        "",
        "Ik ben met vakantie tot en met 7 mei.",
        date(2024, 5, 7),
        date(2024, 5, 8),
    ),
    "nl t/m": ("", "Ik ben afwezig t/m vrijdag 3 mei.", date(2024, 5, 3), date(2024, 5, 6)),
    "fr jusqu'au": (
        "Absence",
        "Je suis absent jusqu’au 3 mai inclus.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "fr du ... au, 1er": (
        "",
        "Je suis en congés du 1er au 7 mai.",
        date(2024, 5, 7),
        date(2024, 5, 8),
    ),
    "es hasta el": (
        "",
        "Estoy fuera de la oficina hasta el 3 de mayo.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "es del ... al": (
        "",
        "Estoy de vacaciones del 29 de abril al 7 de mayo.",
        date(2024, 5, 7),
        date(2024, 5, 8),
    ),
    "it fino al": ("", "Sono in ferie fino al 3 maggio.", date(2024, 5, 3), date(2024, 5, 6)),
    "it dal ... al": ("", "Sono assente dal 2 al 7 maggio.", date(2024, 5, 7), date(2024, 5, 8)),
    "pt até, ordinal 1º": (
        "",
        "Estou de férias até 1º de maio.",
        date(2024, 5, 1),
        date(2024, 5, 2),
    ),
    "pt até ao dia": (
        "",
        "Estarei ausente do escritório até ao dia 3 de maio.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "pl do": ("", "Jestem na urlopie do 7 maja.", date(2024, 5, 7), date(2024, 5, 8)),
    "pl od ... do": (
        "",
        "Jestem poza biurem od 29 kwietnia do 3 maja.",
        date(2024, 5, 3),
        date(2024, 5, 6),
    ),
    "sv till och med": ("", "Jag är ledig till och med 3 maj.", date(2024, 5, 3), date(2024, 5, 6)),
    "da til og med": ("", "Jeg har ferie til og med 7. maj.", date(2024, 5, 7), date(2024, 5, 8)),
    "da til": ("", "Jeg er på ferie til 3. maj.", date(2024, 5, 3), date(2024, 5, 6)),
    "no til og med": ("", "Jeg er på ferie til og med 3. mai.", date(2024, 5, 3), date(2024, 5, 6)),
    "zh 休假至": ("", "我休假至5月3日，期间无法及时回复邮件。", date(2024, 5, 3), date(2024, 5, 6)),
    "zh 至 range": ("", "我4月29日至5月7日休假。", date(2024, 5, 7), date(2024, 5, 8)),
    "ja まで": ("", "5月6日まで不在にしております。", date(2024, 5, 6), date(2024, 5, 7)),
    "ja 〜 range": (
        "",
        "4月27日〜5月6日は休暇のため不在です。",
        date(2024, 5, 6),
        date(2024, 5, 7),
    ),
}


@pytest.mark.parametrize(
    ("subject", "body", "expected"), EXPLICIT_RETURN.values(), ids=EXPLICIT_RETURN.keys()
)
def test_explicit_return_phrases(subject: str, body: str, expected: date) -> None:
    assert find_return_date(subject, body, SENT) == expected


@pytest.mark.parametrize(("subject", "body", "end", "expected"), UNTIL.values(), ids=UNTIL.keys())
def test_until_and_ranges_return_the_next_business_day(
    subject: str, body: str, end: date, expected: date
) -> None:
    assert find_absence_end(subject, body, SENT) == end
    assert find_return_date(subject, body, SENT) == expected


def test_explicit_return_wins_over_until_in_the_subject() -> None:
    subject = "Away until May 6"
    body = "I am currently away, returning to the office on May 6th. Limited email access."
    assert find_return_date(subject, body, SENT) == date(2024, 5, 6)
    assert find_absence_end(subject, body, SENT) == date(2024, 5, 6)


def test_lotus_subject_only() -> None:
    subject = "AUTO: Jane Doe is out of the office (returning 12/05/2024)"
    # Sent late November: 12 May is long past, so only 5 December fits.
    assert find_return_date(subject, "", date(2024, 11, 28)) == date(2024, 12, 5)


def test_subject_until_when_the_body_has_no_date() -> None:
    body = "I have limited access to email and will reply when I am back."
    assert find_return_date("Out of office until 10 May", body, SENT) == date(2024, 5, 13)


@pytest.mark.parametrize(
    ("sent_on", "body", "expected"),
    [
        (date(2024, 4, 29), "I'm back on Tuesday.", date(2024, 4, 30)),
        (date(2024, 4, 30), "I'm back on Tuesday.", date(2024, 5, 7)),  # not the same day
        (date(2024, 4, 29), "Ich bin am Donnerstag wieder im Büro.", date(2024, 5, 2)),
        (date(2024, 4, 29), "Je serai de retour mercredi.", date(2024, 5, 1)),
        (date(2024, 4, 29), "I'll be back tomorrow.", date(2024, 4, 30)),
        (date(2025, 9, 10), "I'll be back on Monday 15th September.", date(2025, 9, 15)),
        (date(2024, 5, 2), "下周一回来上班。", date(2024, 5, 6)),
        # sent on a Monday: "until Monday" is next week's
        (date(2024, 4, 29), "I am out of the office until Monday.", date(2024, 5, 7)),
        (date(2024, 4, 29), "Ich bin ab morgen wieder im Büro.", date(2024, 4, 30)),
    ],
)
def test_weekdays_and_relative_days(sent_on: date, body: str, expected: date) -> None:
    assert find_return_date("", body, sent_on) == expected


def test_back_on_weekday_after_a_stated_absence() -> None:
    body = "I'm on leave until Friday 10 May and back on Monday."
    assert find_return_date("", body, SENT) == date(2024, 5, 13)


@pytest.mark.parametrize(
    ("sent_on", "body", "expected"),
    [
        (date(2024, 12, 20), "I'm on holiday and will be back on 3 January.", date(2025, 1, 3)),
        (date(2024, 12, 20), "Our office is closed until 1 January.", date(2025, 1, 2)),
        (date(2024, 12, 20), "Jestem na urlopie do 3 stycznia.", date(2025, 1, 6)),
        (date(2024, 12, 27), "Ich bin ab dem 2. Januar wieder im Büro.", date(2025, 1, 2)),
        # recently past: a notice left on after the return, not next year's
        (date(2024, 5, 20), "I'm back on 15 May.", date(2024, 5, 15)),
        (
            date(2024, 9, 16),
            "Out Friday 12th September, returning Monday 15th September.",
            date(2024, 9, 15),
        ),
        (date(2024, 12, 20), "I'm back on 15 October.", date(2025, 10, 15)),  # long past: next year
    ],
)
def test_missing_year_rolls_over(sent_on: date, body: str, expected: date | None) -> None:
    assert find_return_date("", body, sent_on) == expected


@pytest.mark.parametrize(
    ("sent_on", "body", "expected"),
    [
        # both 5 July and 7 May are plausible and nothing decides: no guess
        (date(2024, 4, 1), "I am out of the office until 05/07/2024.", None),
        (date(2024, 4, 29), "I'm out of the office until 5/6.", None),
        (date(2024, 5, 2), "AUTO: out of the office (returning 12/05/2024)", None),
        # a day above 12 decides
        (SENT, "Returning 13/05/2024.", date(2024, 5, 13)),
        (SENT, "Back on 5/13/2024.", date(2024, 5, 13)),
        # another numeric date in the text shows the order
        (SENT, "I'm away from 28/04/2024 and back on 06/05/2024.", date(2024, 5, 6)),
        # the same date written with a month name
        (SENT, "Back on 06/05/2024 (Wednesday 5 June).", date(2024, 6, 5)),
        # the weekday fits only one reading
        (SENT, "I'll be back on Monday 06/05/2024.", date(2024, 5, 6)),
        # the start of the absence is the day the reply was sent: that shows the order
        (
            date(2010, 7, 5),
            "I am out of the office from 05/07/2010 until 12/07/2010.",
            date(2010, 7, 13),
        ),
        (
            date(2010, 7, 5),
            "I am out of the office from 07/05/2010 until 07/12/2010.",
            date(2010, 7, 13),
        ),
        # only one reading lies after the date the reply was sent
        (date(2024, 6, 20), "I'm back on 05/07/2024.", date(2024, 7, 5)),
        # a dot is day-first, and so is a slash in German, French, Spanish...
        (SENT, "Ich bin bis 06.05.2024 im Urlaub.", date(2024, 5, 7)),
        (SENT, "Estoy de vacaciones hasta el 06/05/2024.", date(2024, 5, 7)),
        (SENT, "Ik ben terug op 6-5-2024.", date(2024, 5, 6)),
        (SENT, "Ich bin bis 3.5. im Urlaub.", date(2024, 5, 6)),  # German day.month.
    ],
)
def test_numeric_dates(sent_on: date, body: str, expected: date | None) -> None:
    assert find_return_date("", body, sent_on) == expected


@pytest.mark.parametrize(
    ("sent_on", "body"),
    [
        (date(2024, 9, 1), "I'm back on 6 May 2024."),  # months before the reply was sent
        # says when they are away, not when they are back
        (SENT, "I'm out of the office Friday. For pressing matters, call the front desk."),
        (SENT, "I am out of the office today and tomorrow."),
        (SENT, "I'm back on 6 May 2026."),  # more than a year ahead
        (SENT, "I am out of the office with limited access to email."),
        (SENT, "I am out of the office from 2 May."),  # a start, no end
        (SENT, "Ich bin ab dem 2. Mai im Urlaub."),
        (SENT, "Ich bin ab morgen im Urlaub."),
        (SENT, "I am out of the office for the rest of 2024."),  # a year alone
        (SENT, "Our office hours are Monday through Friday, 9:00-17:30."),
        (SENT, "Please call +49 30 1234-5678 or 0.000.000.0000, or 555-12-05."),
        (SENT, "Thank you for your email of 3 May. I am out of the office with limited access."),
        (SENT, "I'm only sleeping."),
        # ordinary human replies (the caller would not ask, but nothing must come out)
        (
            SENT,
            "I was out of the office last week, sorry for the slow answer - let's meet Tuesday.",
        ),
        (SENT, "I'll be on vacation next month, can we talk before?"),
        (SENT, "Thanks! Let's meet on Tuesday 7 May at 10am."),
    ],
)
def test_no_return_date(sent_on: date, body: str) -> None:
    assert find_return_date("", body, sent_on) is None


def test_without_sent_on_only_complete_dates_count() -> None:
    assert find_return_date("", "I'm back on 6 May.", None) is None
    assert find_return_date("", "I'm back on Tuesday.", None) is None
    assert find_return_date("", "I'm back on 6 May 2024.", None) == date(2024, 5, 6)
    assert find_return_date("", "Out until 2024-05-03.", None) == date(2024, 5, 6)


QUOTED = {
    "original message": (
        "Thanks, noted.\n\n-----Original Message-----\nFrom: Bob Seller\n"
        "Sent: Monday, April 1, 2024 10:00 AM\nTo: Jane\nSubject: Demo\n\n"
        "I'm out of the office until 10 May."
    ),
    "outlook header block": (
        "Thanks, noted.\n\nFrom: Bob Seller <bob@example.com>\nSent: 22 April 2024 09:12\n"
        "To: Jane <jane@example.org>\nSubject: Demo\n\nI'll be back on 6 May."
    ),
    "german header block": (
        "Danke!\n\nVon: Bob Seller\nGesendet: Montag, 22. April 2024 09:12\nAn: Jane\n"
        "Betreff: Demo\n\nIch bin ab dem 6. Mai wieder im Büro."
    ),
    "on ... wrote": (
        "Thanks!\n\nOn Mon, Apr 22, 2024 at 9:12 AM Bob Seller <bob@example.com> wrote:\n"
        "> I'm back on 6 May.\n> Best, Bob"
    ),
    "on ... wrote over two lines": (
        "Thanks!\n\nOn Mon, Apr 22, 2024 at 9:12 AM Bob Seller\n<bob@example.com> wrote:\n"
        "I'm back on 6 May."
    ),
    "french a écrit": (
        "Merci !\n\nLe lun. 22 avr. 2024 à 09:12, Bob <bob@example.com> a écrit :\n"
        "Je serai de retour le 6 mai."
    ),
    "quote marks only": "Sounds good.\n> Out of office until 10 May.\n> Back on 13 May.",
}


@pytest.mark.parametrize("body", QUOTED.values(), ids=QUOTED.keys())
def test_quoted_text_is_ignored(body: str) -> None:
    assert find_return_date("", body, SENT) is None


def test_date_above_the_quote_still_counts() -> None:
    body = (
        "I am out of the office until 3 May.\n\n-----Original Message-----\n"
        "From: Bob\nSent: Monday, April 22, 2024\nSubject: Demo\n\nCan we talk on 2 May?"
    )
    assert find_return_date("", body, SENT) == date(2024, 5, 6)


def test_unquoted_keeps_what_was_written() -> None:
    body = "Line one.\n> quoted\nLine two.\n\nOn Mon, 1 Apr 2024, Bob <b@x.org> wrote:\n> old"
    assert unquoted(body) == "Line one.\nLine two.\n"


def test_multilingual_reply_states_one_date() -> None:
    body = (
        "Ich bin bis einschließlich 3. Mai nicht im Büro.\n\n"
        "I am out of the office until 3 May (inclusive)."
    )
    assert find_return_date("Abwesenheitsnotiz / Out of office", body, SENT) == date(2024, 5, 6)


def test_html_converted_body_with_times_and_phone_numbers() -> None:
    body = (
        "Dear sender,\n\nI will be out of the office until 10 May. During that time I will "
        "have intermittent access to email.\n\nSupport desk\nPhone: +0.000.000.0000 or "
        "+1-555-010-2030\nHours: 5am - 5:30pm Pacific Time"
    )
    assert find_return_date("Automatic reply: Hello", body, SENT) == date(2024, 5, 13)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2024, 5, 3), date(2024, 5, 6)),  # Friday -> Monday
        (date(2024, 5, 4), date(2024, 5, 6)),  # Saturday -> Monday
        (date(2024, 5, 6), date(2024, 5, 7)),
    ],
)
def test_next_business_day(day: date, expected: date) -> None:
    assert next_business_day(day) == expected


def test_fast_enough() -> None:
    cases = [(s, b) for s, b, _ in EXPLICIT_RETURN.values()]
    cases += [(s, b) for s, b, _, _ in UNTIL.values()]
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        for subject, body in cases:
            find_return_date(subject, body, SENT)
    per_message = (time.perf_counter() - started) / (rounds * len(cases))
    assert per_message < 0.001


def test_long_message_stays_quick() -> None:
    body = (
        "Thank you for your message. I am out of the office until 10 May 2024.\n"
        + "Lorem ipsum dolor sit amet 12.34.56 1/2/3/4 2024 10:30. " * 500
        + "\n\n-----Original Message-----\nFrom: a\nSent: b\n"
        + "> Back on 5 May\n" * 500
    )
    started = time.perf_counter()
    assert find_return_date("Automatic reply: Hello", body, SENT) == date(2024, 5, 13)
    assert time.perf_counter() - started < 0.1
