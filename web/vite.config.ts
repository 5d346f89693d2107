import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'

// served by the gateway at /m/ (services/gateway/gateway/api/web.py), under a strict CSP: no inline script
// Vant's icon font is inlined (data:) with a fallback on a CDN: the fallback is dropped, nothing leaves the origin
const noRemoteFont: Plugin = {
  name: 'no-remote-font',
  transform(code, id) {
    if (!id.includes('vant') || !id.endsWith('.css')) return null
    return code.replace(/,\s*url\(\/\/at\.alicdn\.com[^)]*\)\s*format\("woff"\)/g, '')
  },
}

export default defineConfig({
  base: '/m/',
  plugins: [vue(), noRemoteFont],
  build: { outDir: 'dist', modulePreload: { polyfill: false }, chunkSizeWarningLimit: 900, assetsInlineLimit: 0 },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
