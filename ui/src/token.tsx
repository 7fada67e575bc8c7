import { useEffect, useState } from 'preact/hooks';
import { adminToken, onTokenChange, setAdminToken, tokenProvided } from './api';

/**
 * The admin token: asked for when the server answers 401 (`prompt`), otherwise a small control in
 * the header to forget it. Kept in sessionStorage: it leaves with the tab.
 */
export function TokenPanel({ prompt }: { prompt?: string }) {
  const [token, setToken] = useState(adminToken());
  const [draft, setDraft] = useState('');
  useEffect(() => onTokenChange(() => setToken(adminToken())), []);
  if (prompt === undefined) {
    if (token === undefined) return null;
    return (
      <span class="token-state">
        Admin token set{' '}
        <button type="button" class="link" onClick={() => setAdminToken(undefined)}>
          Forget token
        </button>
      </span>
    );
  }
  return (
    <form
      class="card token-form"
      aria-labelledby="token-heading"
      onSubmit={(e) => {
        e.preventDefault();
        tokenProvided();
        setAdminToken(draft.trim());
        setDraft('');
      }}
    >
      <h2 id="token-heading">This server needs the admin token</h2>
      <p class="muted">The server said: {prompt}</p>
      <label for="admin-token">Admin token</label>
      <input id="admin-token" type="password" autoComplete="off" autoFocus required value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
      <button type="submit" class="primary">
        Use token
      </button>
    </form>
  );
}
