#!/usr/bin/env python3
"""Executes one notebook headless (nbclient) and writes the executed copy.

usage: run_notebook.py IN.ipynb OUT.ipynb [--timeout SECONDS] [--kernel tslab|deno]
The kernel defaults to tslab, the one the notebooks are saved with; --kernel deno runs the same
cells under the project's Deno kernel and leaves the saved metadata as it was.
Exits 1 with the failing cell's error on any error output. The environment (SEQMNIST_QUICK,
SEQMNIST_TRAIN, JUPYTER_PATH) passes through to the kernel.
"""
import argparse
import os
import sys

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError
except ImportError as e:  # pragma: no cover - a message, not a skip
    sys.exit(f"notebook tests need Jupyter: apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel ({e})")

ap = argparse.ArgumentParser()
ap.add_argument("src")
ap.add_argument("dst")
ap.add_argument("--timeout", type=int, default=900)
ap.add_argument("--kernel", default="tslab", help="kernel spec name in JUPYTER_PATH (default tslab)")
args = ap.parse_args()

nb = nbformat.read(args.src, as_version=4)
client = NotebookClient(
    nb,
    timeout=args.timeout,
    kernel_name=args.kernel,
    resources={"metadata": {"path": os.path.dirname(os.path.abspath(args.src))}},
)
status = 0
try:
    client.execute()
except (CellExecutionError, CellTimeoutError) as e:
    print(str(e)[-4000:], file=sys.stderr)
    status = 1
finally:
    os.makedirs(os.path.dirname(os.path.abspath(args.dst)), exist_ok=True)
    nbformat.write(nb, args.dst)

# an error printed without raising (e.g. an error output the kernel sent as a stream) still fails
for i, cell in enumerate(nb.cells):
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            print(f"cell {i}: {out.get('ename')}: {out.get('evalue')}", file=sys.stderr)
            status = 1
sys.exit(status)
