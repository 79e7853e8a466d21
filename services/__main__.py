"""``python -m services ...`` is the ``spendstream`` console script."""

from services.cli import main

main()
