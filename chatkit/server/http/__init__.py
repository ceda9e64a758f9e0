"""REST: the edge middleware and the JSON error responses it renders, authentication, routes
and the OpenAPI document."""
