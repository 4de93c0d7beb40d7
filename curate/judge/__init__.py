"""The LLM judge: rate conversations, or compare two, with an LLM; a score sidecar for select.

* ``templates`` loads the judge prompts (presets or a user file); ``parse`` turns a reply
  into a verdict or an explicit failure, never a default;
* ``cache`` keeps every call in the store; ``calls`` asks through it (one sampled retry);
* ``pointwise`` rates rows (a scorer for the score stage's runner);
* ``design`` chooses who meets whom and counts what a plan costs; ``ranking`` combines
  both orders and fits Bradley-Terry; ``tournament`` plays the rounds within groups;
* ``funnel`` is the arithmetic of the default mode; ``grouped`` declares the pairwise and
  funnel stage; ``run`` plans, runs and shows (``curate judge``).

Nothing heavy is imported here, so that ``curate --help`` does not pay for the judge.
"""
