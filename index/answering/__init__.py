"""From a question to an answer: search and fusion (retrieval.py), the answer windows (windows.py), every
weight and calibrated bar (scoring.py), and whether to answer at all (decision.py)."""
