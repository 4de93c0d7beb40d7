"""Test helpers, not plugins: tiny offline models and a fake chat-completions server.

* :mod:`curate.testing.tiny_models`: a Llama-3-style tokenizer trained offline,
  tiny random ArmoRM / reward / chat checkpoints saved like real ones, and the
  ArmoRM reference architecture the native scorer is checked against.
* :mod:`curate.testing.chat_server`: an OpenAI-compatible ``/v1/chat/completions``
  server on 127.0.0.1 answered by any generation backend, with scripted faults.

Used by the tests, the benchmarks and the notebooks; nothing in the core imports it.
Importing this package imports nothing heavy.
"""
