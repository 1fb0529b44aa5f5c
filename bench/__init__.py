"""Benchmark of the NetBox API cost of ``netbox_update_interfaces``.

Run ``python -m bench.sync_bench --help`` from the repository root. The measuring functions
(:func:`bench.measure.measure_library`, :func:`bench.measure.measure_baseline`) are importable,
so a test can assert the request counts of a tiny fleet.
"""
