"""What a run shows: the terminal summary and trace (report, render), the HTML
view (html, lanes, assets/) and the trace file format (itf)."""
