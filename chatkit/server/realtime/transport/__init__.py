"""chatkit's own Engine.IO transport for websockets (see docs/architecture.md, Transport)."""
