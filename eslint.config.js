// ESLint flat config: type-checked rules (no-floating-promises above all) and a boundary rule that
// keeps the domain core pure — no I/O libraries, no node:* modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.demo-data/', '.scratch/', '.bench/', 'coverage/', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*', 'kafkajs', 'ioredis', 'pg', 'prom-client', 'fs', 'path'], message: 'src/domain is pure: no I/O.' },
            { group: ['../app/*', '../adapters/*', '../cli/*', '../../*'], message: 'Dependencies point inward.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'src/domain reads no environment.' }],
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Event time, not wall-clock time.' }],
    },
  },
);
