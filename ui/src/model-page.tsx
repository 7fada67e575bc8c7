import { useEffect, useState } from 'preact/hooks';
import { call, formatBytes, modelSummary, type LiveState } from './api';
import { ModelActions, StateBadge } from './actions';
import { Bars, LineChart, useLiveStats } from './charts';
import { EventList } from './events';
import { TryIt, type ModelMetadata } from './try-it';

type ModelConfig = Record<string, unknown> & {
  platform?: string;
  backend?: string;
  max_batch_size?: number;
  dynamic_batching?: { max_queue_delay_microseconds?: number; preferred_batch_size?: number[] };
  instance_group?: { count?: number; kind?: string }[];
  response_cache?: { enable?: boolean };
};

/** Metadata and configuration come from a READY replica; refetched when the model's readiness changes. */
function useModelInfo(name: string, ready: boolean): { metadata?: ModelMetadata; config?: ModelConfig; error?: string } {
  const [info, setInfo] = useState<{ metadata?: ModelMetadata; config?: ModelConfig; error?: string }>({});
  useEffect(() => {
    if (!ready) return;
    const path = `/v2/models/${encodeURIComponent(name)}`;
    Promise.all([call<ModelMetadata>('GET', path), call<ModelConfig>('GET', `${path}/config`)]).then(
      ([metadata, config]) => setInfo({ metadata, config }),
      (error: unknown) => setInfo({ error: error instanceof Error ? error.message : String(error) }),
    );
  }, [name, ready]);
  return info;
}

export function ModelPage({ name, live }: { name: string; live: LiveState }) {
  const model = live.overview?.models.find((m) => m.name === name);
  const ready = (model?.readyReplicas ?? 0) > 0;
  const info = useModelInfo(name, ready);
  const stats = useLiveStats(name);
  const times = stats.samples.map((s) => s.time);
  const summary = model ? modelSummary(model) : undefined;
  return (
    <>
      <p>
        <a href="#/">← Overview</a>
      </p>
      <h1 id="page-heading" tabIndex={-1}>
        Model {name} {summary && <StateBadge state={summary.state} />}
      </h1>
      {!live.overview ? (
        <p class="muted">Reading the cluster state…</p>
      ) : !model ? (
        <p class="error" role="alert">
          The cluster does not serve a model named “{name}”.
        </p>
      ) : (
        <>
          {summary?.reason && (
            <p class="reason" data-testid="model-reason">
              {summary.reason}
            </p>
          )}
          <section aria-labelledby="actions-heading" class="card">
            <h2 id="actions-heading">Actions</h2>
            <ModelActions model={model} />
          </section>

          <section aria-labelledby="versions-heading">
            <h2 id="versions-heading">Versions and placement</h2>
            <p>
              Desired replicas <strong>{model.replicas}</strong>, ready <strong>{model.readyReplicas}</strong>. Placement: <StateBadge state={model.placement.state} />{' '}
              {model.placement.nodes.length > 0 ? `on ${model.placement.nodes.join(', ')}` : ''} {model.placement.reason ?? ''}. Memory per replica: {formatBytes(model.memoryBytes)} (
              {model.memoryMeasured ? 'measured at load' : 'estimated from the model files'}).
            </p>
            <div class="table-wrap">
              <table>
                <caption class="sr-only">Versions of {name} on each worker</caption>
                <thead>
                  <tr>
                    <th scope="col">Worker</th>
                    <th scope="col">Version</th>
                    <th scope="col">State</th>
                    <th scope="col">Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {model.replicaStates.flatMap((r) => {
                    const versions = Object.entries(r.versions);
                    if (versions.length === 0)
                      return [
                        <tr key={r.node}>
                          <th scope="row">{r.node}</th>
                          <td>–</td>
                          <td>
                            <StateBadge state={r.state} />
                          </td>
                          <td>{r.live ? 'not reported yet' : 'worker is gone; replica being moved'}</td>
                        </tr>,
                      ];
                    return versions.map(([version, v]) => (
                      <tr key={`${r.node}/${version}`}>
                        <th scope="row">{r.node}</th>
                        <td>{version}</td>
                        <td>
                          <StateBadge state={v.state} />
                        </td>
                        <td class="reason">{v.reason ?? (r.live ? '' : 'worker is gone')}</td>
                      </tr>
                    ));
                  })}
                  {model.replicaStates.length === 0 && (
                    <tr>
                      <td colSpan={4}>No replica: {model.replicas === 0 ? 'the model is unloaded.' : 'not placed yet.'}</td>
                    </tr>
                  )}
                </tbody>
              </table>
            </div>
          </section>

          <section aria-labelledby="stats-heading">
            <h2 id="stats-heading">Live statistics</h2>
            {stats.error && <p class="error">Statistics are unavailable: {stats.error}</p>}
            {!stats.error && stats.samples.length < 2 && <p class="muted">Collecting samples (one every 2 s)…</p>}
            <div class="charts">
              <LineChart
                title="Requests"
                unit="per second"
                series={[
                  ['requests/s', '#2a6fdb'],
                  ['failures/s', '#c0392b'],
                ]}
                data={[times, stats.samples.map((s) => s.requestsPerSecond), stats.samples.map((s) => s.failuresPerSecond)]}
              />
              <LineChart
                title="Latency"
                unit="ms"
                series={[
                  ['p50', '#2a6fdb'],
                  ['p99', '#8e44ad'],
                  ['average', '#16a085'],
                ]}
                data={[times, stats.samples.map((s) => s.p50Ms), stats.samples.map((s) => s.p99Ms), stats.samples.map((s) => s.averageMs)]}
              />
              <LineChart
                title="Queue vs compute"
                unit="ms per request"
                series={[
                  ['queue', '#d35400'],
                  ['compute', '#27ae60'],
                ]}
                data={[times, stats.samples.map((s) => s.queueMs), stats.samples.map((s) => s.computeMs)]}
              />
              <LineChart title="Cache hit rate" unit="fraction" series={[['hit rate', '#7f8c8d']]} data={[times, stats.samples.map((s) => s.cacheHitRate)]} />
            </div>
            <div class="row wrap">
              <div class="card half">
                <h3>Batch sizes executed</h3>
                {stats.batches.length === 0 ? (
                  <p class="muted">No batch executed yet.</p>
                ) : (
                  <Bars label="Executions by batch size" bars={stats.batches.map((b) => ({ name: `batch ${b.size}`, value: b.count }))} />
                )}
              </div>
              <div class="card half">
                <h3>Failures by reason</h3>
                {stats.failures.length === 0 ? (
                  <p class="muted">No failure counters available here.</p>
                ) : (
                  <Bars label="Failed requests by reason" bars={stats.failures.map((f) => ({ name: f.reason, value: f.count }))} />
                )}
              </div>
            </div>
          </section>

          <section aria-labelledby="io-heading">
            <h2 id="io-heading">Inputs and outputs</h2>
            {!ready ? (
              <p class="muted">Metadata is read from a READY replica; none is ready now.</p>
            ) : info.error ? (
              <p class="error">{info.error}</p>
            ) : info.metadata ? (
              <div class="table-wrap">
                <table>
                  <caption class="sr-only">Tensors of {name}</caption>
                  <thead>
                    <tr>
                      <th scope="col">Kind</th>
                      <th scope="col">Name</th>
                      <th scope="col">Datatype</th>
                      <th scope="col">Shape</th>
                    </tr>
                  </thead>
                  <tbody>
                    {[...info.metadata.inputs.map((t) => ['input', t] as const), ...info.metadata.outputs.map((t) => ['output', t] as const)].map(([kind, t]) => (
                      <tr key={`${kind}/${t.name}`}>
                        <td>{kind}</td>
                        <th scope="row">{t.name}</th>
                        <td>{t.datatype}</td>
                        <td>
                          <code>[{t.shape.join(', ')}]</code>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : (
              <p class="muted">Loading…</p>
            )}
          </section>

          {info.config && (
            <section aria-labelledby="config-heading">
              <h2 id="config-heading">Configuration</h2>
              <dl class="facts">
                <dt>Platform / backend</dt>
                <dd>
                  {info.config.platform || '–'} / {info.config.backend || '–'}
                </dd>
                <dt>Max batch size</dt>
                <dd>{info.config.max_batch_size ?? 0}</dd>
                <dt>Dynamic batching</dt>
                <dd>{info.config.dynamic_batching ? `on, queue delay up to ${info.config.dynamic_batching.max_queue_delay_microseconds ?? 0} µs` : 'off'}</dd>
                <dt>Instances</dt>
                <dd>{(info.config.instance_group ?? []).map((g) => `${g.count ?? 1} × ${g.kind ?? 'KIND_AUTO'}`).join(', ') || 'default'}</dd>
                <dt>Response cache</dt>
                <dd>{info.config.response_cache?.enable ? 'enabled' : 'off'}</dd>
              </dl>
              <details>
                <summary>Full configuration (JSON)</summary>
                <pre class="code">{JSON.stringify(info.config, null, 2)}</pre>
              </details>
            </section>
          )}

          {info.metadata && <TryIt metadata={info.metadata} />}

          <section aria-labelledby="model-events-heading">
            <h2 id="model-events-heading">Recent events</h2>
            <EventList events={live.events.filter((e) => e.model === name)} limit={20} />
          </section>
        </>
      )}
    </>
  );
}
