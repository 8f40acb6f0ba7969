"""Budget pretraining (24-hour BERT, Izsak et al. 2021; ExtremeBERT):
`budget_bert/pretraining`.

BERT-large shape with pre-layer-norm (BertEncoderV2 `norm_first`), sequence
128, global batch 4096, AdamW (lr 1e-3, beta2 0.98, epsilon 1e-6), and the
time-based schedule of `token_drop.core.time_budget`: linear warmup over 6%
of a 24-hour budget, linear decay to zero at the budget, where the run writes
a checkpoint, evaluates and exits. `train_steps` is only an upper bound.
For the step-based equivalent (reproducible across machines), set
`trainer.time_budget.learning_rate_schedule: step` and the optimizer's
polynomial schedule.
"""

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.nlp.configs import bert
from official.nlp.configs import encoders
from experiments import common
from token_drop.core import time_budget
from token_drop.tasks import masked_lm


@exp_factory.register_config_factory('budget_bert/pretraining')
def budget_bert_pretraining() -> cfg.ExperimentConfig:
  """BERT-large pre-LN pretraining within a 24-hour budget."""
  return cfg.ExperimentConfig(
      runtime=cfg.RuntimeConfig(enable_xla=True),
      task=masked_lm.MaskedLMConfig(
          model=bert.PretrainerConfig(
              encoder=encoders.EncoderConfig(
                  type='bert', bert=encoders.BertEncoderConfig(
                      vocab_size=30522, hidden_size=1024, num_layers=24,
                      num_attention_heads=16, intermediate_size=4096,
                      max_position_embeddings=512, norm_first=True)),
              cls_heads=[]),
          train_data=common.pretrain_data(True, 4096, 128, 20),
          validation_data=common.pretrain_data(False, 4096, 128, 20)),
      trainer=time_budget.TrainerConfig(
          train_steps=1_000_000, steps_per_loop=100, summary_interval=100,
          checkpoint_interval=1000, validation_interval=2000,
          validation_steps=32, max_to_keep=3,
          time_budget=time_budget.TimeBudgetConfig(
              budget_hours=24.0, learning_rate_schedule='time',
              peak_learning_rate=1e-3, warmup_proportion=0.06),
          # Used only with learning_rate_schedule: step; set decay_steps to
          # the steps the budget reaches on your hardware (warmup: 6% of
          # them).
          optimizer_config=common.adamw_polynomial(
              1e-3, decay_steps=1_000_000, warmup_steps=60_000, beta_1=0.9,
              beta_2=0.98, epsilon=1e-6)),
      restrictions=common.RESTRICTIONS)