"""One model's training: data, features, CV, the final fit, metrics, the card."""
