"""The feedback loop: labelled log rows as feedback files, retrain.yaml, the summary."""
