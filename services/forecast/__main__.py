"""``python -m services.forecast``: start the forecast service."""

from services.forecast.app import main

if __name__ == "__main__":
    main()
