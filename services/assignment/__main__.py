"""``python -m services.assignment``: run the assignment service with settings from the environment."""

from services.assignment.app import create_app
from services.assignment.settings import AssignmentSettings
from shared.serve import serve

if __name__ == "__main__":
    serve(create_app, AssignmentSettings)
