"""``python -m kneeflags``: the same as the ``kneeflags`` command."""

from kneeflags.cli import main

if __name__ == "__main__":
    main()
