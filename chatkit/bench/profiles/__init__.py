"""Locustfiles, one per profile; run only by the Locust subprocess `chatkit bench` starts."""
