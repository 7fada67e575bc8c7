import { formatBytes, modelSummary, type LiveState } from './api';
import { AddModel, ModelActions, StateBadge } from './actions';

export function OverviewPage({ live }: { live: LiveState }) {
  const overview = live.overview;
  return (
    <>
      <h1 id="page-heading" tabIndex={-1}>
        Overview
      </h1>
      {!overview ? (
        <p class="muted">Reading the cluster state…</p>
      ) : (
        <>
          <section aria-labelledby="components-heading">
            <h2 id="components-heading">Components</h2>
            <ul class="components">
              {overview.components.map((c) => (
                <li key={c.name} class={`card component ${c.state}`}>
                  <strong>{c.name}</strong> <StateBadge state={c.state === 'up' ? 'UP' : c.state === 'down' ? 'DOWN' : 'UNKNOWN'} />
                  <div class="muted">{c.detail}</div>
                </li>
              ))}
            </ul>
          </section>

          <section aria-labelledby="workers-heading">
            <h2 id="workers-heading">Workers</h2>
            {overview.nodes.length === 0 ? (
              <p>No worker is registered: nothing can serve models.</p>
            ) : (
              <div class="table-wrap">
                <table>
                  <caption class="sr-only">Workers with their address and memory</caption>
                  <thead>
                    <tr>
                      <th scope="col">Worker</th>
                      <th scope="col">Address</th>
                      <th scope="col">Memory assigned / capacity</th>
                      <th scope="col">Models</th>
                    </tr>
                  </thead>
                  <tbody>
                    {overview.nodes.map((n) => (
                      <tr key={n.id}>
                        <th scope="row">{n.id}</th>
                        <td>
                          <code>{n.httpAddress}</code>
                        </td>
                        <td>
                          <meter min={0} max={Math.max(1, n.memoryCapacityBytes)} value={n.memoryAssignedBytes} aria-label={`memory of ${n.id}`} /> {formatBytes(n.memoryAssignedBytes)} /{' '}
                          {formatBytes(n.memoryCapacityBytes)}
                        </td>
                        <td>{n.models.length}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>

          <section aria-labelledby="models-heading">
            <h2 id="models-heading">Models</h2>
            <div class="table-wrap">
              <table class="models">
                <caption class="sr-only">Models with their state, replicas and actions</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    <th scope="col">State</th>
                    <th scope="col">Ready / desired</th>
                    <th scope="col">Why</th>
                    <th scope="col">Actions</th>
                  </tr>
                </thead>
                <tbody>
                  {overview.models.map((m) => {
                    const summary = modelSummary(m);
                    return (
                      <tr key={m.name} data-model={m.name}>
                        <th scope="row">
                          <a href={`#/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
                        </th>
                        <td data-testid="model-state">
                          <StateBadge state={summary.state} />
                        </td>
                        <td>
                          {m.readyReplicas} / {m.replicas}
                        </td>
                        <td class="reason" data-testid="model-reason">
                          {summary.reason ?? ''}
                        </td>
                        <td>
                          <ModelActions model={m} compact />
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
            {overview.available.length > 0 && (
              <div class="available">
                <h3>In the repository, not served</h3>
                <ul class="plain">
                  {overview.available.map((name) => (
                    <li key={name}>
                      <AddModel name={name} />
                    </li>
                  ))}
                </ul>
              </div>
            )}
          </section>

          <section aria-labelledby="placement-heading">
            <h2 id="placement-heading">Placement map</h2>
            <p class="muted">Which worker holds which model version, and in which state.</p>
            <div class="table-wrap">
              <table class="placement" data-testid="placement-map">
                <caption class="sr-only">Models by worker</caption>
                <thead>
                  <tr>
                    <th scope="col">Model</th>
                    {overview.nodes.map((n) => (
                      <th scope="col" key={n.id}>
                        {n.id}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody>
                  {overview.models.map((m) => (
                    <tr key={m.name} data-model={m.name}>
                      <th scope="row">{m.name}</th>
                      {overview.nodes.map((n) => {
                        const replica = m.replicaStates.find((r) => r.node === n.id);
                        return (
                          <td key={n.id} data-node={n.id}>
                            {replica
                              ? Object.entries(replica.versions).map(([version, v]) => (
                                  <div key={version} title={v.reason}>
                                    v{version} <StateBadge state={v.state} />
                                  </div>
                                ))
                              : replica === undefined && <span class="muted">–</span>}
                            {replica && Object.keys(replica.versions).length === 0 && <StateBadge state={replica.state} />}
                          </td>
                        );
                      })}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        </>
      )}
    </>
  );
}
