"""The dbt project, shipped inside the distribution; PROJECT_DIR is where dbt_project.yml lives."""

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent
