"""``python -m cli ...`` is the ``spendstream`` console script."""

from cli import main

main()
