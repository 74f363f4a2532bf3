"""Messages that are not questions: greetings, thanks, "ok", emoji, a bare link, "who are you?".

The bot must not search the documents for "Спасибо!" or "🤔" and answer "nothing found"; it should reply
the way a person would. This module only tells what kind of small talk a message is (an enum); the reply
texts live in bot/. A real question that merely opens with a greeting ("Привет! Сколько парков в Калужской
области?") is not small talk: `classify` returns None and `strip_greeting` removes the greeting so that
only the question is searched.

A message is small talk when it consists entirely of known phrases (greetings, thanks, acknowledgements,
farewells, questions about the bot), politeness fillers, punctuation and emoji. Everything is regex over
normalised text: fast, predictable, Russian and English, no model.
"""

from __future__ import annotations

import re
import unicodedata
from enum import Enum

__all__ = ["SmallTalk", "classify", "message_language", "strip_greeting"]


class SmallTalk(str, Enum):
    """What a message that is not a question is. Values are stable names for logs."""

    GREETING = "greeting"  # "Привет", "Hello", "Добрый день"
    THANKS = "thanks"  # "Спасибо", "Thank you", "🙏"
    ACK = "ack"  # "ok", "понятно", "ясно", "хорошо", "👍", "да"
    FAREWELL = "farewell"  # "Пока", "До свидания", "Bye"
    HOW_ARE_YOU = "how_are_you"  # "Как дела?", "How are you?"
    WHO_ARE_YOU = "who_are_you"  # "Кто ты?", "Are you a bot?", "Как тебя зовут?"
    WHAT_CAN_YOU_DO = "what_can_you_do"  # "Что ты умеешь?", "How can you help?", "help"
    COMPLIMENT = "compliment"  # "Молодец", "Good bot"
    COMPLAINT = "complaint"  # "Не то", "Wrong", "Бесполезно": about the last answer, not a question
    CHITCHAT = "chitchat"  # off-topic chit-chat: "Расскажи анекдот", "What's the weather?"
    PUNCTUATION_ONLY = "punctuation_only"  # "?", "...", "!!", "" (nothing to search)
    EMOJI_ONLY = "emoji_only"  # "🤔🏭💰"
    LINK_ONLY = "link_only"  # "https://example.com/doc.pdf": a link, not a question


# When one message holds several kinds ("Привет, кто ты?", "Ок, спасибо, пока"), the first in this order wins:
# a question about the bot needs an answer more than a greeting needs one back.
_PRIORITY = (
    SmallTalk.WHAT_CAN_YOU_DO,
    SmallTalk.WHO_ARE_YOU,
    SmallTalk.COMPLAINT,
    SmallTalk.CHITCHAT,
    SmallTalk.HOW_ARE_YOU,
    SmallTalk.FAREWELL,
    SmallTalk.THANKS,
    SmallTalk.COMPLIMENT,
    SmallTalk.GREETING,
    SmallTalk.ACK,
)

# Phrases, written in normalised form (lower case, "е" for "ё"). A space stands for any run of spaces and
# commas; "'" for an optional apostrophe. Alternatives with (a|b) and optional parts with (...)? are regex.
_GREETING = r"""
    привет(ик|ствую|ствуем)? | здравствуй(те)? | здрасте | здрасьте
    | добр(ый|ое|ого) (день|утро|вечер|дня|утра|вечера|ночи)
    | доброго времени суток | доброго | хай | салют | приветствую вас | всем привет | алло | ку
    | hello | hi | hey | hiya | howdy | greetings | good (morning|afternoon|evening|day) | morning | yo
"""
_THANKS = r"""
    (большое |огромное )?спасибо( (большое|огромное|вам|тебе))*( за (ответ|ответы|помощь|информацию|подсказку))?
    | благодар(ю|им)( вас| тебя)?( за (ответ|ответы|помощь|информацию))? | спс | пасиб[оа]? | мерси
    | (thank you|thanks|thank u|thx|ty|tnx|many thanks|cheers)( (so|very) much| a lot| again)?( for( the| your)? _FOR)?
    | much appreciated
    | (i )?appreciate (it|that|your help)
"""
_THANKS = _THANKS.replace("_FOR", "(answer|answers|help|info|information|reply)")
_ACK = r"""
    ок(ей)? | окей | ладно | хорошо | понятно | ясно | понял(а)? | поняла | принято | ага | угу | да | нет | отлично
    | супер | класс | норм | ну ладно | ясненько | понятненько | все понятно | все ясно | хорошо понятно
    | извините | прошу прощения | ничего
    | ok(ay)? | okey | k | kk | fine | got it | i see | understood | alright | all right | sure | yes | yeah | yep
    | no | nope | great | cool | nice | perfect | good | noted | sorry | clear
"""
_FAREWELL = r"""
    пока | до свидания | до встречи | до завтра | всего (доброго|хорошего) | хорошего (дня|вечера)
    | спокойной ночи | удачи | счастливо | bye( bye)? | goodbye | good bye | see (you|ya)( later| soon)?
    | take care | have a (nice|good|great) (day|evening|one) | good night
"""
_HOW_ARE_YOU = r"""
    как (у (тебя|вас) )?(дела|делишки|жизнь|настроение|поживаешь|поживаете|ты|вы|сам|сами)
    | how (are|r) (you|u)( doing)? | how's it going | how is it going | how do you do | what's up | sup | wassup
"""
_WHO_ARE_YOU = r"""
    кто (ты|вы)( такой| такая| такие)? | (ты|вы) кто( такой| такая)? | (ты|вы) (бот|робот|человек|живой|живая|нейросеть)
    | как (тебя|вас) зовут | представь(ся|тесь) | с кем я (говорю|разговариваю|общаюсь)
    | who (are|r) (you|u) | what are you | are you (a |an )?(bot|robot|human|person|real|ai|machine)
    | what's your name | what is your name | who am i (talking|speaking) (to|with) | introduce yourself
"""
_WHAT_CAN_YOU_DO = r"""
    что (ты|вы) (умеешь|умеете|можешь|можете|знаешь|знаете) | чем (ты |вы )?(можешь|можете|сможешь|сможете) помочь
    | что (тебя|вас) можно спросить | о чем (тебя|вас) можно спросить | что (у тебя|у вас) можно спросить
    | как (тобой|вами|этим) пользоваться | что (ты|вы) (такое )?делаешь | для чего (ты|вы) | помощь | помоги(те)?
    | справка | help( me)? | what can (you|u) do | how can you help( me| us)? | what do you (know|do)
    | what can i ask( you)? | what are you for | how do i use (you|this|this bot) | what is this bot
"""
_COMPLIMENT = r"""
    молодец | умница | (ты|вы) (молодец|умница|лучший|супер) | хороший бот | отличный бот | круто | здорово
    | good bot | nice bot | great (job|bot|work) | well done | awesome
    | (you are|you're) (great|awesome|the best|amazing)
"""
_COMPLAINT = r"""
    не то | это не то | неправильно | неверно | не так | ерунда | чушь | бред | бесполезно | не помогло | не понял
    | плохой бот | тупой бот | (ты|вы) (тупой|глупый|бесполезный)
    | wrong | that's wrong | not (it|that|helpful|what i asked) | useless | bad bot | stupid bot | nonsense
    | (that|this) (didn't|did not|doesn't|does not) help | you're wrong | that's not what i asked
"""
_CHITCHAT = r"""
    расскажи(те)? (анекдот|шутку|что нибудь( интересное| смешное)?|о себе) | пошути | анекдот | скучно
    | как (погода|там погода) | какая (сегодня )?погода | (ты|вы) меня любишь | я тебя люблю | давай поговорим
    | что нового | сколько тебе лет
    | tell (me )?(a joke|something (funny|interesting)|about yourself) | joke | i'm bored | i am bored
    | what's the weather( like)? | how is the weather | do you love me | i love you | let's (talk|chat)
    | what's new | how old are you
"""
# Words that may accompany small talk without making it a question.
_FILLER = r"""
    и | а | ну | же | вам | тебе | тоже | и вам | и тебе | вам тоже | тебе тоже | еще раз | снова | всем | пожалуйста
    | бот | ботик | робот | друг | коллеги | уважаемый | уважаемые | дорогой | дорогие | господа | ребята
    | and | you too | to you too | again | too | please | pls | bot | there | everyone | all | guys | folks | dear
    | friend | mate | sir | madam | oh | well | so | then | very | much | really
"""

_KIND_PHRASES = {
    SmallTalk.GREETING: _GREETING,
    SmallTalk.THANKS: _THANKS,
    SmallTalk.ACK: _ACK,
    SmallTalk.FAREWELL: _FAREWELL,
    SmallTalk.HOW_ARE_YOU: _HOW_ARE_YOU,
    SmallTalk.WHO_ARE_YOU: _WHO_ARE_YOU,
    SmallTalk.WHAT_CAN_YOU_DO: _WHAT_CAN_YOU_DO,
    SmallTalk.COMPLIMENT: _COMPLIMENT,
    SmallTalk.COMPLAINT: _COMPLAINT,
    SmallTalk.CHITCHAT: _CHITCHAT,
}


def _alternation(phrases: str) -> str:
    """The phrase list as one regex group: a space matches a run of spaces/commas, "'" an optional apostrophe."""
    alternatives = [a.strip().lstrip("|").strip() for a in " ".join(phrases.split()).split(" | ")]
    body = "|".join(sorted((a for a in alternatives if a), key=len, reverse=True))
    return "(?:" + body.replace("'", "['’]?").replace(" ", r"[\s,]+") + ")"


# Each kind: its phrases at the current position, ending at a word boundary.
_KIND_RE = {kind: re.compile(_alternation(p) + r"(?![^\W_])") for kind, p in _KIND_PHRASES.items()}
_FILLER_RE = re.compile(_alternation(_FILLER) + r"(?![^\W_])")

# Emoji that carry a kind by themselves.
_EMOJI_KINDS = {
    "👍": SmallTalk.ACK,
    "👌": SmallTalk.ACK,
    "✅": SmallTalk.ACK,
    "🆗": SmallTalk.ACK,
    "💯": SmallTalk.ACK,
    "🙂": SmallTalk.ACK,
    "😊": SmallTalk.ACK,
    "👏": SmallTalk.COMPLIMENT,
    "🙏": SmallTalk.THANKS,
    "👋": SmallTalk.GREETING,
    "👎": SmallTalk.COMPLAINT,
}

_URL = (
    r"(?:https?://|www\.)[^\s<>\"]+"
    r"|(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[a-z]{2,24}|рф|рус|укр|бел)(?::\d+)?(?:/[^\s<>\"]*)?"
)
_URL_RE = re.compile(_URL, re.IGNORECASE)
_LINK_ONLY_RE = re.compile(rf"\s*[<(«\"]?(?:{_URL})[>)»\"]?(?:[\s,;]+[<(«\"]?(?:{_URL})[>)»\"]?)*[\s.!?]*", re.I)
_CYRILLIC_RE = re.compile(r"[а-яё]", re.IGNORECASE)
_LATIN_RE = re.compile(r"[a-z]", re.IGNORECASE)


def _is_emoji(ch: str) -> bool:
    """Pictographs, symbols, skin tones, joiners and variation selectors: the parts of an emoji."""
    cat = unicodedata.category(ch)
    return cat in {"So", "Sk"} or ord(ch) >= 0x1F000 or ch in "\u200d\ufe0f\u20e3"


def _normalise(message: str) -> str:
    """Lower case, "е" for "ё", apostrophes kept, every other non-word character a space."""
    text = unicodedata.normalize("NFKC", message).lower().replace("ё", "е").replace("’", "'")
    text = re.sub(r"(?<=[^\W_])'(?=[^\W_])", "'", text)
    text = re.sub(r"[^\w']+|_", " ", text)
    text = re.sub(r"(?<![^\W_])'|'(?![^\W_])", " ", text)  # quotes, not apostrophes
    return " ".join(text.split())


def _kinds_of_words(text: str) -> list[SmallTalk] | None:
    """The kinds of small talk that make up the whole text, or None when some words are not small talk."""
    kinds: list[SmallTalk] = []
    pos = 0
    while pos < len(text):
        if text[pos] == " ":
            pos += 1
            continue
        best_end, best_kind = -1, None
        for kind, pattern in _KIND_RE.items():
            match = pattern.match(text, pos)
            if match and match.end() > best_end:
                best_end, best_kind = match.end(), kind
        filler = _FILLER_RE.match(text, pos)
        if filler and filler.end() > best_end:
            best_end, best_kind = filler.end(), None
        if best_end <= pos:
            return None
        if best_kind is not None:
            kinds.append(best_kind)
        pos = best_end
    return kinds


def classify(message: str) -> SmallTalk | None:
    """What kind of small talk `message` is, or None when it is (or contains) a real question.

    "Привет!" is GREETING; "Привет! Сколько парков в Калужской области?" is None (use `strip_greeting`).
    A message without letters or digits is EMOJI_ONLY or PUNCTUATION_ONLY (an empty one too), unless its
    emoji say something ("👍" is ACK, "🙏" THANKS). One or more bare links are LINK_ONLY.
    """
    stripped = message.strip()
    emoji_kinds = [_EMOJI_KINDS[ch] for ch in stripped if ch in _EMOJI_KINDS]
    if not any(ch.isalnum() for ch in stripped):
        if emoji_kinds:
            return _first(emoji_kinds)
        return SmallTalk.EMOJI_ONLY if any(_is_emoji(ch) for ch in stripped) else SmallTalk.PUNCTUATION_ONLY
    if _LINK_ONLY_RE.fullmatch(stripped):
        return SmallTalk.LINK_ONLY
    kinds = _kinds_of_words(_normalise("".join(" " if _is_emoji(ch) else ch for ch in stripped)))
    if kinds is None:
        return None
    kinds += emoji_kinds
    return _first(kinds) if kinds else SmallTalk.ACK  # only fillers: "пожалуйста", "please"


def _first(kinds: list[SmallTalk]) -> SmallTalk:
    return min(kinds, key=_PRIORITY.index)


# --- greetings before a question -------------------------------------------------------------------

# Phrases that open a message before the question itself; removed one after another, with the punctuation
# between them. Politeness that asks for an answer ("Подскажите, пожалуйста,", "Could you tell me") goes too:
# what follows it is the question ("сколько парков ...").
_OPENERS = (
    r"""
    """
    + _GREETING
    + r""" | """
    + _THANKS
    + r"""
    | подскажите | скажите | подскажи | скажи | пожалуйста | будьте добры | будь добр | извините | простите
    | прошу прощения | уважаемые коллеги | уважаемый бот | уважаемые | коллеги | у меня (есть )?(вопрос|вопросы)
    | (хотел|хотела|хотели|хочу|хотим)( бы)? (узнать|спросить|уточнить) | интересует | вопрос | такой вопрос
    | можно (вопрос|спросить|уточнить) | не подскажете | не могли бы вы (подсказать|сказать|уточнить)
    | please | excuse me | sorry | dear (sir|madam|sir or madam|colleagues|team|all) | dear | bot
    | (could|can|would) you (please )?(tell|let) me( know)? | (could|can|would) you (please )?(tell|advise)
    | i( would|'d) like to (know|ask) | i want to (know|ask) | i( have|'ve got) a question | quick question
    | my question is | question | i wonder(ed)? | i was wondering | tell me please | kindly
"""
)
_OPENER_RE = re.compile(r"[\s,.!:;…—–-]*" + _alternation(_OPENERS) + r"(?![^\W_])(?:[\s,.!:;…—–-]+|$)", re.IGNORECASE)


def strip_greeting(message: str) -> str:
    """`message` without the greetings and politeness it opens with; the rest keeps its own wording.

    "Здравствуйте! Подскажите, пожалуйста, сколько парков в регионе?" -> "Сколько парков в регионе?"
    The first remaining letter is capitalised. A message that is nothing but a greeting comes back empty;
    a message that opens with none comes back as it was (stripped of surrounding whitespace).
    """
    text = message.strip()
    probe = text.replace("ё", "е").replace("Ё", "Е")  # same length: positions stay valid
    pos = 0
    while True:
        match = _OPENER_RE.match(probe, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
    if pos == 0:
        return text
    rest = text[pos:].strip()
    return rest[:1].upper() + rest[1:]


# --- language ------------------------------------------------------------------------------------


def message_language(text: str, default: str) -> str:
    """'ru' when Cyrillic letters outnumber Latin ones, 'en' when Latin ones do, else `default`.

    Links are left out of the count (a Russian message with a URL is still Russian); "?", emoji, digits
    and an even split give `default` (the user's last known language).
    """
    sample = _URL_RE.sub(" ", text[:5000])
    cyr = len(_CYRILLIC_RE.findall(sample))
    lat = len(_LATIN_RE.findall(sample))
    if cyr > lat:
        return "ru"
    if lat > cyr:
        return "en"
    return default
