"""What a command runs: training, monitoring, retraining, evaluation."""
