"""Suara spiders: each yields MentionItem; item pipelines store them (see base.py)."""
