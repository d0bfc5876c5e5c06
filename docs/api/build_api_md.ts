/**
 * Writes `docs/api/README.md`, the API reference of `mod.ts` in Markdown, from `deno doc --json mod.ts`.
 *
 * Markdown rather than `deno doc --html`: one file that reads on GitHub and in a code review, whose diff shows
 * exactly which public symbol or doc comment changed (the HTML output is hundreds of generated files with
 * scripts and styles). Run: `deno run --allow-read --allow-write --allow-run docs/api/build_api_md.ts`
 * (`deno task notebooks` runs it too).
 *
 * @module
 */
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

type Json = any;

/** Renders a `deno doc` type node as TypeScript-like text. */
export function typeText(t: Json): string {
  if (!t) return "unknown";
  switch (t.kind) {
    case "keyword":
      return t.value;
    case "literal":
      return t.repr ?? JSON.stringify(t.value?.string ?? t.value?.number ?? t.value?.boolean ?? "");
    case "typeRef": {
      const args = t.value.typeParams?.length ? `<${t.value.typeParams.map(typeText).join(", ")}>` : "";
      return `${t.value.typeName}${args}`;
    }
    case "union":
      return t.value.map(typeText).join(" | ");
    case "intersection":
      return t.value.map(typeText).join(" & ");
    case "array":
      return `${typeText(t.value)}[]`;
    case "tuple":
      return `[${t.value.map(typeText).join(", ")}]`;
    case "typeOperator":
      return `${t.value.operator} ${typeText(t.value.tsType)}`;
    case "parenthesized":
      return `(${typeText(t.value)})`;
    case "fnOrConstructor":
      return `(${t.value.params.map(paramText).join(", ")}) => ${typeText(t.value.tsType)}`;
    case "typeLiteral":
      return `{ ${
        (t.value.properties ?? []).map((p: Json) =>
          `${p.name}${p.optional ? "?" : ""}: ${typeText(p.tsType)}`
        ).join(
          "; ",
        )
      } }`;
    case "indexedAccess":
      return `${typeText(t.value.objType)}[${typeText(t.value.indexType)}]`;
    default:
      return t.repr || t.kind;
  }
}

function paramText(p: Json): string {
  const name = p.kind === "rest" ? `...${p.arg?.name ?? "args"}` : p.name ?? (p.left?.name ?? "arg");
  const type = p.tsType ?? p.left?.tsType;
  return `${name}${p.optional || p.kind === "assign" ? "?" : ""}: ${typeText(type)}`;
}

function docText(jsDoc: Json): string {
  return (jsDoc?.doc ?? "").trim().replace(/\{@linkcode ([^}]+)\}/g, "`$1`").replace(
    /\{@link ([^}]+)\}/g,
    "`$1`",
  );
}

function tagLines(jsDoc: Json): string[] {
  const out: string[] = [];
  for (const tag of jsDoc?.tags ?? []) {
    const doc = docText(tag);
    if (tag.kind === "param") out.push(`- \`${tag.name}\`: ${doc}`);
    else if (tag.kind === "return") out.push(`- returns: ${doc}`);
    else if (tag.kind === "throws") out.push(`- throws \`${tag.tsType?.repr ?? ""}\`: ${doc}`);
    else if (tag.kind === "default") out.push(`- default: \`${tag.value}\``);
  }
  return out;
}

function signature(name: string, decl: Json): string {
  const d = decl.def;
  switch (decl.kind) {
    case "function":
      return `function ${name}(${d.params.map(paramText).join(", ")}): ${typeText(d.returnType)}`;
    case "typeAlias":
      return `type ${name} = ${typeText(d.tsType)}`;
    case "variable":
      return `const ${name}: ${typeText(d.tsType)}`;
    case "class":
      return `class ${name}`;
    case "interface":
      return `interface ${name}`;
    default:
      return `${decl.kind} ${name}`;
  }
}

function members(decl: Json): string[] {
  const d = decl.def;
  const rows: string[] = [];
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n+/g, " ");
  if (decl.kind === "interface") {
    for (const p of d.properties ?? []) {
      rows.push(
        `| \`${p.name}${p.optional ? "?" : ""}\` | \`${cell(typeText(p.tsType))}\` | ${
          cell(docText(p.jsDoc))
        } |`,
      );
    }
    for (const m of d.methods ?? []) {
      rows.push(
        `| \`${m.name}(${cell(m.params.map(paramText).join(", "))})\` | \`${
          cell(typeText(m.returnType))
        }\` | ${cell(docText(m.jsDoc))} |`,
      );
    }
  } else if (decl.kind === "class") {
    for (const p of d.properties ?? []) {
      rows.push(`| \`${p.name}\` | \`${cell(typeText(p.tsType))}\` | ${cell(docText(p.jsDoc))} |`);
    }
    for (const m of d.methods ?? []) {
      if (typeof m.name !== "string") continue;
      const fn = m.functionDef;
      rows.push(
        `| \`${m.kind === "getter" ? "get " : ""}${m.name}(${
          cell(fn.params.map(paramText).join(", "))
        })\` | \`${cell(typeText(fn.returnType))}\` | ${cell(docText(m.jsDoc))} |`,
      );
    }
  }
  return rows.length ? ["", "| member | type | description |", "| --- | --- | --- |", ...rows] : [];
}

/**
 * Builds the Markdown reference from `deno doc --json` output.
 *
 * @param json Parsed output of `deno doc --json mod.ts`.
 * @param root Repository root URL, to print paths relative to it.
 * @returns Markdown text.
 */
export function apiMarkdown(json: Json, root: string): string {
  const mod = Object.values(json.nodes)[0] as Json;
  const byFile = new Map<string, string[]>();
  const symbols = [...mod.symbols].sort((a: Json, b: Json) => a.name.localeCompare(b.name));
  for (const s of symbols) {
    const decl = s.declarations[0];
    const file = decl.location.filename.replace(root, "");
    const lines = [
      `### \`${s.name}\``,
      "",
      "```ts ignore",
      signature(s.name, decl),
      "```",
      "",
      docText(decl.jsDoc),
      ...(tagLines(decl.jsDoc).length ? ["", ...tagLines(decl.jsDoc)] : []),
      ...members(decl),
      "",
    ];
    if (!byFile.has(file)) byFile.set(file, []);
    byFile.get(file)!.push(lines.join("\n"));
  }
  const files = [...byFile.keys()].sort();
  const out = [
    "# API reference",
    "",
    "Generated from the JSDoc of `mod.ts` by `docs/api/build_api_md.ts` (`deno doc --json mod.ts`); do not edit by",
    "hand. Signatures are marked `ts ignore` so that `deno test --doc` does not try to run them; every function's",
    "runnable examples are in its source file.",
    "",
    docText(mod.module_doc),
    "",
    "## Contents",
    "",
    ...files.map((f) => `- \`${f}\`: ${byFile.get(f)!.length} symbol(s)`),
    "",
  ];
  for (const f of files) out.push(`## \`${f}\``, "", ...byFile.get(f)!);
  return out.join("\n").replace(/\n{3,}/g, "\n\n");
}

if (import.meta.main) {
  const rootUrl = new URL("../../", import.meta.url);
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", "mod.ts"],
    cwd: fileURLToPath(rootUrl),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    console.error(new TextDecoder().decode(stderr));
    Deno.exit(1);
  }
  const md = apiMarkdown(JSON.parse(new TextDecoder().decode(stdout)), rootUrl.href);
  const path = fileURLToPath(new URL("docs/api/README.md", rootUrl));
  await writeFile(path, md);
  console.log(`wrote ${path}`);
}
