// Builds the web UI bundle: src/main.js -> app.js, src/style.css -> app.css
// (esbuild, minified, no source maps, no external imports), and copies
// src/index.html. Usage: node build.mjs OUTDIR (default: dist). The ccai
// build (cmake/WebUI.cmake) runs this and embeds OUTDIR's three files in the
// binary; nothing here fetches anything.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(process.argv[2] || join(here, 'dist'));
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'eof', logLevel: 'warning', absWorkingDir: here };
await build({ ...common, entryPoints: ['src/main.js'], outfile: join(out, 'app.js'), format: 'esm', target: ['es2020'] });
await build({ ...common, entryPoints: ['src/style.css'], outfile: join(out, 'app.css') });
copyFileSync(join(here, 'src/index.html'), join(out, 'index.html'));
