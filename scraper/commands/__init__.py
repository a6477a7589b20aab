"""Scrapy commands of the Suara project (``COMMANDS_MODULE``)."""
