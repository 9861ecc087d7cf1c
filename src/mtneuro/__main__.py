"""``python -m mtneuro ...``: the CLI without its console script (e.g. from a source tree)."""

from mtneuro.cli.main import main

if __name__ == "__main__":
    main()
