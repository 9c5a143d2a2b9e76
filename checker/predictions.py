"""`python -m checker.predictions`: an entry point kept where the documentation
names it; the program is checker/app/predictions.py."""

if __name__ == "__main__":
    import sys

    from checker.app.predictions import main

    sys.exit(main())
