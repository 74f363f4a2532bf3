"""Conversation: what a message is before it is searched.

- smalltalk: greetings, thanks, "ok", emoji, bare links, questions about the bot (not searched); the greeting
  in front of a real question; the language of a short message.
- followup: a question that leans on the previous one ("А в Туле?", "What is its area?") rewritten into a
  stand-alone question, with the reason, so the bot can say how it understood it.
- split: the questions inside a long message with an introduction.

Pure text functions (regex, no model, no I/O); reply texts belong to the bot.
"""
