"""Suara's pipeline side: storage, Scrapy item pipelines, analysis, reports and the CLI.

Data flows one way: collect (``scraper``) -> store (``pipelines.store``) ->
analyse (``nlp`` via ``pipelines.analysis``) -> report (``pipelines.trends``,
``pipelines.triangulate``, ``pipelines.report``).
"""

__version__ = "0.1.0"
