"""Experiment registrations: `import experiments` registers them all.

tfm's NLP experiments (`bert/pretraining`, the baseline every method is
compared with, and the fine-tuning experiments) are registered by importing
their config modules; each module of this package registers one method family.
"""

# pylint: disable=unused-import
from official.nlp.configs import finetuning_experiments
from official.nlp.configs import pretraining_experiments
from token_drop.data import pretrain_dataloader
from experiments import bort
from experiments import budget_bert
from experiments import token_drop_bert
from experiments import finetuning
from experiments import narrow_bert
from experiments import sparse_bert
# pylint: enable=unused-import
