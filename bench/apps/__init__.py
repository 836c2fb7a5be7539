"""One module per system, each defining the same no-op task (it calls ``done_signal.done()``)."""
