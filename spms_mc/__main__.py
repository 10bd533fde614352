"""``python -m spms_mc`` runs the command line (where console scripts are not on PATH)."""
from .cli import main

main()
