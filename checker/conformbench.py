"""`python -m checker.conformbench`: an entry point kept where the documentation
names it; the program is checker/bench/conform.py."""

if __name__ == "__main__":
    import sys

    from checker.bench.conform import main

    sys.exit(main())
