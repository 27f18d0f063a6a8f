"""Server-rendered web pages (Jinja2, plain HTML forms), Chinese first and English second,
over the same services as the API. See `routing.pages_router`."""
