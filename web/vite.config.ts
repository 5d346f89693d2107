import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// served by the gateway at /m/ (services/gateway/gateway/api/web.py), under a strict CSP: no inline script
export default defineConfig({
  base: '/m/',
  plugins: [vue()],
  build: { outDir: 'dist', modulePreload: { polyfill: false }, chunkSizeWarningLimit: 900, assetsInlineLimit: 0 },
  server: { proxy: { '/api': 'http://127.0.0.1:8000' } },
})
