"""The dense side of search: the embedding model and its runtime, vectors in the store, FAISS kept in step.

model.py chooses and loads a backend (the bundled multilingual-e5-small, or any model through
sentence-transformers); weights.py, tokenizer.py and runtime.py run the bundled weights token by token
(numpy, no torch), so one forward pass gives a chunk's vector and its sentences' (late chunking);
faiss_index.py is the derived vector index, sync.py keeps it and the stored vectors in step with the
chunks, cache.py keeps evaluation vectors between runs.
"""
