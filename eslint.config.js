// ESLint for the harness, the labs' specs, the tests and the site's code: typescript-eslint's
// recommended rules, plus the type-aware ones that catch a promise nobody awaits (a poll whose
// failure would be lost, a teardown that never finishes).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'runs/**', 'reports/**', 'docs-site/node_modules/**', 'docs-site/build/**', 'docs-site/.docusaurus/**', 'docs-site/static/**', 'docs-site/test/.work/**'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.mts', '**/*.tsx'],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // node:test's test() returns a promise its runner awaits itself.
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', name: ['test', 'describe', 'it', 'suite'], package: 'node:test' }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
  {
    // The site's browser tests hand functions to Playwright's page.evaluate: they run in the page.
    files: ['docs-site/test/**/*.mjs'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', getComputedStyle: 'readonly', Node: 'readonly' } },
  },
);
