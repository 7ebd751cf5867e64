// Lint rules for the whole project: neostandard (the style the code is written in) with
// TypeScript support, plus the size limits that keep functions and files readable.
// Run from the repository root: `npm run lint` (eslint --config scripts/eslint.config.js),
// so the patterns below are relative to the root.
import neostandard from 'neostandard'

export default [
  ...neostandard({
    ts: true,
    ignores: ['dist/**', 'native/build/**', 'node_modules/**', 'simulations/results/**', '**/pb/*.ts']
  }),
  {
    rules: {
      // `void promise` marks a promise deliberately not awaited (its errors are handled inside).
      'no-void': ['error', { allowAsStatement: true }]
    }
  },
  {
    files: ['src/**/*.ts'],
    rules: {
      'max-lines': ['error', { max: 400, skipBlankLines: true, skipComments: true }],
      'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }]
    }
  }
]
