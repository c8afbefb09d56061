"""HTTP: the app factory every service starts from, problem+json errors, request context,
pagination."""
