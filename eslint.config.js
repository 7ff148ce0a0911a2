// Lint: TypeScript-aware rules plus the layer directions of ../shared/STYLE.md, enforced with
// per-folder no-restricted-imports (the way VS Code enforces its layers).
import tseslint from 'typescript-eslint';
import pluginVue from 'eslint-plugin-vue';

const layer = (files, patterns, message) => ({
  files,
  rules: {
    'no-restricted-imports': ['error', { patterns: [{ group: patterns, message }] }],
  },
});

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'out/**', 'release/**', '.cache/**', 'test-results/**', 'playwright-report/**', 'data/**'] },
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'].map((c) => (c.files || c.rules ? { ...c, files: ['**/*.vue'] } : c)),
  {
    files: ['**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser } },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'vue/multi-word-component-names': 'off',
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off',
    },
  },
  // native-models depends on nothing of ours, and never on Electron or the DOM frameworks.
  layer(['native-models/**'], ['**/electron/**', '**/renderer/**', 'electron', 'vue', 'pinia'],
    'native-models is the Electron-free ML core: it imports nothing from electron/ or renderer/.'),
  // Only runtime/ talks to onnxruntime.
  {
    files: ['native-models/**'],
    ignores: ['native-models/runtime/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/electron/**', '**/renderer/**', 'electron', 'vue', 'pinia'], message: 'native-models imports nothing from electron/ or renderer/.' },
          { group: ['onnxruntime-node', 'onnxruntime-common', 'onnxruntime-web'], message: 'Only native-models/runtime may import onnxruntime.' },
        ],
      }],
    },
  },
  layer(['electron/common/**'], ['**/services/**', '**/main/**', '**/preload/**', '**/web/**', '**/workers/**', '**/native-models/**', '**/renderer/**', 'electron', 'node:*'],
    'electron/common is the typed contract: types only, importing nothing but itself.'),
  layer(['electron/services/**'], ['electron', '**/renderer/**', '**/main/**', '**/preload/**'],
    'electron/services are Electron-free service classes.'),
  layer(['electron/web/**'], ['electron', '**/renderer/**', '**/main/**', '**/preload/**'],
    'electron/web serves the contract to a browser without Electron.'),
  // The 'electron' package is matched by regex: a gitignore-style 'electron' would also match the
  // electron/ folder, and with it electron/common, which the renderer must reach.
  {
    files: ['renderer/**'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/services/**', '**/main/**', '**/preload/**', '**/web/**', '**/workers/**', '**/native-models/**', 'node:*'], message: 'The renderer sees only the types of electron/common, through its bridge.' },
          { regex: '^electron(/.*)?$', message: 'The renderer sees only the types of electron/common, through its bridge.' },
        ],
      }],
    },
  },
);
