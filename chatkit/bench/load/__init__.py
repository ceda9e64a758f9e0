"""The gevent side of `chatkit bench`: imported only inside the Locust subprocess."""
