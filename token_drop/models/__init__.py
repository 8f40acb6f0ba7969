"""Keras models (pretrainers, classifiers, taggers), one module per family.

The tasks in `token_drop.tasks` build these models and train them, as tfm
separates `official.nlp.modeling.models` from `official.nlp.tasks`.
"""
