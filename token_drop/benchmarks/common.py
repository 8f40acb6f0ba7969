"""Pieces shared by the benchmark and check scripts."""

import os

import tensorflow as tf

from official.modeling import optimization


def train_step_fn(task, optimizer_config, jit: bool = False):
  """A compiled training step (forward, backward, update) of a task's model.

  Args:
    task: The task; its own `train_step` is timed (method-specific work such
      as the token-drop table update included).
    optimizer_config: An `OptimizationConfig`.
    jit: Compile with XLA.

  Returns:
    A function of a batch that runs one step and returns the loss.
  """
  model = task.build_model()
  factory = optimization.OptimizerFactory(optimizer_config)
  optimizer = factory.build_optimizer(factory.build_learning_rate())
  metrics = task.build_metrics(training=True)

  @tf.function(jit_compile=jit)
  def step(inputs):
    return task.train_step(inputs, model, optimizer, metrics)[task.loss]

  return step


def write_section(path: str, title: str, text: str) -> None:
  """Replaces the `title` section of a markdown file (or appends it).

  Args:
    path: The markdown file (created with a `# Benchmarks` header if absent).
    title: The section's heading line, e.g. `## Token dropping`.
    text: The new section, starting with `title`.
  """
  os.makedirs(os.path.dirname(path), exist_ok=True)
  content = ''
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      content = f.read()
  if not content.strip():
    content = '# Benchmarks\n'
  start = content.find(title)
  if start >= 0:
    end = content.find('\n## ', start + len(title))
    rest = content[end + 1:] if end >= 0 else ''
    content = content[:start] + text + ('\n' + rest if rest else '')
  else:
    content = content.rstrip('\n') + '\n\n' + text
  with open(path, 'w', encoding='utf-8') as f:
    f.write(content)
