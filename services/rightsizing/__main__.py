"""``python -m services.rightsizing``: run the right-sizing service until SIGTERM/SIGINT."""

from services.rightsizing.app import main

if __name__ == "__main__":
    main()
