"""``python -m spms_mc`` runs the command line (where console scripts are not on PATH)."""
from .face.cli import main

main()
