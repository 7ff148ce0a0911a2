// What a host keeps of a dataset service's jobs so it can end them as failed when the service dies (both hosts).
import { expect, it } from 'vitest';
import { OpenJobs } from '../../../electron/common/open-jobs';

it('ends the jobs still open as failed, once', () => {
  const jobs = new OpenJobs();
  jobs.track({ jobId: 'a', kind: 'import', datasetId: 'd', done: 1, message: 'x.png' });
  jobs.track({ jobId: 'b', kind: 'detect', datasetId: 'd', done: 0, total: 4, message: 'listing items' });
  jobs.track({ jobId: 'b', kind: 'detect', datasetId: 'd', done: 2, total: 4, message: '1.0 items/s' });
  jobs.track({ jobId: 'a', kind: 'import', datasetId: 'd', done: 3, total: 3, message: '3 imported', ended: 'finished' });
  expect(jobs.failAll('stopped')).toEqual([{ jobId: 'b', kind: 'detect', datasetId: 'd', done: 2, total: 4, message: 'stopped', ended: 'failed' }]);
  expect(jobs.failAll('stopped')).toEqual([]);
});
