"""Pure alert logic: what an alert is, who wants it, how it is signed, formatted and retried.

No I/O library is imported here, so every rule is unit-testable without a broker,
a database or a network.
"""
