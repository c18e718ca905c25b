// The studio's server API (crates/cli/src/studio.rs): same origin, JSON in and out.

async function call(path, body) {
  const response = await fetch(path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`);
  }
  if (!response.ok && !json.error) {
    throw new Error(`${path} answered ${response.status}`);
  }
  return json;
}

/** The manifest and the server's settings: `{manifest, studio}`. */
export const getManifest = () => call('/api/manifest');

/** One page of a picker's choices: `{choices, more}` or `{error}`. */
export const listChoices = (request) => call('/api/choices', request);

/** Runs an action: `{ok, output | error, requests, logs, ms}`. */
export const runAction = (request) => call('/api/run', request);
