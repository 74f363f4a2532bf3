"""From a file or a web page to a stored document: cleaning and boilerplate (clean.py), title and date
(metadata.py), page-bound chunks (chunking.py), files and folders (files.py), web addresses, sitemaps and feeds
(web.py, addresses.py)."""
