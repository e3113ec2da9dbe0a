import { parseArgs } from 'node:util';
import { startFakeGemini } from './fake-gemini.js';

// Standalone fake Gemini for tests that run the API/worker as separate processes:
//   node packages/testing/dist/fake-gemini-server.js --port 0 [--host 127.0.0.1]
// Prints FAKE_GEMINI_URL=http://HOST:PORT once listening; scripted over /__control/*.
const { values } = parseArgs({
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`Invalid --port: ${values.port}`);
  process.exit(2);
}

const fake = await startFakeGemini({ port, host: values.host });
process.stdout.write(`FAKE_GEMINI_URL=${fake.baseUrl}\n`);

const shutdown = (): void => {
  fake.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
