// The client library from a project that installed cranberries (here: the checkout itself, by name).
// Usage: node examples/client/infer.mjs [server URL, default http://localhost:8000]
import { createClient } from 'cranberries/client';

const client = createClient({ url: process.argv[2] ?? 'http://localhost:8000' });
const result = await client.infer('word_ids', [{ name: 'words', datatype: 'BYTES', shape: [2], data: ['apple', 'kiwi'] }]);
console.log(result.output('ids').data);
await client.close();
