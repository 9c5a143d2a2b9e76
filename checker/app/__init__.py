"""The application layer: the command line. It alone knows argparse and is
imported by nothing but checker/cli.py, checker/__main__.py and the
`python -m` entry points."""
