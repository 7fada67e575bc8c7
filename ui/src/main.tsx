import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { LiveFeed, onTokenChange, onTokenWanted, tokenWanted, type LiveState } from './api';
import { OverviewPage } from './overview';
import { ModelPage } from './model-page';
import { EventsPage } from './events';
import { TokenPanel } from './token';
import './styles.css';

const feed = new LiveFeed();

/** The page in the URL's hash: `#/`, `#/models/<name>`, `#/events`. */
type Route = { page: 'overview' } | { page: 'model'; model: string } | { page: 'events' };

function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const model = /^\/models\/([^/]+)\/?$/.exec(path)?.[1];
  if (model !== undefined) {
    try {
      return { page: 'model', model: decodeURIComponent(model) };
    } catch {
      return { page: 'overview' };
    }
  }
  if (path === '/events') return { page: 'events' };
  return { page: 'overview' };
}

function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onHash = (): void => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    return () => removeEventListener('hashchange', onHash);
  }, []);
  return route;
}

export function useLive(): LiveState {
  const [state, setState] = useState(feed.current);
  useEffect(() => feed.subscribe(setState), []);
  return state;
}

function App() {
  const route = useRoute();
  const live = useLive();
  const [need, setNeed] = useState(tokenWanted());
  const navigated = useRef(false);
  useEffect(() => onTokenWanted(setNeed), []);
  useEffect(() => {
    feed.connect();
    return onTokenChange(() => feed.connect());
  }, []);
  useEffect(() => {
    document.title = route.page === 'model' ? `${route.model} · Cranberries` : route.page === 'events' ? 'Events · Cranberries' : 'Overview · Cranberries';
    // After a navigation (not on the first load), keyboard and screen-reader users land on the new page's heading.
    if (navigated.current) document.getElementById('page-heading')?.focus();
    navigated.current = true;
  }, [route]);
  const current = (page: Route['page']) => (route.page === page ? { 'aria-current': 'page' as const } : {});
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <span class="brand">Cranberries</span>
        <nav aria-label="Pages">
          <a href="#/" {...current('overview')}>
            Overview
          </a>
          <a href="#/events" {...current('events')}>
            Events
          </a>
        </nav>
        <span class={`live ${live.connected ? 'on' : 'off'}`} role="status" aria-live="polite">
          {live.connected ? 'Live' : live.error ? 'Not connected' : 'Connecting…'}
        </span>
        <TokenPanel />
      </header>
      <main id="main" tabIndex={-1}>
        {need && <TokenPanel prompt={need.message} />}
        {live.error && !live.connected && !need && (
          <p class="error" role="alert">
            {live.error}
          </p>
        )}
        {route.page === 'overview' && <OverviewPage live={live} />}
        {route.page === 'model' && <ModelPage key={route.model} name={route.model} live={live} />}
        {route.page === 'events' && <EventsPage live={live} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
