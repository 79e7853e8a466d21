"""The embedded single-machine stack: a Tansu broker and a PostgreSQL server.

No Docker, no JVM: both come from wheels in the lock file. Use it through
``spendstream dev up|down|status`` or :mod:`devstack.stack`; nothing
here starts anything at import time.
"""
