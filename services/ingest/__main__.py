"""``python -m services.ingest``: run the ingest service with settings from the environment."""

from services.ingest.app import create_app
from services.ingest.settings import IngestSettings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, IngestSettings)
