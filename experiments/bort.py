"""Bort (de Wynter & Perry 2020): `bort/pretraining_distillation`.

The student is Bort's optimal sub-architecture of BERT: 4 layers, hidden 1024,
8 heads, intermediate 768 (about 56M parameters, 39M of them embeddings),
pretrained with masked LM plus knowledge distillation from a large teacher
(`token_drop.tasks.mlm_distillation`; T = 2, teacher_weight 0.5,
mlm_weight 0.1). The teacher defaults to a BERT-large shape and needs
`task.teacher.init_checkpoint`. The student checkpoint is a plain BERT one:
fine-tune it with `bert/sentence_prediction` and configs/bort.yaml.
"""

from official.core import config_definitions as cfg
from official.core import exp_factory
from official.modeling import optimization
from official.nlp.configs import bert
from official.nlp.configs import encoders
from token_drop.data import pretrain_dataloader
from token_drop.tasks import distillation
from token_drop.tasks import mlm_distillation

BORT_ENCODER = encoders.BertEncoderConfig(
    vocab_size=30522, hidden_size=1024, num_layers=4, num_attention_heads=8,
    intermediate_size=768, max_position_embeddings=512)
BERT_LARGE_ENCODER = encoders.BertEncoderConfig(
    vocab_size=30522, hidden_size=1024, num_layers=24, num_attention_heads=16,
    intermediate_size=4096, max_position_embeddings=512)


def _data(is_training: bool) -> pretrain_dataloader.PretrainDataConfig:
  return pretrain_dataloader.PretrainDataConfig(
      is_training=is_training, drop_remainder=is_training,
      global_batch_size=256, seq_length=512, max_predictions_per_seq=76,
      use_next_sentence_label=False)


@exp_factory.register_config_factory('bort/pretraining_distillation')
def bort_pretraining_distillation() -> cfg.ExperimentConfig:
  """Bort student distilled from a BERT-large-shaped teacher."""
  return cfg.ExperimentConfig(
      runtime=cfg.RuntimeConfig(enable_xla=True),
      task=mlm_distillation.MLMDistillationConfig(
          model=bert.PretrainerConfig(
              encoder=encoders.EncoderConfig(type='bert', bert=BORT_ENCODER),
              cls_heads=[]),
          teacher=distillation.TeacherConfig(
              model=bert.PretrainerConfig(
                  encoder=encoders.EncoderConfig(
                      type='bert', bert=BERT_LARGE_ENCODER),
                  cls_heads=[])),
          temperature=2.0, teacher_weight=0.5, mlm_weight=0.1,
          train_data=_data(is_training=True),
          validation_data=_data(is_training=False)),
      trainer=cfg.TrainerConfig(
          train_steps=300_000, steps_per_loop=1000, summary_interval=1000,
          checkpoint_interval=10_000, validation_interval=10_000,
          validation_steps=64, max_to_keep=5,
          optimizer_config=optimization.OptimizationConfig({
              'optimizer': {'type': 'adamw', 'adamw': {
                  'weight_decay_rate': 0.01,
                  'exclude_from_weight_decay': ['LayerNorm', 'layer_norm',
                                                'bias']}},
              'learning_rate': {'type': 'polynomial', 'polynomial': {
                  'initial_learning_rate': 1e-4, 'decay_steps': 300_000,
                  'end_learning_rate': 0.0}},
              'warmup': {'type': 'polynomial',
                         'polynomial': {'warmup_steps': 10_000}},
          })),
      restrictions=['task.train_data.is_training != None',
                    'task.validation_data.is_training != None'])
