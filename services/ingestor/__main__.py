"""``python -m services.ingestor``: run the ingestor service until SIGTERM/SIGINT."""

from services.ingestor.app import main

if __name__ == "__main__":
    main()
