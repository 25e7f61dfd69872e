/**
 * Prometheus metrics of the job system. One registry per process (not prom-client's global one) so
 * tests and benches can create several queues without "metric already registered" clashes.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface JobMetrics {
  registry: Registry;
  queueDepth: Gauge;
  stageSeconds: Histogram;
  jobSeconds: Histogram;
  failures: Counter;
  retries: Counter;
  deliveries: Counter;
}

export function createJobMetrics(options: { defaults?: boolean } = {}): JobMetrics {
  const registry = new Registry();
  if (options.defaults) collectDefaultMetrics({ register: registry, prefix: 'charades_' });
  const buckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30, 60];
  return {
    registry,
    queueDepth: new Gauge({ name: 'charades_queue_depth', help: 'Jobs waiting or running', registers: [registry] }),
    stageSeconds: new Histogram({
      name: 'charades_stage_seconds',
      help: 'Seconds per pipeline stage',
      labelNames: ['stage'],
      buckets,
      registers: [registry],
    }),
    jobSeconds: new Histogram({
      name: 'charades_job_seconds',
      help: 'Seconds from enqueue to result',
      buckets,
      registers: [registry],
    }),
    failures: new Counter({
      name: 'charades_job_failures_total',
      help: 'Jobs that failed after all attempts',
      labelNames: ['reason'],
      registers: [registry],
    }),
    retries: new Counter({
      name: 'charades_job_retries_total',
      help: 'Job attempts that failed and were retried',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'charades_deliveries_total',
      help: 'Replies delivered',
      labelNames: ['platform'],
      registers: [registry],
    }),
  };
}

export function recordTimings(metrics: JobMetrics, timings: Partial<Record<string, number>>): void {
  for (const [stage, ms] of Object.entries(timings))
    if (ms !== undefined) metrics.stageSeconds.observe({ stage }, ms / 1000);
}
