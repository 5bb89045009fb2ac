"""One router per resource, each mounted under /api/v1 by `api.main.create_app`."""
