"""agentinstruct: AgentInstruct-style synthetic post-training data as self-optimizing DSPy programs, tracked in MLflow.

Python API: `agentinstruct.generate(...)`, `score(...)`, `compile(...)`, `export(...)`, `decontaminate(...)` take the
CLI's options as keywords (`agentinstruct.api`). The flows live in `agentinstruct.programs`, their prompts in
`agentinstruct.signatures`, scoring in `agentinstruct.metrics`, optimizers in `agentinstruct.optimizers`, seed loading
in `agentinstruct.seeds`.
"""

import os

# Offline by default: DSPy/LiteLLM otherwise fetch a model price map from the internet on first use (a 5 s timeout
# on machines without access). A user who wants the live map sets the variable to "false".
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

__version__ = "0.1.0"

from agentinstruct.decontaminate import DecontaminateConfig, DecontaminateReport  # noqa: E402
from agentinstruct.errors import UserError  # noqa: E402
from agentinstruct.export import ExportConfig, ExportResult  # noqa: E402
from agentinstruct.lm import EMBEDDED, build_lm  # noqa: E402
from agentinstruct.mix import MixSummary  # noqa: E402
from agentinstruct.optimizers.compile import CompileConfig, CompileResult  # noqa: E402
from agentinstruct.runner import GenerateConfig, GenerateSummary  # noqa: E402
from agentinstruct.score import ScoreConfig  # noqa: E402

# isort: split
# Bound last: importing the submodules `agentinstruct.score` and `agentinstruct.export` for the first time sets these
# names to the modules; from here on the package attributes are the API functions (the modules stay importable).
from agentinstruct.api import compile, decontaminate, export, generate, score  # noqa: E402, A004

__all__ = [
    "EMBEDDED",
    "CompileConfig",
    "CompileResult",
    "DecontaminateConfig",
    "DecontaminateReport",
    "ExportConfig",
    "ExportResult",
    "GenerateConfig",
    "GenerateSummary",
    "MixSummary",
    "ScoreConfig",
    "UserError",
    "__version__",
    "build_lm",
    "compile",
    "decontaminate",
    "export",
    "generate",
    "score",
]
