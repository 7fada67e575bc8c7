import { useState } from 'preact/hooks';
import type { ClusterEvent, LiveState } from './api';

export function EventList({ events, limit }: { events: readonly ClusterEvent[]; limit?: number }) {
  const shown = [...events].reverse().slice(0, limit);
  if (shown.length === 0) return <p class="muted">No events yet.</p>;
  return (
    <ol class="events" aria-label="Events, newest first">
      {shown.map((e) => (
        <li key={e.id} class={`event ${e.severity}`}>
          <time dateTime={new Date(e.time).toISOString()}>{new Date(e.time).toLocaleTimeString()}</time> <span class={`badge sev-${e.severity}`}>{e.severity}</span> {e.message}
        </li>
      ))}
    </ol>
  );
}

export function EventsPage({ live }: { live: LiveState }) {
  const [model, setModel] = useState('');
  const [node, setNode] = useState('');
  const models = [...new Set([...(live.overview?.models.map((m) => m.name) ?? []), ...live.events.flatMap((e) => (e.model ? [e.model] : []))])].sort();
  const nodes = [...new Set([...(live.overview?.nodes.map((n) => n.id) ?? []), ...live.events.flatMap((e) => (e.node ? [e.node] : []))])].sort();
  const events = live.events.filter((e) => (model === '' || e.model === model) && (node === '' || e.node === node));
  return (
    <>
      <h1 id="page-heading" tabIndex={-1}>
        Events
      </h1>
      <p class="muted">
        State changes with reasons, placements, workers joining and leaving. Scripts get the same stream from <code>GET /v2/cluster/events</code> (server-sent events).
      </p>
      <form class="row filters" onSubmit={(e) => e.preventDefault()}>
        <label for="filter-model">Model</label>
        <select id="filter-model" value={model} onChange={(e) => setModel(e.currentTarget.value)}>
          <option value="">All models</option>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
        <label for="filter-node">Worker</label>
        <select id="filter-node" value={node} onChange={(e) => setNode(e.currentTarget.value)}>
          <option value="">All workers</option>
          {nodes.map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </form>
      <EventList events={events} />
    </>
  );
}
