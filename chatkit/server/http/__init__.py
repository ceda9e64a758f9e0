"""REST: the edge middleware, authentication, routes and the OpenAPI document."""
