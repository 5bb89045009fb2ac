"""salesops core: settings, database and embedded servers, the operational schema and its
migrations, domain services, security, the event outbox, bulk loading and the command line.

Every other package of the project stands on this one; it imports none of them.
"""

__version__ = "0.1.0"
