import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { languageOptions: { globals: globals.node } },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': ['error', {
        selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
        message: 'Inject a Clock instead of calling Date.now(): code that reads the time through a Clock can be tested at any time.',
      }],
    },
  },
  {
    files: ['src/domain/clock.ts', 'bench/**', 'test/**', 'src/cli.ts', 'src/demo/**', 'src/observability/**', 'src/redis/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
