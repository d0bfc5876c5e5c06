/**
 * The encoder's baseline for the benchmarks: ONNX Runtime's own Python binding on the same model file
 * (`ort_python_baseline.py`), where `python3` can import `onnxruntime` (it is not a dependency of the project;
 * `pip install onnxruntime` provides it).
 *
 * @module
 */
import { fileURLToPath } from "node:url";

/** Median `session.run` times of the Python binding, or why it did not run. */
export type PythonOrtTimes =
  | { version: string; input: { name: string; shape: number[] }; defaultThreads: number; oneThread: number }
  | { skipped: string };

/**
 * Times `session.run` of a model in Python's onnxruntime: ONNX Runtime's default threads and one thread.
 *
 * @param modelPath The ONNX file (the one the project's encoder runs).
 * @param runs Timed runs of each (after one warm-up run).
 * @param python The interpreter. @default {`$BENCH_PYTHON`, else "python3"}
 * @returns The medians in ms, or `{ skipped }` with the reason (no interpreter, no onnxruntime, a failure).
 */
export async function pythonOrtTimes(
  modelPath: string,
  runs: number,
  python?: string,
): Promise<PythonOrtTimes> {
  const script = fileURLToPath(new URL("./ort_python_baseline.py", import.meta.url));
  let interpreter = python;
  try {
    interpreter ??= Deno.env.get("BENCH_PYTHON") || "python3";
  } catch {
    interpreter ??= "python3";
  }
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(interpreter, {
      args: [script, modelPath, String(runs)],
      stdout: "piped",
      stderr: "piped",
    })
      .output();
  } catch (error) {
    return { skipped: `${interpreter} did not start (${(error as Error).message.split("\n")[0]})` };
  }
  const stderr = new TextDecoder().decode(output.stderr).trim().split("\n");
  if (!output.success) {
    const missing = stderr.some((l) => /No module named '(onnxruntime|numpy)'/.test(l));
    return {
      skipped: missing
        ? `${interpreter} has no onnxruntime (pip install onnxruntime)`
        : `${interpreter} failed: ${stderr[stderr.length - 1]}`,
    };
  }
  try {
    return JSON.parse(new TextDecoder().decode(output.stdout));
  } catch {
    return { skipped: `${interpreter} printed no result` };
  }
}
