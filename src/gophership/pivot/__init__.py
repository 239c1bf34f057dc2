"""The somatic pivot: pure decisions about which zone the engine is in.

Nothing in this package imports ``asyncio``, ``socket``, ``os`` or ``time``: the clock and
every measurement are passed in, so each decision is a deterministic function of its inputs.
"""
