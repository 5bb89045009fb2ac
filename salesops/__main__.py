"""`python -m salesops` is the `salesops` command."""

from salesops.cli import main

main()
