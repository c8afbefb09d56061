"""``python -m services.taxonomy``: run the taxonomy service with settings from the environment."""

from services.taxonomy.app import create_app
from services.taxonomy.settings import TaxonomySettings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, TaxonomySettings)
