"""The reference runtime (runtime/) against the model: replay a trace on it,
record a run of it, compare their states step by step. Here rather than in
runtime/ so that the runtime imports nothing of the checker: the trace
format, the plug-ins and the views are the checker's."""
