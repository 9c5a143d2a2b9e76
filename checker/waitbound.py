"""`python -m checker.waitbound`: an entry point kept where the documentation
names it; the program is checker/app/waitbound.py."""

if __name__ == "__main__":
    import sys

    from checker.app.waitbound import main

    sys.exit(main())
