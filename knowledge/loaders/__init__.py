"""Loaders turn files, uploads and web pages into ``Document`` objects (Markdown-ish bodies).

Markdown, HTML, PDF (pypdf), DOCX (python-docx), plain text and FAQs (CSV or JSON with
question and answer) are supported; ``files.load_path`` / ``files.load_bytes`` pick the
parser by file type, ``web.fetch_site`` reads a page or a sitemap.
"""
