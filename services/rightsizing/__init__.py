"""Right-sizing: bounded utilisation sketches + an instance catalogue -> recommendations."""
