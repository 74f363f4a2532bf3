"""Every text the bot sends, in Russian and English, and the plain-text rendering of answers for the terminal.

Investors and staff alike read the bot in their language, so no handler writes a literal: it names a
key here. Values are filled with str.format, so user and document strings are inserted as they are
(the HTML layer, bot/telegram/formatting.py, escapes them); limits and format lists arrive as values from the
one place that defines them.
"""

from __future__ import annotations

import dataclasses
import re

from index import Answer, Passage, SmallTalk

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
        "You can ask a follow-up (“And how many of them already work?”); /new starts a new conversation.\n\n"
        "/sources — the documents I know\n/ask QUESTION — ask (in groups)\n/new — start over\n/help — this message",
        "ru": "Пришлите вопрос сообщением, например: «Сколько индустриальных парков в Калужской области?»\n\n"
        "Я отвечаю только по документам агентства: предложение с ответом, фрагмент и источник. "
        "Если в документах ответа нет, я так и скажу.\n\n"
        "Можно задать уточняющий вопрос («А сколько из них уже работают?»); /new начинает разговор заново.\n\n"
        "/sources — документы, которые я знаю\n/ask ВОПРОС — задать вопрос (в группах)\n/new — начать заново\n"
        "/help — эта справка",
    },
    "help_admin": {
        "en": "\n\nFor staff: send a file ({formats}; up to {limit} MB) to add or update a "
        "document — the caption sets its title. Send a link (or /add URL) to add a web page; a sitemap or "
        "RSS feed adds the pages it lists, and they are kept fresh. "
        "/docs lists documents with their ids, /remove ID removes one. "
        "/stats — the last 7 days, /unanswered — questions the documents did not answer.\n"
        "Questions investors send to the agency come here: reply to one to answer it. /pending — the questions "
        "waiting for an answer, /answers — agency answers in the knowledge base.",
        "ru": "\n\nДля сотрудников: пришлите файл ({formats}; до {limit} МБ), чтобы добавить или "
        "обновить документ — подпись к файлу задаёт заголовок. Пришлите ссылку (или /add ССЫЛКА), чтобы "
        "добавить веб-страницу; карта сайта или RSS-лента добавляет свои страницы, и они обновляются. "
        "/docs — список документов с номерами, "
        "/remove НОМЕР — удалить документ. /stats — статистика за 7 дней, /unanswered — вопросы без ответа.\n"
        "Вопросы, которые инвесторы передают в агентство, приходят сюда: ответьте (Reply) на вопрос, чтобы "
        "ответить. /pending — вопросы, ждущие ответа, /answers — ответы агентства в базе знаний.",
    },
    # --- small talk: a greeting, thanks, "?" get a person's reply and the example questions, never "not found" ---
    "smalltalk_greeting": {
        "en": "Hello! I answer questions about investing in the region from the agency's documents and show where "
        "each answer comes from. Ask in your own words, for example:",
        "ru": "Здравствуйте! Я отвечаю на вопросы об инвестициях в регион по документам агентства и показываю, "
        "откуда взят ответ. Спрашивайте своими словами, например:",
    },
    "smalltalk_how": {
        "en": "All well, thank you! I am ready for your questions about investing in the region, for example:",
        "ru": "Всё хорошо, спасибо! Готов ответить на ваши вопросы об инвестициях в регион, например:",
    },
    "smalltalk_who": {
        "en": "I am InvestBot, the regional investment agency's assistant: I answer investors' questions from the "
        "agency's documents and always show the source. Try, for example:",
        "ru": "Я InvestBot, помощник регионального инвестиционного агентства: отвечаю на вопросы инвесторов по "
        "документам агентства и всегда показываю источник. Попробуйте, например:",
    },
    "smalltalk_thanks": {
        "en": "You are welcome! Ask me anything else about investing in the region, for example:",
        "ru": "Пожалуйста! Спрашивайте ещё об инвестициях в регион, например:",
    },
    "smalltalk_ack": {
        "en": "Good. Ask your next question whenever you like, for example:",
        "ru": "Хорошо. Задавайте следующий вопрос, когда будет удобно, например:",
    },
    "smalltalk_compliment": {
        "en": "Thank you! Ask me more, for example:",
        "ru": "Спасибо! Спрашивайте ещё, например:",
    },
    "smalltalk_farewell": {
        "en": "Goodbye! Come back with any question about investing in the region, for example:",
        "ru": "До свидания! Возвращайтесь с любым вопросом об инвестициях в регион, например:",
    },
    "smalltalk_complaint": {
        "en": "Sorry that did not help. Try asking in other words or more precisely, for example:",
        "ru": "Извините, что не помог. Попробуйте спросить другими словами или точнее, например:",
    },
    "smalltalk_unclear": {
        "en": "I did not find a question there. I answer questions about investing in the region, for example:",
        "ru": "Я не увидел здесь вопроса. Я отвечаю на вопросы об инвестициях в регион, например:",
    },
    "smalltalk_link": {
        "en": "I do not open links from chats; ask your question in words, for example:",
        "ru": "Я не открываю ссылки из чата; задайте вопрос словами, например:",
    },
    # --- conversation: follow-ups, several questions in one message, documents in another language ---
    "understood_as": {"en": "I understood the question as: {question}", "ru": "Понял вопрос как: {question}"},
    "new_conversation": {
        "en": "Starting over: I have forgotten this chat's previous questions. Ask a new one.",
        "ru": "Начинаем заново: предыдущие вопросы этого чата забыты. Задайте новый вопрос.",
    },
    "in_document_en": {"en": "In the English document:", "ru": "В документе на английском:"},
    "in_document_ru": {"en": "In the Russian document:", "ru": "В документе на русском:"},
    "page": {"en": "p. {page}", "ru": "с. {page}"},
    "agency_answers_count": {
        "en": "Besides them, agency answers to investors' questions: {n} (cited as “Agency answer”).",
        "ru": "Кроме того, ответов агентства на вопросы инвесторов: {n} (цитируются как «Ответ агентства»).",
    },
    "setting_hint": {"en": "setting: {name}", "ru": "настройка: {name}"},
    "no_content_words": {"en": "(no content words)", "ru": "(без значимых слов)"},
    "sources_title": {"en": "Documents I answer from:", "ru": "Документы, по которым я отвечаю:"},
    "no_sources": {"en": "No documents have been added yet.", "ru": "Документы ещё не добавлены."},
    "more": {"en": "More", "ru": "Ещё"},
    "no_more": {"en": "There are no further passages.", "ru": "Других фрагментов нет."},
    "thanks": {"en": "Thank you for the feedback!", "ru": "Спасибо за отзыв!"},
    "not_yours": {
        "en": "This button belongs to another user's question.",
        "ru": "Эта кнопка относится к чужому вопросу.",
    },
    "expired": {"en": "This question is no longer available.", "ru": "Этот вопрос больше недоступен."},
    "rate_limited": {
        "en": "You are asking faster than I can answer well. Please wait a minute and try again.",
        "ru": "Вы задаёте вопросы слишком часто. Пожалуйста, подождите минуту и попробуйте снова.",
    },
    "too_long": {
        "en": "Your question is too long ({length} characters). Please keep it under {limit} characters.",
        "ru": "Вопрос слишком длинный ({length} символов). Пожалуйста, уложитесь в {limit} символов.",
    },
    "empty_ask": {
        "en": "Write the question after /ask, e.g. /ask How many industrial parks are there?",
        "ru": "Напишите вопрос после /ask, например: /ask Сколько индустриальных парков?",
    },
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
        "en": "The file is {size} MB; Telegram lets bots download files up to {limit} MB. Please send a smaller file.",
        "ru": "Файл весит {size} МБ; Telegram позволяет ботам скачивать файлы до {limit} МБ. Пришлите файл поменьше.",
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
    "embedding_later": {
        "en": "It can be found by keywords now, and by meaning once its chunks are embedded ({n} to do); "
        "I will write when that is done.",
        "ru": "По словам он ищется уже сейчас, по смыслу — когда его фрагменты будут векторизованы (их {n}); "
        "я напишу, когда это закончится.",
    },
    "embedded": {
        "en": "Document #{id} ({title}) can now be found by meaning too: its chunks are embedded ({seconds} s).",
        "ru": "Документ №{id} ({title}) теперь ищется и по смыслу: его фрагменты векторизованы (за {seconds} с).",
    },
    "embedded_now": {
        "en": "It can be found by meaning too: its chunks are embedded.",
        "ru": "Он ищется и по смыслу: его фрагменты векторизованы.",
    },
    "embed_failed": {
        "en": "Document #{id} ({title}) could not be embedded: {reason}. It can still be found by keywords; "
        "the bot tries again on its next start (or run `investbot reindex`).",
        "ru": "Документ №{id} ({title}) не удалось векторизовать: {reason}. По словам он ищется; бот попробует "
        "снова при следующем запуске (или выполните `investbot reindex`).",
    },
    "added": {"en": "Added", "ru": "Добавлен"},
    "replaced": {"en": "Updated", "ru": "Обновлён"},
    "unchanged": {"en": "Already up to date:", "ru": "Без изменений:"},
    "duplicate": {"en": "Same content as", "ru": "То же содержимое, что"},
    # A missing date, everywhere a date is shown (replies, /docs, /sources, upload replies, /answers).
    "no_date": {"en": "no date", "ru": "без даты"},
    "removed": {"en": "Removed document #{id}: {title}", "ru": "Удалён документ №{id}: {title}"},
    "remove_usage": {
        "en": "Usage: /remove ID (see /docs for the ids).",
        "ru": "Использование: /remove НОМЕР (номера — в /docs).",
    },
    "remove_missing": {"en": "There is no document #{id} (see /docs).", "ru": "Документа №{id} нет (см. /docs)."},
    "docs_line": {
        "en": "#{id} {title} — {date} — {chunks} chunks{link}",
        "ru": "№{id} {title} — {date} — фрагментов: {chunks}{link}",
    },
    # --- staff reports: /stats, /unanswered, the daily digest (and `investbot stats`) ---
    "last_7_days": {"en": "in the last 7 days", "ru": "за последние 7 дней"},
    "stats_questions": {"en": "Questions {period}: {n}", "ru": "Вопросов {period}: {n}"},
    "stats_answered": {"en": "Answered: {n} ({rate:.0%})", "ru": "С ответом: {n} ({rate:.0%})"},
    "feedback_balance": {"en": "Feedback: 👍 {positive}  👎 {negative}", "ru": "Отзывы: 👍 {positive}  👎 {negative}"},
    "stats_llm": {
        "en": "Written by the language model: {shown} of {asked} answers it was asked for ({rate:.0%})",
        "ru": "Ответов, написанных языковой моделью: {shown} из {asked}, о которых её спросили ({rate:.0%})",
    },
    "stats_llm_latency": {
        "en": "Language model latency: p50 {p50} ms, p95 {p95} ms",
        "ru": "Задержка языковой модели: p50 {p50} мс, p95 {p95} мс",
    },
    "stats_llm_rejected": {
        "en": "Model answers replaced by the extract: {reasons}",
        "ru": "Ответы модели, заменённые цитатой: {reasons}",
    },
    "stats_per_day": {"en": "Per day:       questions  answered", "ru": "По дням:       вопросов  с ответом"},
    "stats_most_cited": {"en": "Most cited documents:", "ru": "Самые цитируемые документы:"},
    "stats_gaps": {
        "en": "Gaps — unanswered questions by topic, most frequent first:",
        "ru": "Пробелы — вопросы без ответа по темам, самые частые сначала:",
    },
    "stats_gap": {
        "en": "  {size:>4} {noun} about {label} — e.g. “{example}”",
        "ru": "  {size:>4} {noun} на тему «{label}» — например, «{example}»",
    },
    "stats_no_gaps": {
        "en": "Gaps: none — every question was answered.",
        "ru": "Пробелов нет — на все вопросы есть ответ.",
    },
    "no_unanswered": {"en": "No unanswered questions.", "ru": "Вопросов без ответа нет."},
    "latest_unanswered": {"en": "Latest unanswered questions:", "ru": "Последние вопросы без ответа:"},
    "by_topic": {"en": "By topic:", "ru": "По темам:"},
    "topic_line": {"en": "{size} × {label} — e.g. “{example}”", "ru": "{size} × {label} — например, «{example}»"},
    "digest_title": {
        "en": "InvestBot — the last 24 hours: {n} {noun}",
        "ru": "InvestBot — за последние 24 часа: {n} {noun}",
    },
    "digest_answered": {"en": ", {n} answered ({rate:.0%})", "ru": ", с ответом {n} ({rate:.0%})"},
    "digest_gaps": {"en": "New gaps (unanswered, by topic):", "ru": "Новые пробелы (без ответа, по темам):"},
    "digest_negative": {"en": "Answers marked 👎:", "ru": "Ответы с оценкой 👎:"},
    "digest_pending": {
        "en": "Waiting for a staff answer ({n}; /pending to answer them):",
        "ru": "Ждут ответа сотрудников ({n}; ответить — через /pending):",
    },
    "pending_line": {
        "en": "• #{id} {question} — since {since}, {waiting} waiting",
        "ru": "• №{id} {question} — с {since}, ждут: {waiting}",
    },
    # --- escalations: a question goes on to staff, their answer comes back (bot/telegram/escalations.py) ---
    "ask_agency": {"en": "Ask the agency", "ru": "Спросить агентство"},
    "escalation_sent": {
        "en": "Your question has gone to the agency. A staff member will answer it here, in this chat.\n\n"
        "We keep this chat's id only until the answer is sent (at most {days} days).",
        "ru": "Ваш вопрос передан в агентство. Сотрудник ответит на него здесь, в этом чате.\n\n"
        "Мы храним идентификатор этого чата только до отправки ответа (не дольше {days} дн.).",
    },
    "escalation_sent_toast": {"en": "Sent to the agency", "ru": "Передано в агентство"},
    "escalation_already": {
        "en": "This question is already with the agency; the answer will come in this chat.",
        "ru": "Этот вопрос уже передан в агентство; ответ придёт в этот чат.",
    },
    "escalation_limit": {
        "en": "You already have {n} {noun} waiting for the agency's answer. Please wait for one of the answers, "
        "then ask again.",
        "ru": "У вас уже {n} {noun} ждут ответа агентства. Пожалуйста, дождитесь одного из ответов и спросите снова.",
    },
    "escalation_closed": {
        "en": "This question was already sent to the agency. To ask again, send it as a new message.",
        "ru": "Этот вопрос уже отправлялся в агентство. Чтобы спросить снова, отправьте его новым сообщением.",
    },
    "escalation_answer_title": {"en": "The agency's answer to your question", "ru": "Ответ агентства на ваш вопрос"},
    "escalation_expired_investor": {
        "en": "Sorry: the agency could not answer your question within {days} days, so it is closed and this "
        "chat's id is deleted. You are welcome to ask again.",
        "ru": "Извините: агентство не смогло ответить на ваш вопрос за {days} дн., поэтому он закрыт, а "
        "идентификатор этого чата удалён. Вы можете задать вопрос снова.",
    },
    "staff_question_title": {"en": "❓ Question for the agency #{id}", "ru": "❓ Вопрос в агентство №{id}"},
    "staff_question_meta": {
        "en": "Language: {language_name}\nAsked: {asked}\nInvestors waiting: {waiting}",
        "ru": "Язык: {language_name}\nЗадан: {asked}\nЖдут ответа инвесторов: {waiting}",
    },
    "staff_passages": {
        "en": "The closest passages found (not enough for an answer):",
        "ru": "Ближайшие найденные фрагменты (для ответа их не хватило):",
    },
    "staff_no_passages": {
        "en": "The documents hold nothing close to it.",
        "ru": "В документах нет ничего близкого.",
    },
    "staff_how_to_answer": {
        "en": "↩️ Reply to this message to answer: your text goes to the investor as the agency's answer.",
        "ru": "↩️ Ответьте на это сообщение (Reply), чтобы ответить: ваш текст получит инвестор как ответ агентства.",
    },
    "staff_asked_again": {
        "en": "Another investor asked this question too: {waiting} waiting. One reply answers them all.",
        "ru": "Этот вопрос задал ещё один инвестор: ждут {waiting}. Один ответ получат все.",
    },
    "language_en": {"en": "English", "ru": "английский"},
    "language_ru": {"en": "Russian", "ru": "русский"},
    "escalation_delivered": {
        "en": "✅ Sent to {n} {noun}.",
        "ru": "✅ Отправлено: {n} {noun}.",
    },
    "escalation_delivered_partly": {
        "en": "Sent to {n} of {total}: the others could not be reached (they may have blocked the bot).",
        "ru": "Отправлено {n} из {total}: остальным доставить не удалось (возможно, они заблокировали бота).",
    },
    "escalation_add_hint": {
        "en": "Add the answer to the knowledge base, and the bot will answer this question itself from now on.",
        "ru": "Добавьте ответ в базу знаний — и дальше бот будет отвечать на этот вопрос сам.",
    },
    "add_to_knowledge": {"en": "Add to knowledge", "ru": "Добавить в базу знаний"},
    "escalation_already_answered": {
        "en": "This question was already answered ({when}); your reply was not sent.",
        "ru": "На этот вопрос уже ответили ({when}); ваш ответ не отправлен.",
    },
    "escalation_expired_staff": {
        "en": "This question expired after {days} days without an answer and the investors' chats were deleted, "
        "so your reply cannot be delivered.",
        "ru": "Срок этого вопроса ({days} дн.) истёк без ответа, и чаты инвесторов удалены, поэтому ваш ответ "
        "доставить нельзя.",
    },
    "escalation_not_admin": {
        "en": "Only staff listed in INVESTBOT_ADMINS can answer investors; this reply was not sent.",
        "ru": "Отвечать инвесторам могут только сотрудники из INVESTBOT_ADMINS; этот ответ не отправлен.",
    },
    "knowledge_added": {
        "en": "Added to the knowledge base as document #{id}: {title}\nSimilar questions are now answered from it, "
        "cited as the agency's answer. /answers lists agency answers; /remove {id} removes this one.",
        "ru": "Добавлено в базу знаний как документ №{id}: {title}\nНа похожие вопросы бот теперь отвечает по нему, "
        "со ссылкой на ответ агентства. /answers — ответы агентства; /remove {id} — удалить этот.",
    },
    "knowledge_already": {
        "en": "Already in the knowledge base as document #{id}: {title}",
        "ru": "Уже в базе знаний как документ №{id}: {title}",
    },
    "pending_none": {
        "en": "No questions are waiting for the agency's answer.",
        "ru": "Вопросов, ждущих ответа агентства, нет.",
    },
    "pending_title": {
        "en": "Questions waiting for a staff answer: {n}. Reply to a question's message to answer it.",
        "ru": "Вопросов ждут ответа сотрудников: {n}. Чтобы ответить, ответьте (Reply) на сообщение с вопросом.",
    },
    "pending_more": {
        "en": "…and {n} more: they show here once the oldest are answered.",
        "ru": "…и ещё {n}: они появятся здесь, когда будут даны ответы на самые старые.",
    },
    "answers_none": {
        "en": "No agency answers yet. Answer an investor's question by replying to it, then press “Add to knowledge”.",
        "ru": "Ответов агентства пока нет. Ответьте на вопрос инвестора (Reply), "
        "затем нажмите «Добавить в базу знаний».",
    },
    "answers_title": {
        "en": "Agency answers in the knowledge base (/remove ID removes one):",
        "ru": "Ответы агентства в базе знаний (/remove НОМЕР — удалить):",
    },
    "answers_line": {"en": "#{id} {date} — {title}", "ru": "№{id} {date} — {title}"},
    "agency_answer_label": {"en": "Agency answer, {date}", "ru": "Ответ агентства, {date}"},
    "agency_answer": {"en": "Agency answer", "ru": "Ответ агентства"},
    # --- web pages: a staff link, /add URL, the daily refresh (bot/telegram/links.py, bot/telegram/jobs.py) ---
    "fetching": {"en": "⏳ Fetching {addresses} …", "ru": "⏳ Загружаю {addresses} …"},
    "add_usage": {
        "en": "Usage: /add URL — a web page, PDF or DOCX by its address, or a sitemap or RSS/Atom feed, whose "
        "pages are added and followed. Several addresses may be given, separated by spaces.",
        "ru": "Использование: /add ССЫЛКА — веб-страница, PDF или DOCX по адресу, либо карта сайта или RSS/Atom-"
        "лента: её страницы добавляются и отслеживаются. Можно указать несколько адресов через пробел.",
    },
    "too_many_links": {
        "en": "Please send at most {limit} addresses at a time (a sitemap or feed counts as one).",
        "ru": "Пожалуйста, присылайте не больше {limit} адресов за раз (карта сайта или лента — один адрес).",
    },
    "link_failed": {"en": "❌ Not added — {line}", "ru": "❌ Не добавлено — {line}"},
    "link_duplicate": {"en": "{address}: not added, {reason}.", "ru": "{address}: не добавлено — {reason}."},
    "listing_summary": {
        "en": "📰 {address} — {kind}: {taken} {noun}{cap}. Added {added}, updated {replaced}, unchanged {unchanged}, "
        "failed {failed}. The daily refresh (or `investbot refresh`) adds its new entries.",
        "ru": "📰 {address} — {kind}: {taken} {noun}{cap}. Добавлено {added}, обновлено {replaced}, без изменений "
        "{unchanged}, с ошибкой {failed}. Ежедневное обновление (или `investbot refresh`) добавит новые записи.",
    },
    "listing_cap": {
        "en": " (the newest of {found}; INVESTBOT_MAX_PAGES={limit})",
        "ru": " (самые новые из {found}; INVESTBOT_MAX_PAGES={limit})",
    },
    "listing_sitemap": {"en": "sitemap", "ru": "карта сайта"},
    "listing_sitemap_index": {"en": "sitemap index", "ru": "индекс карт сайта"},
    "listing_rss": {"en": "RSS feed", "ru": "RSS-лента"},
    "listing_atom": {"en": "Atom feed", "ru": "Atom-лента"},
    "and_more": {"en": "…and {n} more.", "ru": "…и ещё {n}."},
    "refresh_title": {
        "en": "Web documents refreshed: {unchanged} unchanged, {changed} changed, {failed} failed, {new} new.",
        "ru": "Веб-документы обновлены: без изменений {unchanged}, изменилось {changed}, с ошибкой {failed}, "
        "новых {new}.",
    },
    "refresh_changed": {"en": "Changed:", "ru": "Изменились:"},
    "refresh_new": {"en": "New:", "ru": "Новые:"},
    "refresh_failed": {
        "en": "Failed (the stored copy is kept):",
        "ru": "Не удалось загрузить (сохранённая версия оставлена):",
    },
}

# Word forms by count: English one/other, Russian one/few/many.
PLURALS: dict[str, dict[str, tuple[str, ...]]] = {
    "question": {"en": ("question", "questions"), "ru": ("вопрос", "вопроса", "вопросов")},
    "investor": {"en": ("investor", "investors"), "ru": ("инвестору", "инвесторам", "инвесторам")},
    "page": {"en": ("page", "pages"), "ru": ("страница", "страницы", "страниц")},
}

# The command menus Telegram shows beside the input field, per language: investors see theirs (the default
# scope), each admin sees both (their own chat's scope).
INVESTOR_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("start", "Start"),
        ("help", "How to ask"),
        ("sources", "The documents I answer from"),
        ("ask", "Ask a question (in a group)"),
        ("new", "Start a new conversation"),
    ],
    "ru": [
        ("start", "Начать"),
        ("help", "Как спросить"),
        ("sources", "Документы, по которым я отвечаю"),
        ("ask", "Задать вопрос (в группе)"),
        ("new", "Начать разговор заново"),
    ],
}
STAFF_COMMANDS: dict[str, list[tuple[str, str]]] = {
    "en": [
        ("docs", "Documents with their ids"),
        ("remove", "Remove a document: /remove ID"),
        ("add", "Add a web page: /add URL"),
        ("stats", "Questions, answers, gaps"),
        ("unanswered", "Recent unanswered questions"),
        ("pending", "Questions waiting for the agency"),
        ("answers", "Agency answers in the knowledge base"),
    ],
    "ru": [
        ("docs", "Документы и их номера"),
        ("remove", "Удалить документ: /remove ID"),
        ("add", "Добавить веб-страницу: /add URL"),
        ("stats", "Вопросы, ответы, пробелы"),
        ("unanswered", "Последние вопросы без ответа"),
        ("pending", "Вопросы, ждущие ответа агентства"),
        ("answers", "Ответы агентства в базе знаний"),
    ],
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


def text(key: str, language: str, **values: object) -> str:
    """The wording for `key` in `language` (English when the language is neither), filled with `values`."""
    entry = TEXTS[key]
    return entry.get(language, entry["en"]).format(**values)


def plural(n: int, word: str, language: str) -> str:
    """The form of `word` that goes with the number n ("1 вопрос", "3 вопроса", "5 вопросов")."""
    forms = PLURALS[word]
    if language != "ru":
        one, other = forms["en"]
        return one if n == 1 else other
    one, few, many = forms["ru"]
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def not_found(language: str) -> str:
    return text("not_found", language)


def where(passage: Passage) -> str:
    """The document's place for a reader: its link, or nothing (never a file name or a server path: the
    title, date and page name a file)."""
    return passage.url or ""


def date_text(date: str | None, language: str) -> str:
    """A document's date, or the one wording for a missing date used everywhere."""
    return date or text("no_date", language)


def topic_label(label: str, language: str) -> str:
    """A gap topic's label; the placeholder for a topic without content words in the reader's language."""
    return text("no_content_words", language) if label == TEXTS["no_content_words"]["en"] else label


# Reasons the library gives in English (readers, fetchers, validators), as staff read them in Russian.
# Ordered: the first pattern that matches the whole reason wins; anything else is shown as it came.
_REASONS_RU: tuple[tuple[str, str], ...] = (
    (r"not a valid PDF \(truncated or damaged\)", "это не корректный PDF (файл обрезан или повреждён)"),
    (r"not a PDF file \(no %PDF header\)", "это не PDF-файл (нет заголовка %PDF)"),
    (r"encrypted PDF \(password protected\)", "PDF зашифрован (защищён паролем)"),
    (
        r"no text found \(scanned PDF\? OCR is not supported\)",
        "текст не найден (скан? распознавание не поддерживается)",
    ),
    (r"no text found \(the PDF has no pages\)", "текст не найден (в PDF нет страниц)"),
    (r"no text found \(empty file\)", "текст не найден (пустой файл)"),
    (r"no text found", "текст не найден"),
    (
        r"not a valid DOCX file \(it is an old binary \.doc; save it as \.docx\)",
        "это не корректный DOCX (это старый формат .doc; сохраните его как .docx)",
    ),
    (r"not a valid DOCX file.*", "это не корректный DOCX-файл"),
    (r"DOCX archive too large when unpacked.*", "DOCX-архив слишком велик после распаковки"),
    (r"binary data, not text", "двоичные данные, а не текст"),
    (r"broken (\S+) text \(invalid byte sequence\)", r"повреждённый текст \1 (неверная последовательность байтов)"),
    (r"invalid front matter.*", "неверный блок метаданных (front matter) в начале файла"),
    (r"file not found", "файл не найден"),
    (r"permission denied", "нет доступа к файлу"),
    (r"not a regular file", "это не обычный файл"),
    (r"(.*)refused as a private address: (.*)", r"\1адрес отклонён как внутренний: \2"),
    (r"(.*)no complete response within (\S+) s", r"\1нет полного ответа за \2 с"),
    (r"(.*)cannot connect \((.*)\)", r"\1не удаётся подключиться (\2)"),
    (r"(.*)the connection failed \((.*)\)", r"\1соединение прервалось (\2)"),
    (r"(.*)the response is empty", r"\1ответ пустой"),
    (
        r"(.*)not a web address \(it should start with https://\)",
        r"\1это не веб-адрес (он должен начинаться с https://)",
    ),
    (r"(.*)no host name in the address", r"\1в адресе нет имени сервера"),
    (r"(.*)not a valid address \((.*)\)", r"\1некорректный адрес (\2)"),
    (r"(.*)unpacks to over the (.+) limit", r"\1после распаковки больше предела \2"),
    (r"(.*)over the (.+) limit.*", r"\1больше предела \2"),
    (r"a damaged gzip file", "повреждённый gzip-файл"),
    (r"(.*)\(supported: (.*)\)", r"\1(поддерживаются: \2)"),
)


def reason_text(reason: str | None, language: str) -> str:
    """A library's reason for a failure, in the reader's language (known reasons; others as they came)."""
    reason = reason or ""
    if language != "ru":
        return reason
    for pattern, wording in _REASONS_RU:
        match = re.fullmatch(pattern, reason, flags=re.DOTALL)
        if match:
            return match.expand(wording)
    return reason


# A curated agency answer (bot/questions/escalations.py) is a document with this source: readers see it labelled
# "Agency answer, DATE", never the source itself.
AGENCY_SOURCE_PREFIX = "agency-answer:"


def agency_source(escalation_id: int) -> str:
    return f"{AGENCY_SOURCE_PREFIX}{escalation_id}"


def is_agency_answer(passage: Passage) -> bool:
    return passage.source.startswith(AGENCY_SOURCE_PREFIX)


def agency_label(passage: Passage, language: str) -> str:
    """How an agency answer is cited: "Agency answer, 2026-11-29" / "Ответ агентства, 2026-11-29"."""
    if passage.date:
        return text("agency_answer_label", language, date=passage.date)
    return text("agency_answer", language)


def agency_reply(passage: Passage) -> str:
    """The staff's words in an agency answer passage: the stored text starts with the question (so that
    paraphrases find it), which a reader has just asked and need not read again."""
    head, blank, rest = passage.text.partition("\n\n")
    if blank and rest.strip() and " ".join(head.split()).startswith(passage.title.rstrip("…")):
        return rest.strip()
    return passage.text


def with_agency_reply(answer: Answer) -> Answer:
    """When the best passage is an agency answer, the answer is the staff's reply, whole: the sentence
    picked by extraction could be the stored question itself, and a curated answer is meant to be read whole."""
    if not answer.answered or not answer.passages or not is_agency_answer(answer.passages[0]):
        return answer
    return dataclasses.replace(answer, answer=agency_reply(answer.passages[0]))


def source_line(passage: Passage, language: str = "en") -> str:
    """Title — date — link or file (and page): everything a reader needs to check the answer."""
    if is_agency_answer(passage):
        return f"{agency_label(passage, language)} — {passage.title}"
    parts = [passage.title, date_text(passage.date, language)]
    if passage.page:
        parts.append(text("page", language, page=passage.page))
    if passage.url:
        parts.append(passage.url)
    return " — ".join(parts)


def render_text(answer: Answer) -> str:
    if not answer.answered:
        return not_found(answer.language)
    lines = [answer.answer, ""]
    for n, passage in enumerate(answer.passages, start=1):
        lines.append(f"[{n}] {source_line(passage, answer.language)}")
        for paragraph in passage.text.split("\n\n"):
            lines.append(f"    {paragraph}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def ingested_text(result, lang: str) -> str:
    """What staff are told of a document added or replaced, whether it came as a file or a link."""
    return text(
        "ingested",
        lang,
        verb=text(result.status, lang),
        id=result.doc_id,
        title=result.title,
        date=date_text(result.date, lang),
        chunks=result.chunks,
    )


# What each kind of small talk is told (the bot then offers the example questions as buttons).
SMALL_TALK_REPLIES = {
    SmallTalk.GREETING: "smalltalk_greeting",
    SmallTalk.HOW_ARE_YOU: "smalltalk_how",
    SmallTalk.WHO_ARE_YOU: "smalltalk_who",
    SmallTalk.WHAT_CAN_YOU_DO: "smalltalk_who",
    SmallTalk.THANKS: "smalltalk_thanks",
    SmallTalk.ACK: "smalltalk_ack",
    SmallTalk.COMPLIMENT: "smalltalk_compliment",
    SmallTalk.FAREWELL: "smalltalk_farewell",
    SmallTalk.COMPLAINT: "smalltalk_complaint",
    SmallTalk.CHITCHAT: "smalltalk_unclear",
    SmallTalk.PUNCTUATION_ONLY: "smalltalk_unclear",
    SmallTalk.EMOJI_ONLY: "smalltalk_unclear",
    SmallTalk.LINK_ONLY: "smalltalk_link",
}


def is_one_sentence(message: str) -> bool:
    """No sentence ends before the message does: a plain question, asked as it stands (its "And …" included)."""
    return not re.search(r"[.!?…]\s+\S", message.strip())
