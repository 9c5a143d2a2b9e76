"""Real Go: the toolchain (gotool), runtime/trace reading (gotrace), the
projection of model states a trace can see, the conformance search (conform)
and the predictions tried on the real runtime."""
