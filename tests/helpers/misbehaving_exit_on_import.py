"""A pipeline module that calls ``sys.exit`` while it is imported (hardening corpus)."""

import sys

sys.exit(9)


def create() -> None:  # never reached
    return None
