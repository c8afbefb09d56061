"""The web console's edge: the built single-page app, the browser's session, and the four
services' APIs on one origin (docs/console.md)."""
