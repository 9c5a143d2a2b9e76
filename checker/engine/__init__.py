"""The search: the explicit engine (explore, run), liveness on its state graph,
counterexample traces, the exported graph, coverage, the time estimate and the
wait bound. The compiled kernel (checker/kernel/) and the symbolic engine
(checker/smt/) are its siblings."""
