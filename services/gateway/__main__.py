"""``python -m services.gateway``: start the gateway."""

from services.gateway.app import main

if __name__ == "__main__":
    main()
