"""``python -m services.gateway``: start the gateway."""

from services.gateway.app import run

if __name__ == "__main__":
    run()
