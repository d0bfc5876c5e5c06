import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { downloadFile, DownloadUnreachableError } from "../../lib/install/download.ts";

const BODY = new Uint8Array(300_000).map((_, i) => (i * 31 + (i >> 8)) & 255);
const SHA = createHash("sha256").update(BODY).digest("hex");

interface ServerOptions {
  /** Serve only the first n bytes of the body, then end the stream (a dropped connection). */
  cutAt?: number;
  /** Ignore Range headers. */
  ignoreRange?: boolean;
  /** Value of the X-Linked-ETag header. */
  etag?: string;
  /** Serve these bytes instead of BODY (while announcing BODY's hash). */
  body?: Uint8Array;
}

/** A local file server on 127.0.0.1 that honours Range requests; records the Range headers it saw. */
async function withServer(
  options: ServerOptions,
  fn: (url: string, ranges: (string | null)[]) => Promise<void>,
): Promise<void> {
  const ranges: (string | null)[] = [];
  const body = options.body ?? BODY;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request) => {
    if (new URL(request.url).pathname !== "/model.onnx") return new Response("not found", { status: 404 });
    const range = request.headers.get("range");
    ranges.push(range);
    const headers = new Headers({ "x-linked-etag": `"${options.etag ?? SHA}"` });
    let start = 0;
    let status = 200;
    const m = /^bytes=(\d+)-$/.exec(range ?? "");
    if (m && !options.ignoreRange) {
      start = Number(m[1]);
      status = 206;
      headers.set("content-range", `bytes ${start}-${body.length - 1}/${body.length}`);
    }
    headers.set("content-length", String(body.length - start));
    const end = options.cutAt !== undefined ? Math.min(options.cutAt, body.length) : body.length;
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        if (end > start) controller.enqueue(body.slice(start, end));
        if (end < body.length) setTimeout(() => controller.error(new Error("test: connection dropped")), 50);
        else controller.close();
      },
    });
    return new Response(stream, { status, headers });
  });
  try {
    await fn(`http://127.0.0.1:${server.addr.port}/model.onnx`, ranges);
  } finally {
    await server.shutdown();
  }
}

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("downloadFile: downloads, reports progress and checks the hash the server announces", async () => {
  await withServer({}, async (url) => {
    await withDir(async (dir) => {
      const progress: number[] = [];
      const result = await downloadFile(url, join(dir, "sub", "model.onnx"), {
        onProgress: (done, total) => {
          assert.equal(total, BODY.length);
          progress.push(done);
        },
      });
      assert.deepEqual(await Deno.readFile(join(dir, "sub", "model.onnx")), BODY);
      assert.equal(result.sha256, SHA);
      assert.equal(result.verifiedBy, "server");
      assert.equal(result.resumedFrom, 0);
      assert.equal(progress.at(-1), BODY.length);
      assert.equal((await Array.fromAsync(Deno.readDir(join(dir, "sub")))).length, 1, "no .part left");
    });
  });
});

Deno.test("downloadFile: a truncated download keeps its .part and the next run resumes it with Range", async () => {
  await withDir(async (dir) => {
    const dest = join(dir, "model.onnx");
    await withServer({ cutAt: 120_000 }, async (url) => {
      await assert.rejects(downloadFile(url, dest), (error: Error) => {
        assert.ok(error instanceof RangeError);
        assert.match(
          error.message,
          /stopped after 120000 of 300000 bytes .*run the same command again to resume$/,
        );
        return true;
      });
    });
    assert.equal((await Deno.stat(`${dest}.part`)).size, 120_000);
    await assert.rejects(Deno.stat(dest), Deno.errors.NotFound);
    await withServer({}, async (url, ranges) => {
      const result = await downloadFile(url, dest, { sha256: SHA });
      assert.deepEqual(ranges, ["bytes=120000-"]);
      assert.equal(result.resumedFrom, 120_000);
      assert.equal(result.verifiedBy, "pinned");
      assert.deepEqual(await Deno.readFile(dest), BODY);
    });
  });
});

Deno.test("downloadFile: a server that ignores Range gets the whole file again", async () => {
  await withDir(async (dir) => {
    const dest = join(dir, "model.onnx");
    await Deno.writeFile(`${dest}.part`, new Uint8Array(5000).fill(7)); // garbage from an earlier attempt
    await withServer({ ignoreRange: true }, async (url) => {
      const result = await downloadFile(url, dest);
      assert.equal(result.resumedFrom, 0);
      assert.deepEqual(await Deno.readFile(dest), BODY);
    });
  });
});

Deno.test("downloadFile: a SHA-256 mismatch (pinned or announced) deletes the download", async () => {
  await withDir(async (dir) => {
    const dest = join(dir, "model.onnx");
    const wrong = "0".repeat(64);
    await withServer({}, async (url) => {
      await assert.rejects(
        downloadFile(url, dest, { sha256: wrong }),
        new RegExp(
          `^RangeError: File model.onnx from ${url} has SHA-256 ${SHA}, expected ${wrong}; the download was deleted, run the command again$`,
        ),
      );
    });
    const corrupt = BODY.slice();
    corrupt[1234] ^= 1;
    await withServer({ body: corrupt }, async (url) => {
      await assert.rejects(
        downloadFile(url, dest),
        /has SHA-256 [0-9a-f]{64}, expected [0-9a-f]{64}; the download was deleted/,
      );
    });
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "neither the file nor a .part is left");
  });
});

Deno.test("downloadFile: an unreachable host and HTTP errors give one-line errors", async () => {
  await withDir(async (dir) => {
    // A port nothing listens on: bind one, note it, close it.
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    listener.close();
    await assert.rejects(
      downloadFile(`http://127.0.0.1:${port}/model.onnx`, join(dir, "m.onnx")),
      (error: Error) => {
        assert.ok(error instanceof DownloadUnreachableError);
        assert.equal(error.host, `127.0.0.1:${port}`);
        assert.match(error.message, new RegExp(`^cannot reach 127.0.0.1:${port} \\(`));
        assert.ok(!error.message.includes("\n"));
        return true;
      },
    );
    await withServer({}, async (url) => {
      await assert.rejects(
        downloadFile(url.replace("model.onnx", "missing.onnx"), join(dir, "m.onnx")),
        /^Error: Download of .*missing.onnx failed: HTTP 404 Not Found; expected the file$/,
      );
    });
  });
});
