"""The LLM judge (issue 13): rate conversations, or compare two replies, with an LLM.

``templates`` loads the judge prompts (presets or a user file); ``parse`` turns a judge's
reply into a verdict or an explicit failure, never a default. Submodules import only the
standard library and ``curate.errors``, so that ``curate --help`` does not pay for the judge.
"""
