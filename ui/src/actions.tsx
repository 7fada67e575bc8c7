import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { actions, type ModelView } from './api';

interface Pending {
  readonly title: string;
  readonly detail: string;
  readonly run: () => Promise<unknown>;
  readonly done: string;
}

/** A modal confirmation (`<dialog>`: focus moves into it, Escape cancels). */
function Confirm({ pending, onClose }: { pending: Pending; onClose: (confirmed: boolean) => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    <dialog ref={ref} aria-labelledby="confirm-title" aria-describedby="confirm-detail" onCancel={() => onClose(false)}>
      <h2 id="confirm-title">{pending.title}</h2>
      <p id="confirm-detail">{pending.detail}</p>
      <div class="row">
        <button type="button" class="primary" onClick={() => onClose(true)}>
          Confirm
        </button>
        <button type="button" onClick={() => onClose(false)} autoFocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/** Runs confirmed actions and reports their outcome (or the server's refusal) in a live region. */
export function useConfirmedAction(): { ask: (pending: Pending) => void; view: ComponentChildren } {
  const [pending, setPending] = useState<Pending | undefined>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | undefined>();
  const close = (confirmed: boolean): void => {
    const action = pending;
    setPending(undefined);
    if (!confirmed || !action) return;
    setOutcome({ ok: true, text: `${action.title}: sending…` });
    action.run().then(
      () => setOutcome({ ok: true, text: `${action.title}: ${action.done}` }),
      (error: unknown) => setOutcome({ ok: false, text: `${action.title} failed: ${error instanceof Error ? error.message : String(error)}` }),
    );
  };
  const view = (
    <>
      {pending && <Confirm pending={pending} onClose={close} />}
      <p class={outcome && !outcome.ok ? 'error outcome' : 'outcome'} role={outcome && !outcome.ok ? 'alert' : 'status'} aria-live="polite" data-testid="action-outcome">
        {outcome?.text}
      </p>
    </>
  );
  return { ask: setPending, view };
}

/** Replicas, load and unload for one model. */
export function ModelActions({ model, compact = false }: { model: ModelView; compact?: boolean }) {
  const { ask, view } = useConfirmedAction();
  const [replicas, setReplicas] = useState(String(model.replicas));
  useEffect(() => setReplicas(String(model.replicas)), [model.replicas]);
  const id = `replicas-${model.name}`;
  const count = Number(replicas);
  const valid = replicas.trim() !== '' && Number.isInteger(count) && count >= 0 && count <= 1000;
  return (
    <div class={compact ? 'actions compact' : 'actions'}>
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (!valid) return;
          ask({
            title: `Set replicas of ${model.name} to ${count}`,
            detail:
              count === 0
                ? `${model.name} will be unloaded everywhere; requests to it will fail until it is loaded again.`
                : `The controller will place ${count} replica(s) of ${model.name} (now ${model.replicas}).`,
            run: () => actions.setReplicas(model.name, count),
            done: 'accepted; the placement updates below as it happens',
          });
        }}
      >
        <label for={id}>Replicas</label>
        <input id={id} type="number" min={0} max={1000} step={1} value={replicas} aria-invalid={!valid} onInput={(e) => setReplicas(e.currentTarget.value)} />
        <button type="submit" disabled={!valid}>
          Set
        </button>
      </form>
      <button
        type="button"
        onClick={() =>
          ask({
            title: `Load ${model.name}`,
            detail: `${model.name} gets the default number of replicas (it has ${model.replicas} now).`,
            run: () => actions.load(model.name),
            done: 'accepted; watch it go LOADING → READY',
          })
        }
      >
        Load
      </button>
      <button
        type="button"
        class="danger"
        disabled={model.replicas === 0}
        onClick={() =>
          ask({
            title: `Unload ${model.name}`,
            detail: `Every replica of ${model.name} is unloaded; inference on it fails until it is loaded again.`,
            run: () => actions.unload(model.name),
            done: 'accepted; its replicas are going away',
          })
        }
      >
        Unload
      </button>
      {view}
    </div>
  );
}

/** Adds a repository model the cluster does not serve yet. */
export function AddModel({ name }: { name: string }) {
  const { ask, view } = useConfirmedAction();
  return (
    <span class="actions compact">
      <button
        type="button"
        onClick={() =>
          ask({
            title: `Add ${name}`,
            detail: `${name} is in the model repository but not served. Add it with the default number of replicas?`,
            run: () => actions.add(name),
            done: 'added; it appears in the models table as it loads',
          })
        }
      >
        Add {name}
      </button>
      {view}
    </span>
  );
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge s-${state.toLowerCase()}`}>{state}</span>;
}
