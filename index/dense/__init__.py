"""Dense retrieval: the bundled multilingual-e5-small weights, their tokeniser and a token-level runtime."""
