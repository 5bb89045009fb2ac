"""The HTTP API: a thin FastAPI skin over salesops' domain services.

`api.main.create_app` builds the app; `api.routers` holds one router per resource,
`api.schemas` the request and response bodies, `api.deps` the shared dependencies
(database session, current user, Redis, rate limits). Business rules live in
`salesops.domain`, never here.
"""
