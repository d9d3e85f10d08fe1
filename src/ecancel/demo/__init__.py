"""Demo glue: the demo city (``ecancel seed_demo``) and the document samples (``ecancel render_samples``).

It sits on the top floor with the consoles and the API: a client of both sides' services and of the
filing registry, so demo data passes the same checks as real input. Nothing below imports it.
"""
