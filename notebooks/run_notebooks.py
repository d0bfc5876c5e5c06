#!/usr/bin/python3
"""Executes Deno-kernel notebooks headless and fails on any cell error.

Usage: /usr/bin/python3 notebooks/run_notebooks.py OUT_DIR NOTEBOOK.ipynb...

Each notebook runs in a fresh kernel (kernelspec "deno", found through JUPYTER_PATH) whose working folder is
the notebook's folder; with DIFFCUT_FIGURES_ROOT set, the kernel gets DIFFCUT_FIGURES_DIR=<root>/<name>, where
the notebook's saveFigure calls write. Deno 2.9.6's kernel sometimes reports `idle` before a cell's last output reaches iopub,
so after `idle` this runner keeps draining iopub until it has been quiet for DRAIN_SECONDS (plain
`jupyter nbconvert --execute` loses outputs). The executed copy is written to OUT_DIR/<name>.ipynb.
Exit status: 0 when every cell of every notebook succeeded, 1 otherwise.
"""
import os
import queue
import sys
import time

import nbformat
from jupyter_client.manager import start_new_kernel

DRAIN_SECONDS = float(os.environ.get("NOTEBOOK_DRAIN_SECONDS", "0.5"))
CELL_TIMEOUT = float(os.environ.get("NOTEBOOK_CELL_TIMEOUT", "900"))


def run_cell(kc, code):
    """Runs one cell; returns (outputs, error or None)."""
    msg_id = kc.execute(code, store_history=True, allow_stdin=False)
    outputs, error, idle_at = [], None, None
    deadline = time.monotonic() + CELL_TIMEOUT
    while True:
        if time.monotonic() > deadline:
            return outputs, f"cell timed out after {CELL_TIMEOUT:.0f} s"
        wait = DRAIN_SECONDS if idle_at is not None else 1.0
        try:
            msg = kc.get_iopub_msg(timeout=wait)
        except queue.Empty:
            if idle_at is not None:
                break
            continue
        if msg.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        kind, content = msg["msg_type"], msg["content"]
        if kind == "status":
            if content["execution_state"] == "idle":
                idle_at = time.monotonic()
            continue
        if idle_at is not None:
            idle_at = time.monotonic()  # output after idle: keep draining
        if kind in ("stream", "display_data", "execute_result", "error"):
            outputs.append(nbformat.v4.output_from_msg(msg))
            if kind == "error":
                error = f"{content.get('ename')}: {content.get('evalue')}"
        elif kind == "clear_output":
            outputs.clear()
    reply = kc.get_shell_msg(timeout=60)
    while reply.get("parent_header", {}).get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=60)
    if reply["content"].get("status") == "error" and error is None:
        error = f"{reply['content'].get('ename')}: {reply['content'].get('evalue')}"
    return outputs, error


def run_notebook(path, out_dir):
    nb = nbformat.read(path, as_version=4)
    name = os.path.splitext(os.path.basename(path))[0]
    folder = os.path.dirname(os.path.abspath(path))
    env = dict(os.environ)
    if os.environ.get("DIFFCUT_FIGURES_ROOT"):
        env["DIFFCUT_FIGURES_DIR"] = os.path.join(os.path.abspath(os.environ["DIFFCUT_FIGURES_ROOT"]), name)
    km, kc = start_new_kernel(kernel_name="deno", cwd=folder, env=env)
    failed = None
    started = time.monotonic()
    try:
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            t0 = time.monotonic()
            outputs, error = run_cell(kc, cell.source)
            cell.outputs = outputs
            cell.execution_count = count
            print(f"  {name} cell {index}: {time.monotonic() - t0:.1f} s, {len(outputs)} outputs", flush=True)
            if error:
                failed = f"{name} cell {index} failed: {error}"
                for o in outputs:
                    if o.get("output_type") == "stream":
                        sys.stderr.write(o.get("text", ""))
                    elif o.get("output_type") == "error":
                        sys.stderr.write("\n".join(o.get("traceback", [])) + "\n")
                break
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    os.makedirs(out_dir, exist_ok=True)
    nbformat.write(nb, os.path.join(out_dir, f"{name}.ipynb"))
    print(f"{name}: {'FAILED' if failed else 'ok'} in {time.monotonic() - started:.1f} s", flush=True)
    return failed


def main(argv):
    if len(argv) < 3:
        sys.stderr.write("usage: run_notebooks.py OUT_DIR NOTEBOOK.ipynb...\n")
        return 2
    out_dir, paths = argv[1], argv[2:]
    failures = [f for f in (run_notebook(p, out_dir) for p in paths) if f]
    for f in failures:
        sys.stderr.write(f + "\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
