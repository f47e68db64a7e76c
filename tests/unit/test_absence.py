"""Out-of-office subjects, body phrases and "address gone" notices (cadence.replies.absence).

The fixtures are short texts written for these tests in the style of real auto-replies (Outlook,
Exchange, Gmail, Lotus Notes, Apple Mail, people's own vacation messages) and of ordinary human
replies that must not be taken for them.
"""

from __future__ import annotations

import pytest

from cadence.replies.absence import (
    absence_language,
    absence_subject,
    absence_text,
    address_gone,
)

AUTO_SUBJECTS = [
    "Automatic reply: Your demo request",
    "Automatic Reply: Re: Pricing",
    "Автоматический ответ: Вопрос о цене",
    "Автоответ: Re: Предложение",
    "AUTO: Jane Doe is out of the office (returning 12/05/2024)",
    "Auto: Jane Doe is out of the office",
    "Auto reply: Nyaan",
    "Autoreply: Hello",
    "[Auto-Reply] Hello",
    "Auto Response: Pricing",
    "Out of Office: Pricing",
    "Out of the office until 6 May",
    "Out of Office AutoReply: Pricing",
    "[Out of Office] Pricing",
    "OOO: back Monday",
    "OOF: Pricing",
    "Away until May 5",
    "I am away until Monday",
    "I'm on vacation",
    "I am out of the office",
    "Vacation reply",
    "Thank you for your email.",
    "Yahoo! Auto Response",
    "Abwesend: Ihr Angebot",
    "Abwesend bis 6. Mai",
    "Abwesenheitsnotiz: Ihr Angebot",
    "Automatische Antwort: Angebot",
    "Automatisch antwoord: Offerte",
    "Afwezig: offerte",
    "Réponse automatique : votre offre",
    "Absence du bureau",
    "Absence : M. Dupont",
    "Respuesta automática: oferta",
    "Fuera de la oficina: oferta",
    "Risposta automatica: offerta",
    "Fuori sede: offerta",
    "Risposta Non al computer: offerta",
    "Resposta automática: proposta",
    "Ausente: proposta",
    "Fora do escritório: proposta",
    "Automatyczna odpowiedź: oferta",
    "[Automatyczna odpowiedź] oferta",
    "Poza biurem: oferta",
    "Autosvar: offert",
    "Automatiskt svar: offert",
    "Frånvaro: offert",
    "Automatisk svar: tilbud",
    "Fravær: tilbud",
    "Ikke til stede: tilbud",
    "自动回复: 您好",
    "自動回覆：您好",
    "自動応答: お世話になっております",
    "【自動返信】お問い合わせありがとうございます",
    "不在のお知らせ",
    "休暇のお知らせ",
    "Ārpus biroja atrašanās automātiskā atbilde: Pricing",
    # a reply prefix followed by an explicit marker
    "Re: Automatic reply: Pricing",
    "AW: Automatische Antwort: Angebot",
    "SV: Autosvar: offert",
    "回复: 自动回复: 您好",
]

HUMAN_SUBJECTS = [
    "Re: Out of office policy question",
    "Out of office policy question",
    "Re: Your proposal",
    "AW: Angebot",
    "SV: Offert",
    "回复: 您好",
    "Re: Thank you for your email",
    "Re: Auto: insurance quote",
    "Re: I'm away next week",
    "Fwd: Out of Office: Pricing",
    "Absence management software demo",
    "Auto parts quote",
    "Vacation planning for the team",
    "休暇について",
    "Quick question about pricing",
    "",
]


@pytest.mark.parametrize("subject", AUTO_SUBJECTS)
def test_auto_reply_subjects(subject: str) -> None:
    assert absence_subject(subject)


@pytest.mark.parametrize("subject", HUMAN_SUBJECTS)
def test_human_subjects(subject: str) -> None:
    assert not absence_subject(subject)


# (language, body)
ABSENT_BODIES = [
    ("en", "Thank you for your email. I am out of the office until Friday."),
    ("en", "Hi,\nI'm currently away with limited access to email.\nThanks, Tom"),
    ("en", "I am on annual leave and will respond on my return."),
    ("en", "I'm on maternity leave until March. Please contact Ann Lee instead."),
    ("en", "I am on parental leave."),
    ("en", "This is an automatic reply. Your message has been received."),
    ("en", "I will respond to your message when I return."),
    ("en", "I will be out of the office from 6 May, returning on 13 May."),
    ("en", "During my absence please contact support@example.com."),
    ("en", "I am currently travelling and will have intermittent\naccess to my email."),
    ("de", "Vielen Dank für Ihre Nachricht. Ich bin derzeit nicht im Büro."),
    ("de", "Ich bin bis zum 5. Mai nicht im Büro und habe keinen Zugriff auf meine E-Mails."),
    ("de", "Sehr geehrte Damen und Herren,\nich bin im Urlaub."),
    ("de", "Ich bin bis einschließlich 10. Mai abwesend."),
    ("de", "Bis zum 10. Mai bin ich in Elternzeit."),
    ("de", "Dies ist eine automatische Antwort."),
    ("nl", "Bedankt voor uw bericht. Ik ben afwezig tot en met 10 mei."),
    ("nl", "Ik ben met vakantie en lees mijn e-mail niet."),
    ("nl", "Tijdens mijn afwezigheid kunt u contact opnemen met mijn collega."),
    ("fr", "Bonjour, je suis absente jusqu'au 10 mai."),
    ("fr", "Je suis actuellement en congés. Je traiterai votre message à mon retour."),
    ("fr", "Ceci est une réponse automatique."),
    ("es", "Gracias por su correo. Estoy fuera de la oficina hasta el lunes."),
    ("es", "Estoy de vacaciones y responderé a mi regreso."),
    ("es", "Este es un mensaje automático."),
    ("it", "Grazie per la sua email. Sono fuori ufficio fino al 10 maggio."),
    ("it", "Sono in ferie, risponderò al mio rientro."),
    ("pt", "Obrigado pelo seu email. Estou ausente até 10 de maio."),
    ("pt", "Olá! Estou de férias e responderei no meu regresso."),
    ("pl", "Dziękuję za wiadomość. Jestem poza biurem do 10 maja."),
    ("pl", "Jestem na urlopie. Odpowiem po powrocie."),
    ("sv", "Tack för ditt mejl. Jag är på semester till och med 10 maj."),
    ("sv", "Hej! Jag är ledig och läser inte min e-post."),
    ("sv", "Jag är tjänstledig under våren."),
    ("da", "Tak for din mail. Jeg holder ferie til og med 10. maj."),
    ("da", "Jeg har ferie og har begrænset adgang til min e-mail."),
    ("da", "Jeg er fraværende."),
    ("no", "Takk for e-posten din. Jeg avvikler ferie frem til 10. mai."),
    ("no", "Jeg er ute av kontoret, med begrenset tilgang til e-post."),
    ("zh", "您好，我正在休假，将于5月13日返回办公室。"),
    ("zh", "我目前不在办公室，无法及时回复您的邮件。"),
    ("zh", "这是一封自动回复邮件。"),
    ("ja", "お世話になっております。5月10日まで不在にしております。"),
    ("ja", "出張中のため、戻り次第ご連絡いたします。"),
    ("ja", "ただいま休暇中です。"),
    ("ru", "Здравствуйте! Я в отпуске до 1 августа, отвечу после возвращения."),
    ("ru", "Меня нет в офисе. Это сообщение создано автоматически."),
]

HUMAN_BODIES = [
    "I was out of the office last week, sorry for the slow answer — yes, let's meet Tuesday.",
    "I'll be on vacation next month, can we talk before?",
    "I'm on vacation next week, could we do Monday instead?",
    "Thanks, that works. Let's meet on Tuesday at 10.",
    "Sounds good — please send the contract and I'll sign it.",
    "We were away at a trade show, hence the delay. The pricing looks fine.",
    "Ich war letzte Woche im Urlaub, daher erst jetzt meine Antwort.",
    "Ich bin nächste Woche im Urlaub, können wir vorher telefonieren?",
    "Ik was vorige week met vakantie, sorry voor de late reactie.",
    "J'étais en congés la semaine dernière. Votre offre m'intéresse.",
    "Estuve de vacaciones la semana pasada, perdón por la demora.",
    "Ero in ferie la settimana scorsa, scusate il ritardo.",
    "Estive de férias na semana passada, desculpe a demora.",
    "Byłem na urlopie w zeszłym tygodniu, przepraszam za opóźnienie.",
    "Jag var på semester förra veckan, ursäkta det sena svaret.",
    "Jeg var på ferie sidste uge, undskyld det sene svar.",
    "Jeg var på ferie forrige uke. Tilbudet ser bra ut.",
    "我上周在休假，抱歉回复晚了。",
    "先週は出張中で返信が遅くなりました。",
    "Я был в отпуске на прошлой неделе, извините за задержку.",
    "Our office is open Monday to Friday.",
    "",
]


@pytest.mark.parametrize(("language", "body"), ABSENT_BODIES)
def test_absence_text(language: str, body: str) -> None:
    assert absence_text(body)
    assert absence_language(body) == language


@pytest.mark.parametrize("body", HUMAN_BODIES)
def test_human_text_is_not_an_absence(body: str) -> None:
    assert not absence_text(body)
    assert absence_language(body) is None


def test_absence_in_a_longer_reply_with_a_signature() -> None:
    body = (
        "Dear sender,\n\n"
        "Thank you for your message. I am currently out of the office on a business trip\n"
        "and will be back on Monday, 13 May. If your enquiry is urgent, please contact\n"
        "my colleague Maria (maria@example.com, +44 20 0000 0000).\n\n"
        "Kind regards\nJohn Smith | Head of Purchasing | Example Ltd"
    )
    assert absence_text(body)
    assert not address_gone(body)


GONE = [
    "This email address is no longer in use. Please write to jane@example.com instead.",
    "Please note that this mailbox is no longer monitored.",
    "I have left the company. Please contact sales@example.com.",
    "I am no longer with Example Ltd. For all enquiries please email info@example.com.",
    "Jane is no longer with the company; please send your email to bob@example.com instead.",
    "zukünftig\nkarl@example.de",
    "Bitte schreiben Sie zukünftig an max.muster@example.de.",
    "Ich bin nicht mehr im Unternehmen tätig.",
    "Diese E-Mail-Adresse ist nicht mehr aktiv.",
    "Ich bin unter dieser Adresse nicht mehr erreichbar.",
    "Dit e-mailadres is niet meer in gebruik.",
    "Ik ben niet meer werkzaam bij Voorbeeld B.V.",
    "Cette adresse e-mail n'est plus valide. Merci d'écrire à contact@example.fr.",
    "Je ne fais plus partie de la société.",
    "Esta dirección de correo ya no está en uso.",
    "Ya no trabajo en la empresa.",
    "Questo indirizzo e-mail non è più attivo.",
    "Non lavoro più in questa azienda.",
    "Este endereço de e-mail não está mais em uso.",
    "Já não trabalho na empresa.",
    "Ten adres e-mail nie jest już aktywny.",
    "Nie pracuję już w firmie.",
    "Denna e-postadress används inte längre.",
    "Jag har slutat på företaget.",
    "Denne e-mailadresse er ikke længere i brug.",
    "Jeg arbejder ikke længere hos Eksempel A/S.",
    "Denne e-postadressen brukes ikke lenger.",
    "Jeg har sluttet i selskapet.",
    "此邮箱已停用，请发送邮件至 info@example.cn。",
    "我已离职，请联系我的同事。",
    "このメールアドレスは現在使用しておりません。",
    "一身上の都合により退職いたしました。",
]

NOT_GONE = [
    "I am out of the office until Monday.",
    "Ich bin heute nicht mehr erreichbar, ab morgen wieder.",
    "Ab 15 Uhr bin ich nicht mehr erreichbar.",
    "Please contact me at my mobile.",
    "I left you a voicemail yesterday.",
    "Zukünftig werden wir die Preise quartalsweise anpassen.",
    "Thanks, we will keep using the current address.",
    "Ik ben met vakantie.",
    "",
]


@pytest.mark.parametrize("body", GONE)
def test_address_gone(body: str) -> None:
    assert address_gone(body)


@pytest.mark.parametrize("body", NOT_GONE)
def test_address_not_gone(body: str) -> None:
    assert not address_gone(body)
