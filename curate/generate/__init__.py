"""``curate generate``: rejection sampling, n answers per prompt of a store into a new store.

:func:`run_generate` builds the prompt table (:mod:`curate.generate.prompts`), samples
it on the stage runner (:mod:`curate.generate.sampling`) and writes the new store's
base table (:mod:`curate.generate.materialize`).
"""

from curate.generate.run import GenerateOptions, GenerateResult, run_generate
from curate.generate.sampling import SamplingOptions, sample_seed

__all__ = ["GenerateOptions", "GenerateResult", "SamplingOptions", "run_generate", "sample_seed"]
