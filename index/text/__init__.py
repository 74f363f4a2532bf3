"""Pure text work every stage shares: words, Snowball stems and sentences (tokens.py), the names, numbers and
units a question asks about (specific.py), and the ru<->en glossary that lets a question in one language find
a passage in the other (glossary.py)."""
