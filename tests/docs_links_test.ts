/**
 * Every Markdown link in the README and the docs resolves inside the repository: relative targets name a file or
 * folder that exists under the checkout (never a path outside it, such as a design note that only lives beside
 * the repository), and `#anchors` name a heading of the target file.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SKIP_DIRS = new Set(["node_modules", "out", ".git", ".cache"]);

/** Markdown files checked: README.md and every `.md` file under docs/, notebooks/, shaders/, models/. */
function markdownFiles(): string[] {
  const files = [join(ROOT, "README.md")];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP_DIRS.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".md")) files.push(path);
    }
  };
  for (const dir of ["docs", "notebooks", "shaders", "models"]) {
    if (existsSync(join(ROOT, dir))) walk(join(ROOT, dir));
  }
  return files;
}

/** The text outside fenced code blocks and inline code spans, where links are links. */
function proseOf(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, "").replace(/`[^`\n]*`/g, "");
}

/** Link targets: `[text](target)`, `![alt](target)` and reference definitions `[label]: target`. */
export function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const targets: string[] = [];
  for (const m of prose.matchAll(/!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    targets.push(m[1]);
  }
  for (const m of prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)) targets.push(m[1]);
  return targets;
}

/** GitHub's heading anchors of a Markdown file. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const m of proseOf(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const base = m[1].toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").trim().replace(/\s/g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

Deno.test("linkTargets and headingAnchors: links outside code, GitHub-style anchors", () => {
  const md = '# A title, here\n## A title, here\nsee [x](docs/a.md#b) and ![i](img.png "t")\n' +
    "```\n[not](a/link)\n```\n`[nor](this)`\n[ref]: https://example.com\n";
  assert.deepEqual(linkTargets(md), ["docs/a.md#b", "img.png", "https://example.com"]);
  assert.deepEqual([...headingAnchors(md)], ["a-title-here", "a-title-here-1"]);
});

Deno.test("every link in README.md and docs resolves inside the repository", () => {
  const problems: string[] = [];
  for (const file of markdownFiles()) {
    const text = readFileSync(file, "utf8");
    const where = relative(ROOT, file);
    for (const target of linkTargets(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        if (/^file:/i.test(target)) problems.push(`${where}: ${target} (a file: URL)`);
        continue; // https:, mailto: …
      }
      const [pathPart, anchor] = target.split("#", 2);
      const path = pathPart ? resolve(dirname(file), decodeURIComponent(pathPart)) : file;
      if (path !== ROOT.replace(/[\\/]$/, "") && !path.startsWith(ROOT.endsWith(sep) ? ROOT : ROOT + sep)) {
        problems.push(`${where}: ${target} (outside the repository)`);
        continue;
      }
      if (!existsSync(path)) {
        problems.push(`${where}: ${target} (no such file)`);
        continue;
      }
      if (anchor && statSync(path).isFile() && path.endsWith(".md")) {
        if (!headingAnchors(readFileSync(path, "utf8")).has(anchor)) {
          problems.push(`${where}: ${target} (no heading #${anchor})`);
        }
      }
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("README.md and docs cite no notes that live outside the repository (REFERENCE.md, DESIGN.md, shared/)", () => {
  const outside = /shared\/(docs|paper)\b|\bREFERENCE\.md\b|\bDESIGN(\.md)?\s*§/;
  const problems: string[] = [];
  for (const file of markdownFiles()) {
    readFileSync(file, "utf8").split("\n").forEach((line, i) => {
      if (outside.test(line)) problems.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(problems, []);
});
