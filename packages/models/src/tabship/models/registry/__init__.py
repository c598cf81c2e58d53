"""The MLflow registry: versions, aliases, the serving contract, reload notices."""
