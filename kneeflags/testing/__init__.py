"""Helpers for kneeflags' own tests and benchmarks (fixture writers); not used at run time."""
