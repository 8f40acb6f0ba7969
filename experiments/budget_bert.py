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
from official.modeling import optimization
from official.nlp.configs import bert
from official.nlp.configs import encoders
from token_drop.core import time_budget
from token_drop.data import pretrain_dataloader
from token_drop.tasks import masked_lm


def _data(is_training: bool) -> pretrain_dataloader.PretrainDataConfig:
  return pretrain_dataloader.PretrainDataConfig(
      is_training=is_training, drop_remainder=is_training,
      global_batch_size=4096, seq_length=128, max_predictions_per_seq=20,
      use_next_sentence_label=False)


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
          train_data=_data(is_training=True),
          validation_data=_data(is_training=False)),
      trainer=time_budget.TrainerConfig(
          train_steps=1_000_000, steps_per_loop=100, summary_interval=100,
          checkpoint_interval=1000, validation_interval=2000,
          validation_steps=32, max_to_keep=3,
          time_budget=time_budget.TimeBudgetConfig(
              budget_hours=24.0, learning_rate_schedule='time',
              peak_learning_rate=1e-3, warmup_proportion=0.06),
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'adamw', 'adamw': {
                  'weight_decay_rate': 0.01, 'beta_1': 0.9, 'beta_2': 0.98,
                  'epsilon': 1e-6,
                  'exclude_from_weight_decay': ['LayerNorm', 'layer_norm',
                                                'bias']}},
              # Used only with learning_rate_schedule: step; set decay_steps
              # to the steps the budget reaches on your hardware (and warmup
              # to 6% of them).
              'learning_rate': {'type': 'polynomial', 'polynomial': {
                  'initial_learning_rate': 1e-3, 'decay_steps': 1_000_000,
                  'end_learning_rate': 0.0}},
              'warmup': {'type': 'polynomial',
                         'polynomial': {'warmup_steps': 60_000}},
          })),
      restrictions=['task.train_data.is_training != None',
                    'task.validation_data.is_training != None'])
