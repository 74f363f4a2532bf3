"""User-facing wording in both languages, and the plain-text rendering of answers for the terminal."""

from __future__ import annotations

from index.answer import Answer, Passage

TEXTS: dict[str, dict[str, str]] = {
    "not_found": {
        "en": "I could not find this in the agency's documents.",
        "ru": "Я не нашёл ответа на этот вопрос в документах агентства.",
    },
    "greeting": {
        "en": "Hello! I answer investors' questions from the documents of the regional investment agency, "
        "and I always show where the answer comes from. Ask me in English or Russian, or try one of these:",
        "ru": "Здравствуйте! Я отвечаю на вопросы инвесторов по документам регионального инвестиционного "
        "агентства и всегда показываю источник ответа. Спрашивайте по-русски или по-английски, "
        "или попробуйте один из вопросов:",
    },
    "help": {
        "en": "Send me a question as a message, e.g. “How many industrial parks does Kaluga Region have?”\n\n"
        "I answer only from the agency's documents: the sentence that answers, the passage it comes from and "
        "its source. If the documents do not cover your question, I say so.\n\n"
        "/sources — the documents I know\n/ask QUESTION — ask (in groups)\n/help — this message",
        "ru": "Пришлите вопрос сообщением, например: «Сколько индустриальных парков в Калужской области?»\n\n"
        "Я отвечаю только по документам агентства: предложение с ответом, фрагмент и источник. "
        "Если в документах ответа нет, я так и скажу.\n\n"
        "/sources — документы, которые я знаю\n/ask ВОПРОС — задать вопрос (в группах)\n/help — эта справка",
    },
    "help_admin": {
        "en": "\n\nFor staff: send a file (PDF, DOCX, HTML, Markdown, text; up to 20 MB) to add or update a "
        "document — the caption sets its title. /docs lists documents with their ids, /remove ID removes one. "
        "/stats — the last 7 days, /unanswered — questions the documents did not answer.",
        "ru": "\n\nДля сотрудников: пришлите файл (PDF, DOCX, HTML, Markdown, текст; до 20 МБ), чтобы добавить или "
        "обновить документ — подпись к файлу задаёт заголовок. /docs — список документов с номерами, "
        "/remove НОМЕР — удалить документ. /stats — статистика за 7 дней, /unanswered — вопросы без ответа.",
    },
    "sources_title": {"en": "Documents I answer from:", "ru": "Документы, по которым я отвечаю:"},
    "no_sources": {"en": "No documents have been added yet.", "ru": "Документы ещё не добавлены."},
    "more": {"en": "More", "ru": "Ещё"},
    "no_more": {"en": "There are no further passages.", "ru": "Других фрагментов нет."},
    "thanks": {"en": "Thank you for the feedback!", "ru": "Спасибо за отзыв!"},
    "not_yours": {"en": "This button belongs to another user's question.", "ru": "Эта кнопка относится к чужому вопросу."},
    "expired": {"en": "This question is no longer available.", "ru": "Этот вопрос больше недоступен."},
    "rate_limited": {
        "en": "You are asking faster than I can answer well. Please wait a minute and try again.",
        "ru": "Вы задаёте вопросы слишком часто. Пожалуйста, подождите минуту и попробуйте снова.",
    },
    "too_long": {
        "en": "Your question is too long ({length} characters). Please keep it under {limit} characters.",
        "ru": "Вопрос слишком длинный ({length} символов). Пожалуйста, уложитесь в {limit} символов.",
    },
    "empty_ask": {"en": "Write the question after /ask, e.g. /ask How many industrial parks are there?",
                  "ru": "Напишите вопрос после /ask, например: /ask Сколько индустриальных парков?"},
    "unsupported": {
        "en": "I can only read text. Send your question as a text message.",
        "ru": "Я понимаю только текст. Пришлите вопрос текстовым сообщением.",
    },
    "admins_only": {
        "en": "Sorry, only agency staff can do this. You can ask me any question about investing in the region.",
        "ru": "Извините, это доступно только сотрудникам агентства. Задайте мне любой вопрос об инвестициях в регион.",
    },
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again in a moment.",
        "ru": "Извините, у меня что-то пошло не так. Пожалуйста, попробуйте ещё раз чуть позже.",
    },
    "file_too_big": {
        "en": "The file is {size} MB; Telegram lets bots download files up to 20 MB. Please send a smaller file.",
        "ru": "Файл весит {size} МБ; Telegram позволяет ботам скачивать файлы до 20 МБ. Пришлите файл поменьше.",
    },
    "file_type": {
        "en": "I cannot read {name}: supported are {choices}.",
        "ru": "Не могу прочитать {name}: поддерживаются {choices}.",
    },
    "ingest_failed": {"en": "{name} was not added: {reason}.", "ru": "{name} не добавлен: {reason}."},
    "ingested": {
        "en": "{verb} document #{id}: {title}\nDate found: {date}\nChunks: {chunks}",
        "ru": "{verb} документ №{id}: {title}\nНайденная дата: {date}\nФрагментов: {chunks}",
    },
    "added": {"en": "Added", "ru": "Добавлен"},
    "replaced": {"en": "Updated", "ru": "Обновлён"},
    "unchanged": {"en": "Already up to date:", "ru": "Без изменений:"},
    "duplicate": {"en": "Same content as", "ru": "То же содержимое, что"},
    "no_date": {"en": "none", "ru": "нет"},
    "removed": {"en": "Removed document #{id}: {title}", "ru": "Удалён документ №{id}: {title}"},
    "remove_usage": {"en": "Usage: /remove ID (see /docs for the ids).", "ru": "Использование: /remove НОМЕР (номера — в /docs)."},
    "remove_missing": {"en": "There is no document #{id} (see /docs).", "ru": "Документа №{id} нет (см. /docs)."},
}

EXAMPLES = {
    "en": [
        "How many industrial parks does Kaluga Region have?",
        "How much French investment has Kaluga Region attracted?",
        "What will the Interregional Association of Centers for Import Substitution do?",
    ],
    "ru": [
        "Сколько индустриальных парков в Калужской области?",
        "Сколько французских инвестиций привлекла Калужская область?",
        "Какие задачи у Межрегиональной ассоциации центров импортозамещения?",
    ],
}


def text(key: str, language: str, **values) -> str:
    entry = TEXTS[key]
    return entry.get(language, entry["en"]).format(**values)


def not_found(language: str) -> str:
    return text("not_found", language)


def where(passage: Passage) -> str:
    """The document's place for a reader: its link, or its file name (never a server path)."""
    if passage.url:
        return passage.url
    source = passage.source
    if source.startswith("upload:"):
        return source.removeprefix("upload:")
    return source.replace("\\", "/").rsplit("/", 1)[-1]


def source_line(passage: Passage) -> str:
    """Title — date — link or file (and page): everything a reader needs to check the answer."""
    parts = [passage.title]
    if passage.date:
        parts.append(passage.date)
    place = passage.url or passage.source
    if passage.page:
        place += f", p. {passage.page}"
    parts.append(place)
    return " — ".join(parts)


def render_text(answer: Answer) -> str:
    if not answer.answered:
        return not_found(answer.language)
    lines = [answer.answer, ""]
    for n, passage in enumerate(answer.passages, start=1):
        lines.append(f"[{n}] {source_line(passage)}")
        for paragraph in passage.text.split("\n\n"):
            lines.append(f"    {paragraph}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
