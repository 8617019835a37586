// Lint rules, including the import boundaries of docs/architecture (the arrows of the brief):
//   app → core, app ⇢ workers (types only), workers → core, sensor → core, server → core, sw → core;
//   core imports only @noble/*; nothing imports app, test or bench.
import js from '@eslint/js';
import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const zone = (target, from, message, except) => ({ target, from, message, ...(except ? { except } : {}) });

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'test-results/**', 'bench/results/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { typescript: { project: './tsconfig.node.json' } } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      'import-x/no-unresolved': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            zone('./src/core', './', 'src/core is pure: it imports only @noble/* and itself.', ['./src/core', './node_modules/@noble']),
            zone('./src/sw', './', 'The service worker imports only core.', ['./src/sw', './src/core', './node_modules']),
            zone('./workers', './', 'Workers import only core.', ['./workers', './src/core', './node_modules']),
            zone('./sensor', './', 'The sensor imports only core.', ['./sensor', './src/core', './node_modules']),
            zone('./server', './', 'The server imports only core.', ['./server', './src/core', './node_modules']),
            zone('./src/app', './', 'The app imports core, and workers only as types.', ['./src/app', './src/core', './workers', './node_modules', './public']),
            // Tests and benchmarks drive the app's own client; no production code imports the app.
            zone(['./src/core', './src/sw', './workers', './sensor', './server'], './src/app', 'Nothing imports the app.'),
            zone(['./src', './workers', './sensor', './server', './bench'], './test', 'Nothing imports the tests.'),
            zone(['./src', './workers', './sensor', './server', './test'], './bench', 'Nothing imports the benchmarks.'),
          ],
        },
      ],
    },
  },
  {
    // The core may not reach the platform at all: no Node built-ins, no packages but @noble.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!@noble/|\\.{1,2}/)', message: 'src/core imports only @noble/* and relative core modules.' }] },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage', 'indexedDB', 'process', 'console', 'fetch', 'crypto', 'setTimeout', 'setInterval'],
    },
  },
  {
    // The app may import worker modules for their types only.
    files: ['src/app/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '(^|/)workers/', allowTypeImports: true, message: 'Import worker code with `import type` only.' }] },
      ],
    },
  },
);
