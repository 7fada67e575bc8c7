// Calls to the server the page came from (same origin: the standalone server, the gateway or the
// admin service all answer the same paths). Every call carries the admin token when one is set, so
// the server decides what is allowed; the page never hides an action instead.

export interface VersionView {
  readonly state: string;
  readonly reason?: string;
}
export interface ReplicaView {
  readonly node: string;
  readonly live: boolean;
  readonly state: string;
  readonly versions: Readonly<Record<string, VersionView>>;
}
export interface ModelView {
  readonly name: string;
  readonly replicas: number;
  readonly memoryBytes: number;
  readonly memoryMeasured: boolean;
  readonly placement: { readonly state: 'PLACED' | 'PARTIAL' | 'PENDING'; readonly nodes: readonly string[]; readonly reason?: string };
  readonly readyReplicas: number;
  readonly replicaStates: readonly ReplicaView[];
}
export interface NodeView {
  readonly id: string;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  readonly memoryCapacityBytes: number;
  readonly memoryAssignedBytes: number;
  readonly startedAt: number;
  readonly models: readonly { readonly name: string; readonly state: string; readonly versions: Readonly<Record<string, VersionView>> }[];
}
export interface ComponentHealth {
  readonly name: string;
  readonly state: 'up' | 'down' | 'unknown';
  readonly detail: string;
}
export interface Overview {
  readonly time: number;
  readonly components: readonly ComponentHealth[];
  readonly nodes: readonly NodeView[];
  readonly models: readonly ModelView[];
  readonly available: readonly string[];
}
export interface ClusterEvent {
  readonly id: number;
  readonly time: number;
  readonly kind: string;
  readonly severity: 'info' | 'warning' | 'error';
  readonly model?: string;
  readonly node?: string;
  readonly message: string;
}

const TOKEN_KEY = 'cranberries-admin-token';

export function adminToken(): string | undefined {
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

export function setAdminToken(token: string | undefined): void {
  if (token === undefined || token === '') sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
  tokenListeners.forEach((listener) => listener());
}

const tokenListeners = new Set<() => void>();
export function onTokenChange(listener: () => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

/** A failed call, with the server's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function authHeaders(extra: Record<string, string> = {}): Record<string, string> {
  const token = adminToken();
  return token ? { ...extra, authorization: `Bearer ${token}` } : extra;
}

/** Calls the API and returns the parsed JSON; a non-2xx answer throws an ApiError with the server's `error`. */
export async function call<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers: authHeaders(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal,
    });
  } catch (error) {
    throw new ApiError(0, `the server did not answer (${error instanceof Error ? error.message : 'network error'})`);
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? {} : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message =
      typeof parsed === 'object' && parsed !== null && typeof (parsed as { error?: unknown }).error === 'string' ? (parsed as { error: string }).error : text.slice(0, 300) || response.statusText;
    if (response.status === 401) needToken(message);
    throw new ApiError(response.status, `${response.status} ${response.statusText}: ${message}`);
  }
  return parsed as T;
}

export function fetchText(path: string, signal?: AbortSignal): Promise<string> {
  return fetch(path, { headers: authHeaders(), signal }).then(async (response) => {
    if (!response.ok) throw new ApiError(response.status, `${response.status}: ${(await response.text()).slice(0, 200)}`);
    return response.text();
  });
}

// --- Token prompt ---------------------------------------------------------------------------------

type TokenNeed = { readonly message: string } | undefined;
let tokenNeed: TokenNeed;
const needListeners = new Set<(need: TokenNeed) => void>();

function needToken(message: string): void {
  tokenNeed = { message };
  needListeners.forEach((listener) => listener(tokenNeed));
}

export function tokenWanted(): TokenNeed {
  return tokenNeed;
}

export function onTokenWanted(listener: (need: TokenNeed) => void): () => void {
  needListeners.add(listener);
  return () => needListeners.delete(listener);
}

export function tokenProvided(): void {
  tokenNeed = undefined;
  needListeners.forEach((listener) => listener(undefined));
}

// --- Live feed (server-sent events over fetch, so the token can go in a header) ----------------------

export interface LiveState {
  readonly overview: Overview | undefined;
  readonly events: readonly ClusterEvent[];
  readonly connected: boolean;
  readonly error: string | undefined;
}

const MAX_EVENTS = 500;
const RECONNECT_MS = 2000;

export class LiveFeed {
  private state: LiveState = { overview: undefined, events: [], connected: false, error: undefined };
  private readonly listeners = new Set<(state: LiveState) => void>();
  private controller: AbortController | undefined;
  private lastEventId = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  get current(): LiveState {
    return this.state;
  }

  subscribe(listener: (state: LiveState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** (Re)connects now, e.g. after the token changed. */
  connect(): void {
    this.controller?.abort();
    clearTimeout(this.timer);
    const controller = new AbortController();
    this.controller = controller;
    void this.run(controller).catch((error: unknown) => {
      if (controller.signal.aborted) return;
      this.update({ connected: false, error: error instanceof Error ? error.message : String(error) });
      if (!(error instanceof ApiError && error.status === 401)) this.timer = setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  private update(change: Partial<LiveState>): void {
    this.state = { ...this.state, ...change };
    this.listeners.forEach((listener) => listener(this.state));
  }

  private async run(controller: AbortController): Promise<void> {
    const headers = authHeaders({ accept: 'text/event-stream' });
    if (this.lastEventId > 0) headers['last-event-id'] = String(this.lastEventId);
    const response = await fetch('/v2/cluster/events', { headers, signal: controller.signal });
    if (!response.ok || !response.body) {
      const text = await response.text();
      let message = text.slice(0, 300);
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? message;
      } catch {
        // not JSON: keep the text
      }
      if (response.status === 401) needToken(message);
      throw new ApiError(response.status, `live updates refused: ${response.status} ${message}`);
    }
    this.update({ connected: true, error: undefined });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.message(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
    throw new Error('the live update stream ended; reconnecting');
  }

  private message(block: string): void {
    let event = 'message';
    let data = '';
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data += line.slice(5).trim();
    }
    if (data === '') return;
    if (event === 'overview') this.update({ overview: JSON.parse(data) as Overview });
    else if (event === 'cluster-event') {
      const parsed = JSON.parse(data) as ClusterEvent;
      if (parsed.id <= this.lastEventId) return;
      this.lastEventId = parsed.id;
      this.update({ events: [...this.state.events, parsed].slice(-MAX_EVENTS) });
    }
  }
}

// --- Actions ------------------------------------------------------------------------------------

const path = (model: string): string => `/v2/cluster/models/${encodeURIComponent(model)}`;

/** Each action answers at once (`wait=0`); its effect arrives through the live feed. */
export const actions = {
  setReplicas: (model: string, replicas: number) => call<ModelView>('PUT', `${path(model)}/replicas?wait=0`, { replicas }),
  load: (model: string) => call<ModelView>('POST', `${path(model)}/load?wait=0`),
  unload: (model: string) => call<ModelView>('POST', `${path(model)}/unload?wait=0`),
  add: (model: string) => call<ModelView>('POST', `${path(model)}?wait=0`, {}),
};

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const exponent = Math.min(units.length - 1, Math.floor(Math.log2(bytes) / 10));
  return `${(bytes / 1024 ** exponent).toFixed(exponent === 0 ? 0 : 1)} ${units[exponent]}`;
}

/** A model's state in one word, and why, in plain words. */
export function modelSummary(model: ModelView): { state: string; reason: string | undefined } {
  if (model.replicas === 0) return { state: 'UNLOADED', reason: 'desired replicas is 0' };
  const failed = model.replicaStates.flatMap((r) =>
    Object.entries(r.versions)
      .filter(([, v]) => v.state === 'UNAVAILABLE')
      .map(([version, v]) => `version ${version} on ${r.node}: ${v.reason ?? 'unavailable'}`),
  );
  if (model.readyReplicas >= model.replicas) return { state: 'READY', reason: undefined };
  if (failed.length > 0) return { state: 'UNAVAILABLE', reason: failed.join('; ') };
  if (model.placement.state === 'PENDING') return { state: 'PENDING', reason: model.placement.reason ?? 'waiting for the controller to place it' };
  if (model.readyReplicas > 0) return { state: 'PARTIAL', reason: `${model.readyReplicas} of ${model.replicas} replicas ready${model.placement.reason ? `: ${model.placement.reason}` : ''}` };
  return { state: 'LOADING', reason: 'replicas are loading' };
}
