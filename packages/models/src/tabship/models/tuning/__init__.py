"""The hyperparameter search before training (train.yaml `tune:`): Optuna, seeded TPE."""
