"""Reports from scored scans: plots now; region merging and CSV/JSON/VOC writers beside them.

Submodules are imported on demand (``from engine.reporting import plots``), so that
``import engine`` never pulls in matplotlib.
"""
