"""The Telegram bot: wiring (app.py), the typed bot data and reply helpers (context.py), investor and staff
handlers, links, questions for the agency, scheduled jobs and background embedding. Handlers stay thin: parse,
work in a thread, format, reply."""
