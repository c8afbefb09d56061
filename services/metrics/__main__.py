"""``python -m services.metrics``: run the metrics service with settings from the environment."""

from services.metrics.app import create_app
from services.metrics.settings import MetricsSettings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, MetricsSettings)
