"""HODO's production server beside the Oxigraph server on the same data: ``python -m bench``.

The numbers go to ``bench/results/latest.json`` and docs/performance.md; nothing
here is a test of speed (no timed assertions), only a measurement to read.
"""
