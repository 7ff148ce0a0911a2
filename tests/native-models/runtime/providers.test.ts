// Execution-provider fallback (runtime/providers.ts): the order tried, the report of why each other candidate was not
// used, one probe per missing library, and a CPU failure that is the model's own error. The candidates that fail here
// are made to fail by `create` (this machine has no GPU); the real CPU session is in runtime.test.ts.
import { afterEach, expect, it } from 'vitest';
import {
  availableProviders, explainProviderError, formatProviderReport, preferredProviders, withProviderFallback, type ProviderName,
} from '../../../native-models/runtime/index';

const saved = process.env.OPT_PROVIDERS;
afterEach(() => {
  if (saved === undefined) delete process.env.OPT_PROVIDERS;
  else process.env.OPT_PROVIDERS = saved;
});

it('reads the preference from OPT_PROVIDERS or the default, without repeats, CPU always last-resort', () => {
  delete process.env.OPT_PROVIDERS;
  expect(preferredProviders()).toEqual(['cuda', 'dml', 'webgpu', 'cpu']);
  process.env.OPT_PROVIDERS = ' cuda , cuda,webgpu ';
  expect(preferredProviders()).toEqual(['cuda', 'webgpu', 'cpu']);
  expect(preferredProviders(['cpu', 'cuda'])).toEqual(['cpu', 'cuda']);
});

it('falls back in order, reports why each candidate was not used, probes a failing one once, and never masks a CPU failure', async () => {
  const built = new Set(availableProviders().map((b) => b.name));
  expect(built.has('cpu')).toBe(true);
  const tried: ProviderName[] = [];
  const create = async (p: ProviderName) => {
    tried.push(p);
    if (p === 'cuda') throw new Error('Failed to load library libonnxruntime_providers_cuda.so with error: libcublasLt.so.12: cannot open shared object file: No such file or directory');
    if (p === 'webgpu') throw new Error('Failed to get a WebGPU adapter: no device\nstack...');
    return `session on ${p}`;
  };
  const prefs: ProviderName[] = ['cuda', 'dml', 'webgpu', 'cpu', 'coreml'];
  const { value, report } = await withProviderFallback(prefs, create);
  expect(value).toBe('session on cpu');
  expect(report.active).toBe('cpu');
  const status = Object.fromEntries(report.attempts.map((a) => [a.name, a.status]));
  // This build: CPU and WebGPU bundled, CUDA listed (libraries installed separately); no DirectML or CoreML on Linux.
  expect(status).toEqual({
    cuda: built.has('cuda') ? 'failed' : 'unavailable', dml: built.has('dml') ? status.dml : 'unavailable',
    webgpu: built.has('webgpu') ? 'failed' : 'unavailable', cpu: 'active', coreml: 'skipped',
  });
  if (built.has('cuda')) expect(report.attempts[0].reason).toBe('cuda: libcublasLt.so.12: cannot open shared object file: No such file or directory');
  expect(formatProviderReport(report)).toMatch(/cpu: active · coreml: skipped \(not needed \(cpu is active\)\)$/);
  // The next session does not probe the libraries that failed again; it reports the same reasons.
  tried.length = 0;
  const again = await withProviderFallback(prefs, create);
  expect(tried).toEqual(['cpu']);
  expect(again.report.attempts.map((a) => a.reason)).toEqual(report.attempts.map((a) => a.reason));
  // CPU failing is the model's fault: its own error, not "no provider".
  const bad = new Error('Load model failed: protobuf parsing failed');
  await expect(withProviderFallback(['cpu'], async () => { throw bad; })).rejects.toBe(bad);
});

it('shortens onnxruntime errors to their cause', () => {
  expect(explainProviderError('cuda', new Error('Failed to load shared library libonnxruntime_providers_cuda.so'))).toMatch(/^cuda: provider library not installed .*--onnxruntime-node-install=cuda/);
  expect(explainProviderError('webgpu', new Error('boom\nsecond line'))).toBe('webgpu: boom');
});
