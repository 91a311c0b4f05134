// `vite build --config tests/bundler/vite.config.js`: bundles tests/bundler/ into
// target/bundler-app, resolving `image-classifier` to the built package in pkg/.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');

export default defineConfig({
  root: here,
  base: './',
  logLevel: 'warn',
  resolve: { alias: { 'image-classifier': path.join(root, 'pkg') } },
  worker: { format: 'es' },
  build: { outDir: path.join(root, 'target/bundler-app'), emptyOutDir: true, target: 'es2022' },
});
