"""``python -m services.anomaly``: start the anomaly service."""

from services.anomaly.app import main

if __name__ == "__main__":
    main()
