"""``python -m ctool`` is the same as the ``ctool`` console script."""

from ctool.cli.app import main

if __name__ == "__main__":
    main()
