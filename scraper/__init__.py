"""Collection: the Play Store client and the Scrapy project (settings, item, spiders)."""
