#!/usr/bin/env node
// Builds the native addon (native/) with node-gyp.
//
//   node scripts/build-native.mjs                  build native/build (npm run build:native)
//   node scripts/build-native.mjs --install        the same from `npm install`: a failed build
//                                                  warns and exits 0, since PeerLink runs on its
//                                                  WASM/JS cores without the addon, unless the
//                                                  native cores are required (below)
//   node scripts/build-native.mjs --arch=arm64 --out=DIR
//                                                  cross-build into DIR (set CC, CXX and LINK to
//                                                  the target's compilers); native/build is left
//                                                  as it is
//
// The native cores are required (a failed build fails the install) when PEERLINK_REQUIRE_NATIVE=1,
// or when CI is set (to anything but "false" or "0") and PEERLINK_REQUIRE_NATIVE is not 0.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const native = join(root, 'native')

function parseArgs (argv) {
  const opts = { install: false, arch: undefined, out: undefined }
  for (const arg of argv) {
    if (arg === '--install') opts.install = true
    else if (arg.startsWith('--arch=')) opts.arch = arg.slice('--arch='.length)
    else if (arg.startsWith('--out=')) opts.out = resolve(arg.slice('--out='.length))
    else throw new Error(`unknown argument ${arg}: use --install, --arch=ARCH, --out=DIR`)
  }
  return opts
}

function nativeRequired (env) {
  const flag = env.PEERLINK_REQUIRE_NATIVE
  if (flag !== undefined && flag !== '') return flag !== '0'
  return env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0'
}

/** The directory to build in: native/ itself, or a copy of its sources in `out`. */
function buildDirectory (out) {
  if (out === undefined) return native
  mkdirSync(out, { recursive: true })
  cpSync(join(native, 'binding.gyp'), join(out, 'binding.gyp'))
  cpSync(join(native, 'src'), join(out, 'src'), { recursive: true })
  return out
}

/** node-gyp's exit status: npm's own node-gyp when npm runs us, else the one on PATH. */
function nodeGyp (directory, arch) {
  const gyp = process.env.npm_config_node_gyp
  const args = ['rebuild', `--directory=${directory}`, ...(arch !== undefined ? [`--arch=${arch}`] : [])]
  // binding.gyp finds node-addon-api with require(), which a copy outside the tree cannot.
  const env = { ...process.env, NODE_PATH: [join(root, 'node_modules'), process.env.NODE_PATH].filter(Boolean).join(':') }
  const r = gyp !== undefined
    ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit', env })
    : spawnSync('node-gyp', args, { stdio: 'inherit', env, shell: process.platform === 'win32' })
  if (r.error !== undefined) console.error(`node-gyp could not run: ${r.error.message}`)
  return r.status ?? 1
}

const WARNING = `
PeerLink: the native addon could not be built (see the node-gyp output above).
PeerLink will run on the slower WASM/JS cores (BLAKE3 in WASM, Reed-Solomon in JS,
Noise's own ChaCha20-Poly1305). To get the native one, install Python 3, make and a
C++17 compiler (Debian/Ubuntu: apt-get install python3 make g++; macOS:
xcode-select --install), then run: npm run build:native
`

const opts = parseArgs(process.argv.slice(2))
const status = nodeGyp(buildDirectory(opts.out), opts.arch)
if (status !== 0) {
  if (!opts.install || nativeRequired(process.env)) {
    console.error('PeerLink: building the native addon failed' +
      (opts.install ? ' and the native cores are required here (CI or PEERLINK_REQUIRE_NATIVE=1)' : ''))
    process.exit(status)
  }
  console.warn(WARNING)
}
