"""Keras building blocks shared by the encoders."""
