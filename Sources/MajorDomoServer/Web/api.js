// The MajorDomo's REST API from the page: the token (asked for once, kept in session
// storage), JSON requests with one-line errors, and Server-Sent Events read over fetch (so
// that the token goes with them; EventSource cannot send it), reconnecting with
// Last-Event-ID so that nothing is missed.

const tokenKey = 'cp.majordomo.token';

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Set by the page: called when the MajorDomo asks for a token (401). */
export const hooks = { unauthorized: () => {} };

export function token() {
  return sessionStorage.getItem(tokenKey);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(tokenKey, value);
  else sessionStorage.removeItem(tokenKey);
}

function headers(extra = {}) {
  const all = { ...extra };
  const given = token();
  if (given) all.Authorization = `Bearer ${given}`;
  return all;
}

async function failure(response) {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) message = body.error.message;
  } catch {
    // not JSON: the status says it
  }
  if (response.status === 401) hooks.unauthorized(message);
  return new ApiError(response.status, message);
}

/** `method path` with an optional JSON body; the answer as JSON, or text for `text: true`. */
export async function api(path, { method = 'GET', body, text = false } = {}) {
  const options = { method, headers: headers(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  if (body !== undefined) options.body = JSON.stringify(body);
  let response;
  try {
    response = await fetch(path, options);
  } catch {
    throw new ApiError(0, 'the MajorDomo does not answer');
  }
  if (!response.ok) throw await failure(response);
  return text ? response.text() : response.json();
}

/** Path components percent-encoded one by one. */
export function path(...parts) {
  return parts.map((part) => part.split('/').map(encodeURIComponent).join('/')).join('/');
}

/**
 * Reads `url` as Server-Sent Events, calling `onEvent({id, event, data})` for each, until
 * `stop()` is called or (with `once`) the stream ends. Reconnects after a failure with the
 * last id seen. `onState('live' | 'retrying' | 'ended')` hears how the connection is.
 */
export function stream(url, { after = null, once = false, onEvent, onState = () => {} }) {
  const controller = new AbortController();
  let lastId = after;
  let stopped = false;
  let delay = 500;
  const run = async () => {
    while (!stopped) {
      try {
        const extra = { Accept: 'text/event-stream' };
        if (lastId !== null && lastId !== undefined) extra['Last-Event-ID'] = String(lastId);
        const response = await fetch(url, { headers: headers(extra), signal: controller.signal });
        if (!response.ok) throw await failure(response);
        onState('live');
        delay = 500;
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const frame = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = { id: null, event: 'message', data: '' };
            const data = [];
            for (const line of frame.split('\n')) {
              if (line.startsWith(':')) continue;
              const colon = line.indexOf(':');
              const field = colon < 0 ? line : line.slice(0, colon);
              const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id') event.id = text;
              else if (field === 'event') event.event = text;
              else if (field === 'data') data.push(text);
            }
            if (data.length === 0) continue;
            event.data = data.join('\n');
            if (event.id !== null) lastId = event.id;
            try {
              onEvent(event);
            } catch (error) {
              console.error('cp: an event could not be shown', error);
            }
          }
        }
        if (once) break;
      } catch (error) {
        if (stopped || error.name === 'AbortError') break;
        if (error instanceof ApiError && error.status >= 400 && error.status < 500) break;
      }
      if (stopped || once) break;
      onState('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
    onState('ended');
  };
  run();
  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}
