"""The invariant gate: every cell of the manifest (gate_manifest.json, package
data) checked, its verdicts and counts compared with the committed ones."""
