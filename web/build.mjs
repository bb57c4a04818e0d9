// Build the browser bundles, committed under server/summitpad/static/:
//   pad.js + pad.css              the pad and session pages
//   projector.js + projector.css  the projector view of a session and the signage of a room
//   board.js                      keeps the summit board's now/next and activity current
//   history.js + history.css      a pad's history page: the timeslider
//   pad.licenses.txt              the licenses of the third-party code in all of them
// Building twice from the same lockfile gives identical bytes.
//   npm ci && npm run build

import * as esbuild from 'esbuild'
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))
const outdir = path.resolve(here, '..', 'server', 'summitpad', 'static')
const LICENSES = 'pad.licenses.txt'
const ENTRIES = ['pad', 'projector', 'history'] // a script and a stylesheet each
const SCRIPTS = ['board'] // a script only: the page's styles are in site.css

const common = {
  absWorkingDir: here,
  bundle: true,
  minify: true,
  sourcemap: false,
  // the licenses of the bundled packages are collected in pad.licenses.txt instead
  legalComments: 'none',
  charset: 'ascii',
  logLevel: 'info',
  metafile: true,
  write: true
}

const buildScript = name => esbuild.build({
  ...common,
  entryPoints: [`src/${name}.js`],
  outfile: path.join(outdir, `${name}.js`),
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  define: { 'process.env.NODE_ENV': '"production"' },
  banner: { js: `/* summitpad ${name}.js: built from web/ by build.mjs; third-party licenses: ${LICENSES} */` }
})

const results = []
for (const name of ENTRIES) {
  results.push(await buildScript(name))
  results.push(await esbuild.build({
    ...common,
    entryPoints: [`src/${name}.css`],
    outfile: path.join(outdir, `${name}.css`),
    target: ['chrome90', 'firefox90', 'safari14'],
    banner: { css: `/* summitpad ${name}.css: built from web/ by build.mjs; third-party licenses: ${LICENSES} */` }
  }))
}

for (const name of SCRIPTS) results.push(await buildScript(name))

// ---- third-party notices: every npm package that contributed a file to any bundle ----

const packageOf = input => {
  const parts = input.split('/')
  const i = parts.lastIndexOf('node_modules')
  if (i < 0) return null
  const name = parts[i + 1].startsWith('@') ? parts.slice(i + 1, i + 3).join('/') : parts[i + 1]
  return { name, dir: parts.slice(0, i + 1).join('/') + '/' + name }
}

const packages = new Map()
for (const result of results) {
  for (const input of Object.keys(result.metafile.inputs)) {
    const pkg = packageOf(input)
    if (pkg) packages.set(pkg.dir, pkg.name)
  }
}

const notices = []
for (const [dir, name] of [...packages].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))) {
  const meta = JSON.parse(await readFile(path.join(here, dir, 'package.json'), 'utf8'))
  const licenseFile = (await readdir(path.join(here, dir))).filter(f => /^(licen[cs]e|copying)(\.(md|txt))?$/i.test(f)).sort()[0]
  let text
  if (licenseFile) {
    text = (await readFile(path.join(here, dir, licenseFile), 'utf8')).replace(/\r\n?/g, '\n').trim()
  } else {
    const author = typeof meta.author === 'string' ? meta.author : meta.author && meta.author.name
    text = `License: ${meta.license || 'see the package'}${author ? `\nAuthor: ${author}` : ''}\n(the package ships no license file)`
  }
  notices.push(`${'='.repeat(72)}\n${name} ${meta.version}  (${meta.license || 'unknown'})\n${'='.repeat(72)}\n\n${text}\n`)
}

await mkdir(outdir, { recursive: true })
await writeFile(
  path.join(outdir, LICENSES),
  `Third-party software bundled in ${ENTRIES.flatMap(name => [`${name}.js`, `${name}.css`]).join(', ')}\n\n` + notices.join('\n')
)
console.log(`wrote ${LICENSES} (${notices.length} packages)`)
