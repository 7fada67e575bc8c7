/**
 * The gateway's health and readiness, from the endpoint table and worker health: the server is
 * ready when every deployed model has a READY replica; a model (version) is ready when a READY
 * replica of it is up. Both turn false at once when the gateway begins stopping, so load
 * balancers in front stop sending traffic.
 */
import type { Endpoint, EndpointHealthView, EndpointTable } from '../routing/index.js';

export class Readiness {
  private stopping = false;

  constructor(
    private readonly table: () => EndpointTable,
    private readonly health: EndpointHealthView,
  ) {}

  beginStopping(): void {
    this.stopping = true;
  }

  live(): boolean {
    return !this.stopping;
  }

  ready(): boolean {
    return !this.stopping && this.table().ready();
  }

  modelReady(model: string, version?: number): boolean {
    const table = this.table();
    const versions = version === undefined ? table.readyVersions(model) : [version];
    return versions.some((v) => {
      const replicas = table.replicas(model, v);
      return [...replicas.fresh, ...replicas.retained].some((e) => this.health.isUp(e.key));
    });
  }

  /** Some worker that is up (for requests any worker answers alike), preferring fresh ones. */
  anyUpEndpoint(): Endpoint | undefined {
    return this.table().endpoints.find((e) => this.health.isUp(e.key));
  }
}
