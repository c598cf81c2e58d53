"""The names of the files a registered run serves: their one owner. The registry's contract
hashes them, and serving's model folder (tabship.serving's artifact) holds them under these names.
A light module: the service's supervisor reads the names without loading MLflow."""

MODEL_FILE = "model.lgb"  # LightGBM's own text format
PIPELINE_FILE = "pipeline.json"  # the fitted feature pipeline
FIELDS_FILE = "request_schema.json"  # the request contract's fields
SERVED_FILES = (MODEL_FILE, PIPELINE_FILE, FIELDS_FILE)
