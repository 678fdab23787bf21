"""Benchmarks: ``python -m bench NAME [args]`` runs ``bench/NAME.py``'s ``main(argv) -> int``.

Every benchmark prints a table and compares against a baseline measured in the same run
(ratios, not absolute times), so results are comparable across machines.
"""
