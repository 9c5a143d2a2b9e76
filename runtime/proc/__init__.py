"""The reference runtime written as proc.go reads: schedule, findRunnable,
wakep, startm, handoffp, sysmon... as functions on real threads, each
runtime-atomic action behind a schedule point (runtime/proc/control.py)."""
