"""token_drop: efficient BERT pretraining and inference for the TF Model Garden."""
