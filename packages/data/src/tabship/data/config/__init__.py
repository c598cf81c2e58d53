"""What a dataset is: data.yaml, the pandera schema, the request contract, sources."""
