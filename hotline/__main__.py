"""`python -m hotline` runs the command line, as the `hotline` script does."""

from hotline.cli import main

main()
