"""What the bot says when it is not quoting the knowledge base (fixed, reviewed texts).

Handoff and after-hours notices, the offer of a person and the refusal to discuss another
person's account exist per language (``TEXTS``: en, de, fr, es, it, nl, pt, pl). For any other
language the English text is used and says so honestly ("I can only write in English"), so a
customer is never told in English that "of course" they will be helped in their language.
Day names come from CLDR (babel).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel.core import UnknownLocaleError
from babel.dates import format_datetime

from core.types import HandoffReason

ABSTAIN = "I couldn't find an answer to that in our help center. Would you like me to connect you with a person?"
GREET = "Hi! I'm the {bot}. How can I help you today?"
THANKS = "You're welcome! Is there anything else I can help with?"
GOODBYE = "Thanks for chatting with us. Goodbye!"
DENY = "OK. Is there anything else I can help with?"
SIGN_IN = "To look at your orders I need you to be signed in; here is what our help center says: "
WELCOME_BACK = "I'm back to help. "


@dataclass(frozen=True)
class Texts:
    """One language's fixed texts. ``handoff`` is keyed by reason value; ``handoff_default``
    serves a reason without its own text (a tenant's own sensitive topic, for one)."""

    handoff: dict[str, str]
    handoff_default: str
    see_all: str
    after_hours: str  # {when} {ticket}
    after_hours_queued: str  # {when}: no ticket; the conversation waits in the queue
    back_at: str  # {day} {time} {tz}
    offer: str
    other_person: str
    guidance: str  # {titles}
    english_only: str = ""  # said in English when the customer's language has no texts


_EN = Texts(
    handoff={
        "explicit_request": "Of course. I'm connecting you with a member of our team now.",
        "no_answer": "I'm sorry I couldn't find this. I'm connecting you with a member of our team.",
        "frustration": "I'm sorry this has been frustrating. I'm bringing in a member of our team right away.",
        "repetition": "I'm sorry I haven't been able to answer that. A member of our team will take over.",
        "repeated_failure": (
            "I'm sorry those steps haven't fixed it. I'm passing this to a member of our team, who can look into it."
        ),
        "sensitive_topic": "This needs a person. I'm connecting you with a member of our team now.",
        "sensitive_fraud": (
            "I'm sorry this has happened. If you've shared card or bank details, please call your bank straight "
            "away. I'm connecting you with a member of our team who deals with account security."
        ),
        "sensitive_legal": "I understand. I'm passing this to a member of our team who will pick it up with you.",
        "sensitive_bereavement": (
            "I'm so sorry for your loss. I'm connecting you with a member of our team who can help with this."
        ),
        "cancellation": "I'm connecting you with a member of our team who can take care of this for you.",
        "unsupported_language": (
            "I'm sorry, I can only help in English. I'm connecting you with a colleague who can help in your language."
        ),
        "action_failed": "Something went wrong on our side. I'm connecting you with a member of our team.",
    },
    handoff_default="This needs a person. I'm connecting you with a member of our team now.",
    see_all=" They'll see everything we've discussed, so you won't need to repeat yourself.",
    after_hours=(
        "Our team is offline right now.{when} I've opened ticket {ticket} with everything you've told me. "
        "Would you like a call back or an e-mail? Just reply with your preference and a colleague will get back to you."
    ),
    after_hours_queued=(
        "Our team is offline right now.{when} I've passed your conversation to them with everything you've told "
        "me, and the first colleague in will pick it up here. You don't need to stay online."
    ),
    back_at=" We're back {day} at {time} ({tz}).",
    offer=" If you'd like to talk it through with a member of our team, just say so and I'll connect you.",
    other_person=(
        "I'm sorry, I can't share or confirm anything about another person's account, not even whether they "
        "have one with us. I can only help with the account of the person who is signed in. If they need help, "
        "they can contact us themselves."
    ),
    guidance=" These help-centre pages may be useful: {titles}.",
    english_only="(I'm sorry, I can only write in English.) ",
)

_DE = Texts(
    handoff={
        "explicit_request": (
            "Natürlich. Ich verbinde Sie jetzt mit einer Kollegin oder einem Kollegen aus unserem Team."
        ),
        "no_answer": "Leider habe ich dazu nichts gefunden. Ich verbinde Sie mit unserem Team.",
        "frustration": "Es tut mir leid, dass das so ärgerlich war. Ich hole sofort jemanden aus unserem Team dazu.",
        "repetition": "Es tut mir leid, dass ich das nicht beantworten konnte. Unser Team übernimmt jetzt.",
        "repeated_failure": (
            "Es tut mir leid, dass die Schritte nicht geholfen haben. Ich gebe das an unser Team weiter, "
            "das sich darum kümmert."
        ),
        "sensitive_topic": "Darum sollte sich ein Mensch kümmern. Ich verbinde Sie jetzt mit unserem Team.",
        "sensitive_fraud": (
            "Es tut mir leid, dass Ihnen das passiert ist. Wenn Sie Karten- oder Bankdaten weitergegeben haben, "
            "rufen Sie bitte sofort Ihre Bank an. Ich verbinde Sie mit unserem Team für Kontosicherheit."
        ),
        "sensitive_legal": "Ich verstehe. Ich gebe das an unser Team weiter, das sich bei Ihnen meldet.",
        "sensitive_bereavement": "Mein herzliches Beileid. Ich verbinde Sie mit unserem Team, das Ihnen dabei hilft.",
        "cancellation": "Ich verbinde Sie mit unserem Team, das sich darum kümmert.",
        "unsupported_language": (
            "Es tut mir leid, ich kann nur auf Englisch helfen. Ich verbinde Sie mit einer Kollegin oder einem "
            "Kollegen, der Ihnen in Ihrer Sprache hilft."
        ),
        "action_failed": "Bei uns ist etwas schiefgelaufen. Ich verbinde Sie mit unserem Team.",
    },
    handoff_default="Darum sollte sich ein Mensch kümmern. Ich verbinde Sie jetzt mit unserem Team.",
    see_all=" Das Team sieht unser ganzes Gespräch, Sie müssen nichts wiederholen.",
    after_hours=(
        "Unser Team ist gerade nicht erreichbar.{when} Ich habe das Ticket {ticket} mit allen Ihren Angaben "
        "angelegt. Möchten Sie einen Rückruf oder eine E-Mail? Antworten Sie einfach, was Ihnen lieber ist."
    ),
    after_hours_queued=(
        "Unser Team ist gerade nicht erreichbar.{when} Ich habe Ihr Gespräch mit allen Ihren Angaben weitergegeben; "
        "die erste Kollegin oder der erste Kollege übernimmt es hier. Sie müssen nicht online bleiben."
    ),
    back_at=" Wir sind am {day} um {time} Uhr ({tz}) wieder da.",
    offer=" Wenn Sie das lieber mit jemandem aus unserem Team besprechen möchten, sagen Sie es einfach.",
    other_person=(
        "Es tut mir leid, ich kann nichts über das Konto einer anderen Person sagen oder bestätigen, auch nicht, "
        "ob sie Kundin oder Kunde bei uns ist. Ich helfe nur beim Konto der angemeldeten Person. Die Person kann "
        "sich selbst an uns wenden."
    ),
    guidance=" Diese Hilfeseiten können nützlich sein: {titles}.",
)

_FR = Texts(
    handoff={
        "explicit_request": "Bien sûr. Je vous mets en relation avec un membre de notre équipe.",
        "no_answer": "Désolé, je n'ai rien trouvé à ce sujet. Je vous mets en relation avec notre équipe.",
        "frustration": "Je suis désolé pour ce désagrément. Un membre de notre équipe prend le relais tout de suite.",
        "repetition": "Désolé de ne pas avoir pu répondre. Un membre de notre équipe va prendre le relais.",
        "repeated_failure": (
            "Désolé, ces étapes n'ont pas résolu le problème. Je transmets votre demande à un membre de notre "
            "équipe, qui va s'en occuper."
        ),
        "sensitive_topic": "Cela nécessite une personne. Je vous mets en relation avec notre équipe.",
        "sensitive_fraud": (
            "Je suis désolé que cela vous arrive. Si vous avez communiqué des données bancaires ou de carte, "
            "appelez votre banque immédiatement. Je vous mets en relation avec notre équipe sécurité."
        ),
        "sensitive_legal": (
            "Je comprends. Je transmets votre demande à un membre de notre équipe, qui reviendra vers vous."
        ),
        "sensitive_bereavement": (
            "Toutes mes condoléances. Je vous mets en relation avec un membre de notre équipe qui peut vous aider."
        ),
        "cancellation": "Je vous mets en relation avec un membre de notre équipe qui va s'en occuper.",
        "unsupported_language": (
            "Désolé, je ne peux vous aider qu'en anglais. Je vous mets en relation avec un collègue qui pourra "
            "vous aider dans votre langue."
        ),
        "action_failed": "Un problème est survenu de notre côté. Je vous mets en relation avec notre équipe.",
    },
    handoff_default="Cela nécessite une personne. Je vous mets en relation avec notre équipe.",
    see_all=" Ils verront toute notre conversation, vous n'aurez rien à répéter.",
    after_hours=(
        "Notre équipe n'est pas disponible pour le moment.{when} J'ai ouvert le ticket {ticket} avec tout ce que "
        "vous m'avez dit. Préférez-vous être rappelé ou recevoir un e-mail ? Répondez simplement et un collègue "
        "reviendra vers vous."
    ),
    after_hours_queued=(
        "Notre équipe n'est pas disponible pour le moment.{when} J'ai transmis votre conversation avec tout ce que "
        "vous m'avez dit, et le premier collègue disponible la reprendra ici. Inutile de rester en ligne."
    ),
    back_at=" Nous serons de retour {day} à {time} ({tz}).",
    offer=" Si vous préférez en parler avec un membre de notre équipe, dites-le-moi et je vous mets en relation.",
    other_person=(
        "Désolé, je ne peux rien communiquer ni confirmer sur le compte d'une autre personne, pas même si elle "
        "est cliente chez nous. Je ne peux aider que pour le compte de la personne connectée. Cette personne peut "
        "nous contacter elle-même."
    ),
    guidance=" Ces pages d'aide peuvent vous être utiles : {titles}.",
)

_ES = Texts(
    handoff={
        "explicit_request": "Por supuesto. Le pongo en contacto con un miembro de nuestro equipo.",
        "no_answer": "Lo siento, no he encontrado nada sobre esto. Le pongo en contacto con nuestro equipo.",
        "frustration": "Siento las molestias. Un miembro de nuestro equipo le atenderá enseguida.",
        "repetition": "Siento no haber podido responder. Un miembro de nuestro equipo se encargará.",
        "repeated_failure": (
            "Siento que esos pasos no lo hayan solucionado. Paso su consulta a un miembro de nuestro equipo, "
            "que se encargará."
        ),
        "sensitive_topic": "Esto necesita una persona. Le pongo en contacto con nuestro equipo.",
        "sensitive_fraud": (
            "Siento que le haya pasado esto. Si ha compartido datos de su tarjeta o de su banco, llame a su banco "
            "enseguida. Le pongo en contacto con nuestro equipo de seguridad."
        ),
        "sensitive_legal": (
            "Entiendo. Paso su consulta a un miembro de nuestro equipo, que se pondrá en contacto con usted."
        ),
        "sensitive_bereavement": (
            "Le acompaño en el sentimiento. Le pongo en contacto con nuestro equipo, que puede ayudarle."
        ),
        "cancellation": "Le pongo en contacto con un miembro de nuestro equipo que se encargará de ello.",
        "unsupported_language": (
            "Lo siento, solo puedo ayudarle en inglés. Le pongo en contacto con un compañero que puede ayudarle en "
            "su idioma."
        ),
        "action_failed": "Algo ha fallado por nuestra parte. Le pongo en contacto con nuestro equipo.",
    },
    handoff_default="Esto necesita una persona. Le pongo en contacto con nuestro equipo.",
    see_all=" Verán toda nuestra conversación, así que no tendrá que repetir nada.",
    after_hours=(
        "Nuestro equipo no está disponible ahora mismo.{when} He abierto el ticket {ticket} con todo lo que me ha "
        "contado. ¿Prefiere que le llamemos o que le escribamos un correo? Responda y un compañero se pondrá en "
        "contacto con usted."
    ),
    after_hours_queued=(
        "Nuestro equipo no está disponible ahora mismo.{when} He pasado su conversación con todo lo que me ha "
        "contado y el primer compañero disponible la retomará aquí. No hace falta que siga conectado."
    ),
    back_at=" Volvemos el {day} a las {time} ({tz}).",
    offer=" Si prefiere hablarlo con un miembro de nuestro equipo, dígamelo y le pongo en contacto.",
    other_person=(
        "Lo siento, no puedo compartir ni confirmar nada sobre la cuenta de otra persona, ni siquiera si es "
        "cliente nuestra. Solo puedo ayudar con la cuenta de la persona que ha iniciado sesión. Esa persona puede "
        "contactarnos directamente."
    ),
    guidance=" Estas páginas de ayuda pueden serle útiles: {titles}.",
)

_IT = Texts(
    handoff={
        "explicit_request": "Certo. La metto in contatto con un membro del nostro team.",
        "no_answer": "Mi dispiace, non ho trovato nulla su questo. La metto in contatto con il nostro team.",
        "frustration": "Mi dispiace per il disagio. Un membro del nostro team interviene subito.",
        "repetition": (
            "Mi dispiace di non essere riuscito a rispondere. Un membro del nostro team prenderà il mio posto."
        ),
        "repeated_failure": (
            "Mi dispiace che questi passaggi non abbiano risolto il problema. Passo la richiesta a un membro del "
            "nostro team."
        ),
        "sensitive_topic": "Serve una persona. La metto in contatto con il nostro team.",
        "sensitive_fraud": (
            "Mi dispiace che sia successo. Se ha condiviso dati della carta o del conto, chiami subito la sua "
            "banca. La metto in contatto con il nostro team sicurezza."
        ),
        "sensitive_legal": "Capisco. Passo la richiesta a un membro del nostro team, che la ricontatterà.",
        "sensitive_bereavement": (
            "Le porgo le mie condoglianze. La metto in contatto con il nostro team, che può aiutarla."
        ),
        "cancellation": "La metto in contatto con un membro del nostro team che se ne occuperà.",
        "unsupported_language": (
            "Mi dispiace, posso aiutarla solo in inglese. La metto in contatto con un collega che può aiutarla "
            "nella sua lingua."
        ),
        "action_failed": "Qualcosa è andato storto da parte nostra. La metto in contatto con il nostro team.",
    },
    handoff_default="Serve una persona. La metto in contatto con il nostro team.",
    see_all=" Vedranno tutta la nostra conversazione, non dovrà ripetere nulla.",
    after_hours=(
        "Il nostro team al momento non è disponibile.{when} Ho aperto il ticket {ticket} con tutto quello che mi "
        "ha detto. Preferisce essere richiamato o ricevere un'e-mail? Risponda pure e un collega la ricontatterà."
    ),
    after_hours_queued=(
        "Il nostro team al momento non è disponibile.{when} Ho passato la sua conversazione con tutto quello che mi "
        "ha detto e il primo collega disponibile la riprenderà qui. Non è necessario restare online."
    ),
    back_at=" Torniamo {day} alle {time} ({tz}).",
    offer=" Se preferisce parlarne con un membro del nostro team, me lo dica e la metto in contatto.",
    other_person=(
        "Mi dispiace, non posso condividere né confermare nulla sull'account di un'altra persona, nemmeno se è "
        "nostra cliente. Posso aiutare solo con l'account della persona che ha effettuato l'accesso. Quella "
        "persona può contattarci direttamente."
    ),
    guidance=" Queste pagine di aiuto possono esserle utili: {titles}.",
)

_NL = Texts(
    handoff={
        "explicit_request": "Natuurlijk. Ik verbind u nu door met een medewerker van ons team.",
        "no_answer": "Sorry, ik heb hier niets over gevonden. Ik verbind u door met ons team.",
        "frustration": "Het spijt me dat dit zo vervelend is. Ik haal er meteen een medewerker bij.",
        "repetition": "Het spijt me dat ik dit niet kon beantwoorden. Een medewerker neemt het over.",
        "repeated_failure": (
            "Het spijt me dat deze stappen niet hebben geholpen. Ik geef dit door aan een medewerker van ons team."
        ),
        "sensitive_topic": "Hier is een mens voor nodig. Ik verbind u door met ons team.",
        "sensitive_fraud": (
            "Vervelend dat dit is gebeurd. Heeft u kaart- of bankgegevens gedeeld, bel dan meteen uw bank. "
            "Ik verbind u door met ons team voor accountbeveiliging."
        ),
        "sensitive_legal": "Ik begrijp het. Ik geef dit door aan een medewerker, die contact met u opneemt.",
        "sensitive_bereavement": "Gecondoleerd met uw verlies. Ik verbind u door met een medewerker die u kan helpen.",
        "cancellation": "Ik verbind u door met een medewerker die dit voor u regelt.",
        "unsupported_language": (
            "Sorry, ik kan alleen in het Engels helpen. Ik verbind u door met een collega die u in uw taal kan helpen."
        ),
        "action_failed": "Er ging bij ons iets mis. Ik verbind u door met ons team.",
    },
    handoff_default="Hier is een mens voor nodig. Ik verbind u door met ons team.",
    see_all=" Zij zien ons hele gesprek, dus u hoeft niets te herhalen.",
    after_hours=(
        "Ons team is nu niet bereikbaar.{when} Ik heb ticket {ticket} aangemaakt met alles wat u mij heeft verteld. "
        "Wilt u teruggebeld worden of een e-mail ontvangen? Laat het weten, dan neemt een collega contact met u op."
    ),
    after_hours_queued=(
        "Ons team is nu niet bereikbaar.{when} Ik heb uw gesprek doorgegeven met alles wat u mij heeft verteld; "
        "de eerste collega die begint, pakt het hier op. U hoeft niet online te blijven."
    ),
    back_at=" We zijn er weer op {day} om {time} ({tz}).",
    offer=" Wilt u dit liever met een medewerker bespreken? Zeg het gerust, dan verbind ik u door.",
    other_person=(
        "Sorry, ik kan niets delen of bevestigen over het account van iemand anders, ook niet of diegene klant "
        "bij ons is. Ik help alleen met het account van de persoon die is ingelogd. Die persoon kan zelf contact "
        "met ons opnemen."
    ),
    guidance=" Deze hulppagina's kunnen nuttig zijn: {titles}.",
)

_PT = Texts(
    handoff={
        "explicit_request": "Claro. Vou ligá-lo a um membro da nossa equipa.",
        "no_answer": "Lamento, não encontrei nada sobre isto. Vou ligá-lo à nossa equipa.",
        "frustration": "Lamento o incómodo. Um membro da nossa equipa vai ajudá-lo de imediato.",
        "repetition": "Lamento não ter conseguido responder. Um membro da nossa equipa vai continuar.",
        "repeated_failure": (
            "Lamento que esses passos não tenham resolvido. Vou passar o seu pedido a um membro da nossa equipa."
        ),
        "sensitive_topic": "Isto precisa de uma pessoa. Vou ligá-lo à nossa equipa.",
        "sensitive_fraud": (
            "Lamento que isto tenha acontecido. Se partilhou dados do cartão ou do banco, ligue já ao seu banco. "
            "Vou ligá-lo à nossa equipa de segurança."
        ),
        "sensitive_legal": "Compreendo. Vou passar o seu pedido a um membro da nossa equipa, que entrará em contacto.",
        "sensitive_bereavement": "Os meus sentimentos. Vou ligá-lo a um membro da nossa equipa que o pode ajudar.",
        "cancellation": "Vou ligá-lo a um membro da nossa equipa que vai tratar disto.",
        "unsupported_language": (
            "Lamento, só consigo ajudar em inglês. Vou ligá-lo a um colega que o pode ajudar na sua língua."
        ),
        "action_failed": "Algo correu mal do nosso lado. Vou ligá-lo à nossa equipa.",
    },
    handoff_default="Isto precisa de uma pessoa. Vou ligá-lo à nossa equipa.",
    see_all=" Vão ver toda a nossa conversa, não precisa de repetir nada.",
    after_hours=(
        "A nossa equipa não está disponível neste momento.{when} Abri o pedido {ticket} com tudo o que me disse. "
        "Prefere que lhe liguemos ou que enviemos um e-mail? Responda e um colega entrará em contacto."
    ),
    after_hours_queued=(
        "A nossa equipa não está disponível neste momento.{when} Passei a sua conversa com tudo o que me disse e o "
        "primeiro colega disponível vai retomá-la aqui. Não precisa de ficar online."
    ),
    back_at=" Voltamos {day} às {time} ({tz}).",
    offer=" Se preferir falar com um membro da nossa equipa, diga-me e eu faço a ligação.",
    other_person=(
        "Lamento, não posso partilhar nem confirmar nada sobre a conta de outra pessoa, nem sequer se é nossa "
        "cliente. Só posso ajudar com a conta da pessoa com sessão iniciada. Essa pessoa pode contactar-nos "
        "diretamente."
    ),
    guidance=" Estas páginas de ajuda podem ser úteis: {titles}.",
)

_PL = Texts(
    handoff={
        "explicit_request": "Oczywiście. Łączę z członkiem naszego zespołu.",
        "no_answer": "Przepraszam, nic o tym nie znalazłem. Łączę z naszym zespołem.",
        "frustration": "Przepraszam za kłopot. Od razu włączam do rozmowy członka naszego zespołu.",
        "repetition": "Przepraszam, że nie udało mi się odpowiedzieć. Sprawę przejmie nasz zespół.",
        "repeated_failure": "Przykro mi, że te kroki nie pomogły. Przekazuję sprawę członkowi naszego zespołu.",
        "sensitive_topic": "Tym powinien zająć się człowiek. Łączę z naszym zespołem.",
        "sensitive_fraud": (
            "Przykro mi, że tak się stało. Jeśli podali Państwo dane karty lub konta, proszę od razu zadzwonić do "
            "banku. Łączę z naszym zespołem ds. bezpieczeństwa."
        ),
        "sensitive_legal": "Rozumiem. Przekazuję sprawę członkowi naszego zespołu, który się z Państwem skontaktuje.",
        "sensitive_bereavement": "Bardzo mi przykro z powodu Państwa straty. Łączę z zespołem, który pomoże.",
        "cancellation": "Łączę z członkiem naszego zespołu, który się tym zajmie.",
        "unsupported_language": (
            "Przepraszam, mogę pomóc tylko po angielsku. Łączę z osobą, która pomoże w Państwa języku."
        ),
        "action_failed": "Coś poszło nie tak po naszej stronie. Łączę z naszym zespołem.",
    },
    handoff_default="Tym powinien zająć się człowiek. Łączę z naszym zespołem.",
    see_all=" Zespół zobaczy całą naszą rozmowę, nie trzeba niczego powtarzać.",
    after_hours=(
        "Nasz zespół jest teraz niedostępny.{when} Otworzyłem zgłoszenie {ticket} ze wszystkimi informacjami. "
        "Woleliby Państwo telefon czy e-mail? Proszę odpowiedzieć, a ktoś z zespołu się odezwie."
    ),
    after_hours_queued=(
        "Nasz zespół jest teraz niedostępny.{when} Przekazałem rozmowę ze wszystkimi informacjami; pierwsza "
        "dostępna osoba z zespołu odpowie tutaj. Nie trzeba czekać online."
    ),
    back_at=" Wracamy: {day}, {time} ({tz}).",
    offer=" Jeśli wolą Państwo porozmawiać z członkiem naszego zespołu, proszę dać znać.",
    other_person=(
        "Przepraszam, nie mogę udostępnić ani potwierdzić żadnych informacji o koncie innej osoby, nawet tego, "
        "czy jest naszym klientem. Mogę pomóc tylko w sprawie konta zalogowanej osoby. Ta osoba może "
        "skontaktować się z nami sama."
    ),
    guidance=" Te strony pomocy mogą się przydać: {titles}.",
)

TEXTS: dict[str, Texts] = {"en": _EN, "de": _DE, "fr": _FR, "es": _ES, "it": _IT, "nl": _NL, "pt": _PT, "pl": _PL}


def texts_for(language: str) -> tuple[Texts, bool]:
    """The texts for ``language`` (ISO 639-1; "pt-br" falls back to "pt") and whether they are
    in that language (False: English, for a language without texts)."""
    code = (language or "en").lower()
    found = TEXTS.get(code) or TEXTS.get(code.split("-")[0])
    return (found, True) if found is not None else (_EN, code.split("-")[0] == "en")


def _honest(texts: Texts, native: bool, text: str) -> str:
    return text if native else texts.english_only + text


def handoff_message(reason: HandoffReason, language: str = "en", *, see_all: bool = True) -> str:
    """The notice for a handoff, in the customer's language when we have it."""
    texts, native = texts_for(language)
    if reason is HandoffReason.unsupported_language:
        native = True  # the English text itself says the bot only writes English
    body = texts.handoff.get(reason.value, texts.handoff_default)
    return _honest(texts, native, body + (texts.see_all if see_all else ""))


def _when(opens: datetime, language: str, texts: Texts) -> str:
    code = language.split("-")[0] if texts is not _EN else "en"
    try:
        day = format_datetime(opens, "EEEE", locale=code)
    except (UnknownLocaleError, ValueError):
        day = opens.strftime("%A")
    return texts.back_at.format(day=day, time=opens.strftime("%H:%M"), tz=opens.tzname() or "")


def after_hours(ticket_id: str, opens: datetime | None, language: str = "en") -> str:
    """Outside business hours: the ticket, when the team is back and the call-back offer."""
    texts, native = texts_for(language)
    when = _when(opens, language, texts) if opens else ""
    return _honest(texts, native, texts.after_hours.format(when=when, ticket=ticket_id))


def after_hours_queued(opens: datetime | None, language: str = "en") -> str:
    """Outside business hours, for a tenant that only queues (``after_hours_action: queue_only``):
    when the team is back, and that the conversation waits for them (no ticket)."""
    texts, native = texts_for(language)
    when = _when(opens, language, texts) if opens else ""
    return _honest(texts, native, texts.after_hours_queued.format(when=when))


def offer_person(language: str = "en") -> str:
    """Appended to an answer when the tenant wants a person offered (``answer_then_offer_handoff``)."""
    texts, _native = texts_for(language)
    return texts.offer


def other_person(language: str = "en", titles: list[str] | None = None) -> str:
    """The refusal to discuss another person's account, with public help pages when there are some."""
    texts, native = texts_for(language)
    text = texts.other_person
    if titles:
        text += texts.guidance.format(titles="; ".join(titles))
    return _honest(texts, native, text)


# The English texts under their former names.
HANDOFF: dict[HandoffReason, str] = {HandoffReason(k): v for k, v in _EN.handoff.items()}
SEE_ALL = _EN.see_all

__all__ = [
    "ABSTAIN",
    "DENY",
    "GOODBYE",
    "GREET",
    "HANDOFF",
    "SEE_ALL",
    "SIGN_IN",
    "TEXTS",
    "THANKS",
    "WELCOME_BACK",
    "Texts",
    "after_hours",
    "after_hours_queued",
    "handoff_message",
    "offer_person",
    "other_person",
    "texts_for",
]
