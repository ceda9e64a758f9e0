"""`chatkit bench`: Locust load profiles that check nothing is lost and measure delivery.

Two halves that never share a process:

- the *runner* side (`runner`, `target`, `provision`, `sampler`, `report`) is plain Python
  and asyncio: it starts the embedded server, provisions data through the public admin API,
  launches Locust as a subprocess and turns what the Locust processes wrote into a report;
- the *load* side (`load/`, `profiles/`) is gevent and Locust: the locustfiles in `profiles/`
  run only inside the Locust subprocess, so gevent's monkey-patching never reaches asyncio.

`plan`, `tracking` and `results` are the plain data both halves exchange through files.
"""
