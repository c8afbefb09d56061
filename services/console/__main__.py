"""``python -m services.console``: serve the console with settings from the environment."""

from services.console.app import create_app
from services.console.settings import ConsoleSettings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, ConsoleSettings)
