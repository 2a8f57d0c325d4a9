"""agentinstruct: AgentInstruct-style synthetic post-training data as self-optimizing DSPy programs, tracked in MLflow.

The flows live in `agentinstruct.programs`, their prompts in `agentinstruct.signatures`, scoring in
`agentinstruct.metrics`, optimizers in `agentinstruct.optimizers`, seed loading in `agentinstruct.seeds`.
"""

import os

# Offline by default: DSPy/LiteLLM otherwise fetch a model price map from the internet on first use (a 5 s timeout
# on machines without access). A user who wants the live map sets the variable to "false".
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

from agentinstruct.errors import UserError  # noqa: E402
from agentinstruct.lm import EMBEDDED, build_lm  # noqa: E402
from agentinstruct.runner import GenerateConfig, GenerateSummary, generate  # noqa: E402

__all__ = ["EMBEDDED", "GenerateConfig", "GenerateSummary", "UserError", "__version__", "build_lm", "generate"]
