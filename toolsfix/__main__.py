"""Allow ``python -m toolsfix``."""

from toolsfix.cli import main

main()
