// ESLint 9 flat config. typescript-eslint's `recommended` set, not the type-checked one, so linting the
// whole tree stays a few seconds; Prettier owns layout (.prettierrc.json), so no stylistic rules here.
import { defineConfig } from 'eslint/config';
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default defineConfig(
  {
    // build output, installed packages, notebooks with their weights, and test inputs (as .prettierignore)
    ignores: ['dist/', 'dist-*/', 'node_modules/', 'notebooks/', 'test/fixtures/', '.jupyter/', '.tmp/', 'runs/'],
  },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      // `const { dom, ...rest } = x` drops a field on purpose
      '@typescript-eslint/no-unused-vars': ['error', { ignoreRestSiblings: true }],
    },
  },
  {
    // plain CommonJS Node scripts (scripts/postinstall.js, scripts/render-notebook.js)
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: globals.node },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: globals.node },
  },
);
