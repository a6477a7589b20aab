"""Local stand-ins for the services Suara crawls, speaking their real wire formats.

They serve synthetic sample data on 127.0.0.1 so that tests and ``suara demo`` exercise
the real clients and spiders end to end with no network. Each service is a WSGI app
(:class:`FakeService`) with a request log and injectable faults; :func:`serve` runs one.
"""

from .server import Fault, FakeService, Request, serve

__all__ = ["Fault", "FakeService", "Request", "serve"]
