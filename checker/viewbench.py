"""`python -m checker.viewbench`: an entry point kept where the documentation
names it; the program is checker/bench/views.py."""

if __name__ == "__main__":
    import sys

    from checker.bench.views import main

    sys.exit(main())
