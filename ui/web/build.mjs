// Builds the meshscope UI into ../dist: hashed bundles under dist/assets,
// an index.html that references them, and a .gz sibling for every file.
//
//   node build.mjs           production build (minified)
//   node build.mjs --dev     unminified build with inline source maps
//   node build.mjs --watch   --dev, rebuilding on every change
import * as esbuild from "esbuild";
import { createHash } from "node:crypto";
import { promises as fs } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import zlib from "node:zlib";

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = path.resolve(here, "..", "dist");
const assets = path.join(dist, "assets");
const watch = process.argv.includes("--watch");
const dev = watch || process.argv.includes("--dev");

const common = {
  bundle: true,
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  target: ["es2022", "chrome110", "firefox110", "safari16"],
  entryNames: "[name]-[hash]",
  assetNames: "[name]-[hash]",
  outdir: assets,
  metafile: true,
  legalComments: "none",
  logLevel: "warning",
};

async function clean() {
  await fs.mkdir(dist, { recursive: true });
  for (const name of await fs.readdir(dist)) {
    if (name === ".gitkeep") continue;
    await fs.rm(path.join(dist, name), { recursive: true, force: true });
  }
  await fs.mkdir(assets, { recursive: true });
}

function outputsOf(result, ext) {
  return Object.keys(result.metafile.outputs)
    .filter((f) => f.endsWith(ext))
    .map((f) => "/assets/" + path.basename(f));
}

async function gzipAll(dir) {
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      await gzipAll(p);
      continue;
    }
    if (entry.name.endsWith(".gz") || entry.name === ".gitkeep") continue;
    const data = await fs.readFile(p);
    const gz = zlib.gzipSync(data, { level: 9 });
    if (gz.length < data.length) await fs.writeFile(p + ".gz", gz);
  }
}

async function buildOnce() {
  const t0 = Date.now();
  await clean();
  const worker = await esbuild.build({
    ...common,
    entryPoints: { "layout-worker": path.join(here, "src/layout-worker.ts") },
    format: "iife",
  });
  const workerURL = outputsOf(worker, ".js")[0];
  const main = await esbuild.build({
    ...common,
    entryPoints: { main: path.join(here, "src/main.ts") },
    format: "esm",
    define: { __LAYOUT_WORKER_URL__: JSON.stringify(workerURL) },
  });
  const js = outputsOf(main, ".js");
  const css = outputsOf(main, ".css");
  const template = await fs.readFile(path.join(here, "src/index.html"), "utf8");
  const version = createHash("sha256").update(js.join() + css.join()).digest("hex").slice(0, 12);
  const html = template
    .replace("<!--CSS-->", css.map((h) => `<link rel="stylesheet" href="${h}">`).join("\n"))
    .replace("<!--JS-->", js.map((h) => `<script type="module" src="${h}"></script>`).join("\n"))
    .replace("<!--VERSION-->", version);
  await fs.writeFile(path.join(dist, "index.html"), html);
  if (!dev) await gzipAll(dist);
  let total = 0;
  for (const f of [...js, ...css, workerURL]) total += (await fs.stat(path.join(dist, f))).size;
  console.log(`built ${js.concat(css, [workerURL]).join(", ")} (${(total / 1024).toFixed(0)} KiB) in ${Date.now() - t0} ms`);
}

if (watch) {
  // Rebuild whenever a file under src/ changes (polled, no extra dependency).
  let last = "";
  let building = false;
  const tick = async () => {
    const stamp = (await listFiles(path.join(here, "src"))).join();
    if (stamp !== last && !building) {
      last = stamp;
      building = true;
      await buildOnce().catch((err) => console.error(err.message));
      building = false;
    }
  };
  await tick();
  setInterval(tick, 500);
  console.log("watching src/ for changes");
} else {
  await buildOnce();
}

async function listFiles(dir) {
  const out = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(p)));
    else out.push(p + ":" + (await fs.stat(p)).mtimeMs);
  }
  return out;
}
