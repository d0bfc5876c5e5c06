/**
 * The code version recorded with evaluation results: the commit of the repository this module lives in, read
 * from `.git/HEAD` and the ref files (no `git` process, so no `--allow-run`).
 *
 * @module
 */
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** What {@linkcode readCodeVersion} found. */
export interface CodeVersion {
  /** Commit hash, or null when unknown. */
  commit: string | null;
  /** Branch ref (`refs/heads/main`), or null for a detached HEAD or unknown. */
  ref: string | null;
}

/**
 * Reads the commit of the git checkout containing `start` (default: this repository).
 *
 * @param start A folder inside the checkout.
 * @returns Commit and ref; nulls when there is no readable `.git`.
 */
export function readCodeVersion(start?: string): CodeVersion {
  let dir = start ?? dirname(fileURLToPath(import.meta.url));
  for (let depth = 0; depth < 32; depth++) {
    const gitPath = join(dir, ".git");
    const gitDir = resolveGitDir(gitPath);
    if (gitDir) return readHead(gitDir);
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return { commit: null, ref: null };
}

function resolveGitDir(gitPath: string): string | null {
  try {
    const st = Deno.statSync(gitPath);
    if (st.isDirectory) return gitPath;
    const text = Deno.readTextFileSync(gitPath).trim();
    if (text.startsWith("gitdir:")) return resolve(dirname(gitPath), text.slice(7).trim());
  } catch { /* not here */ }
  return null;
}

function readHead(gitDir: string): CodeVersion {
  try {
    const head = Deno.readTextFileSync(join(gitDir, "HEAD")).trim();
    if (!head.startsWith("ref:")) return { commit: /^[0-9a-f]{40}$/.test(head) ? head : null, ref: null };
    const ref = head.slice(4).trim();
    let common = gitDir;
    try {
      common = resolve(gitDir, Deno.readTextFileSync(join(gitDir, "commondir")).trim());
    } catch { /* not a worktree */ }
    for (const base of [gitDir, common]) {
      try {
        const commit = Deno.readTextFileSync(join(base, ref)).trim();
        if (/^[0-9a-f]{40}$/.test(commit)) return { commit, ref };
      } catch { /* try packed refs */ }
      try {
        for (const line of Deno.readTextFileSync(join(base, "packed-refs")).split("\n")) {
          const [commit, name] = line.trim().split(" ");
          if (name === ref && /^[0-9a-f]{40}$/.test(commit)) return { commit, ref };
        }
      } catch { /* none */ }
    }
    return { commit: null, ref };
  } catch {
    return { commit: null, ref: null };
  }
}
