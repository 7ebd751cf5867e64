#!/usr/bin/env node
// Builds the web page (src/ui/) into dist/ui/: the TypeScript bundled and minified by esbuild
// into one app.js, beside index.html and style.css. Run by `npm run build` and `prepare`
// (so `npm install` and `npm ci` build it), after tsc. No network: everything comes from
// node_modules. Prints each file's size, and app.js gzipped (the page must stay small).
//
//   node scripts/build-ui.mjs
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'

const root = resolve(fileURLToPath(new URL('..', import.meta.url)))
const src = join(root, 'src', 'ui')
const out = join(root, 'dist', 'ui')

rmSync(out, { recursive: true, force: true })
mkdirSync(out, { recursive: true })
await build({
  entryPoints: [join(src, 'main.ts')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  tsconfig: join(src, 'tsconfig.json'),
  legalComments: 'eof',
  logLevel: 'warning'
})
for (const file of ['index.html', 'style.css']) copyFileSync(join(src, file), join(out, file))

for (const file of ['app.js', 'index.html', 'style.css']) {
  const bytes = readFileSync(join(out, file))
  const gz = file === 'app.js' ? `, ${gzipSync(bytes, { level: 9 }).length} gzipped` : ''
  console.log(`dist/ui/${file}: ${bytes.length} bytes${gz}`)
}
