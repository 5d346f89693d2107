import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

// two pages, one build: the mini-program's (index.html, at /m/) and the PC console's (console.html, at /), both
// served by the gateway (services/gateway/gateway/api/web.py) with assets under /m/assets/, under a strict CSP: no
// inline script
// Vant's icon font is inlined (data:) with a fallback on a CDN: the fallback is dropped, nothing leaves the origin
const noRemoteFont: Plugin = {
  name: 'no-remote-font',
  transform(code, id) {
    if (!id.includes('vant') || !id.endsWith('.css')) return null
    return code.replace(/,\s*url\(\/\/at\.alicdn\.com[^)]*\)\s*format\("woff"\)/g, '')
  },
}

// each text file is also written gzipped (name.gz): the gateway sends it to browsers that accept gzip
const gzipped: Plugin = {
  name: 'gzipped',
  apply: 'build',
  closeBundle() {
    const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => {
      const path = join(dir, name)
      return statSync(path).isDirectory() ? walk(path) : [path]
    })
    for (const path of walk('dist').filter((p) => /\.(js|css|html|svg|json)$/.test(p))) {
      writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }))
    }
  },
}

export default defineConfig({
  base: '/m/',
  plugins: [vue(), noRemoteFont, gzipped],
  build: {
    outDir: 'dist', modulePreload: { polyfill: false }, chunkSizeWarningLimit: 1200, assetsInlineLimit: 0,
    rollupOptions: { input: { mobile: 'index.html', console: 'console.html' } },
  },
  worker: { format: 'es' },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
