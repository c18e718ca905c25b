// The studio: the connection's form and every action's form, rendered by
// react-jsonschema-form from component-manifest.json as it comes (plus a picker widget for
// inputs with `x-picker`), run through pbi-host by the `pbi studio` server.
import { useEffect, useMemo, useState } from 'react';
import Form from '@rjsf/core';
import validator from '@rjsf/validator-ajv8';
import PickerWidget, { PickerContext } from './PickerWidget.jsx';
import { getManifest, runAction } from './api.js';

const GUID = '[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}';
const widgets = { picker: PickerWidget };

/** Clearer messages than ajv's for the manifest's patterns, each naming its field. */
function transformErrors(schema) {
  return (errors) =>
    errors.map((error) => {
      const key = (error.property || '').replace(/^\./, '').replace(/^\['(.*)'\]$/, '$1');
      const field = schema.properties?.[key];
      const title = field?.title || key;
      if (error.name === 'pattern' && field) {
        if (String(field.pattern).includes(GUID)) {
          error.message = 'must be a GUID (8-4-4-4-12 hex digits)';
        } else if (field.pattern === '\\S') {
          error.message = 'must not be empty or only white space';
        } else {
          error.message = `is not a valid ${title}${field.description ? ` (${field.description})` : ''}`;
        }
      }
      error.stack = `${title}: ${error.message}`;
      return error;
    });
}

/** The rjsf uiSchema with the picker widget on inputs whose schema names a picker. */
function withPickers(schema, uiSchema) {
  const ui = { ...(uiSchema || {}) };
  for (const [key, property] of Object.entries(schema.properties || {})) {
    if (property['x-picker']) {
      ui[key] = {
        ...(ui[key] || {}),
        'ui:widget': 'picker',
        'ui:options': { ...(ui[key]?.['ui:options'] || {}), inputKey: key },
      };
    }
  }
  return ui;
}

function Json({ value, testid }) {
  return (
    <pre className="json" data-testid={testid}>
      {typeof value === 'string' ? value : JSON.stringify(value, null, 2)}
    </pre>
  );
}

function Result({ result, action }) {
  if (!result) return null;
  if (result.pending) {
    return (
      <section className="result" data-testid="result" data-status="running">
        <p>Running…</p>
      </section>
    );
  }
  const { ok, output, error, requests = [], logs, ms } = result;
  const field = error?.input ? action.inputSchema.properties?.[error.input]?.title : null;
  return (
    <section className={`result ${ok ? 'ok' : 'failed'}`} data-testid="result" data-status={ok ? 'ok' : 'error'}>
      <h3>
        {ok ? 'Output' : 'Error'} <small>{ms !== undefined ? `${ms} ms` : ''}</small>
      </h3>
      {ok && <Json value={output.data} testid="output" />}
      {ok && output.http && (
        <details>
          <summary>HTTP answer: {output.http.status}</summary>
          <Json value={output.http} />
        </details>
      )}
      {!ok && error && (
        <div className="error" data-testid="error">
          <div>
            <b>{error.kind}</b>
            {error.status ? ` (HTTP ${error.status}${error.code ? `, ${error.code}` : ''})` : ''}
          </div>
          {error.input && (
            <div data-testid="error-input">
              Input: <b>{field || error.input}</b> (<code>{error.input}</code>)
            </div>
          )}
          <div className="message">{error.message}</div>
          {error.progress !== undefined && error.progress !== null && <Json value={error.progress} />}
        </div>
      )}
      <h4>Requests sent ({requests.length})</h4>
      <table className="requests" data-testid="requests">
        <tbody>
          {requests.map((r, i) => (
            <tr key={i} className={r.denied ? 'denied' : ''}>
              <td>{r.method}</td>
              <td>
                {r.url}
                {r.redirectedTo ? <span className="redirect"> → {r.redirectedTo}</span> : null}
                {r.denied ? <b> [denied]</b> : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {logs && (
        <details>
          <summary>Component log</summary>
          <Json value={logs} />
        </details>
      )}
    </section>
  );
}

function ActionPane({ action, actionKey, formData, setFormData, connection, hasChoices, result, setResult }) {
  const uiSchema = useMemo(() => withPickers(action.inputSchema, action.uiSchema), [action]);
  const transform = useMemo(() => transformErrors(action.inputSchema), [action]);
  const example = action.exampleInputs?.[0];
  const label = action.display?.label || actionKey;

  async function submit({ formData: inputs }) {
    setResult({ pending: true });
    try {
      setResult(await runAction({ action: actionKey, inputs: inputs || {}, connection: connection.values }));
    } catch (e) {
      setResult({ ok: false, error: { kind: 'studio', message: String(e.message || e) } });
    }
  }

  return (
    <div className="pane" data-testid={`pane-${actionKey}`}>
      <div className="form-pane" data-testid="form-pane">
        <h2>
          {label} <code>{actionKey}</code>
        </h2>
        <p className="description">{action.display?.description}</p>
        <div className="tools">
          {example && (
            <button type="button" className="btn btn-secondary" data-testid="fill-example" onClick={() => setFormData({ ...example })}>
              Fill with the example
            </button>
          )}
          <button type="button" className="btn btn-secondary" data-testid="clear" onClick={() => setFormData({})}>
            Clear
          </button>
        </div>
        <PickerContext.Provider value={{ action: actionKey, formData, connection: connection.values, enabled: hasChoices }}>
          <Form
            key={actionKey}
            schema={action.inputSchema}
            uiSchema={{ ...uiSchema, 'ui:submitButtonOptions': { submitText: `Run ${label}` } }}
            formData={formData}
            validator={validator}
            widgets={widgets}
            transformErrors={transform}
            showErrorList="top"
            onChange={({ formData: data }) => setFormData(data)}
            onSubmit={submit}
          />
        </PickerContext.Provider>
      </div>
      <Result result={result} action={action} />
    </div>
  );
}

function ConnectionPane({ connections, connection, setConnection, studio }) {
  const [key, setKey] = useState(connection.key || connections[0].key);
  const [drafts, setDrafts] = useState({});
  const chosen = connections.find((c) => c.key === key) || connections[0];
  const draft = drafts[key] ?? { ...(studio.connection || {}), connection: key };

  return (
    <div className="pane" data-testid="pane-connection">
      <div className="form-pane" data-testid="form-pane">
        <h2>Connection</h2>
        <p className="description">
          {studio.emulator
            ? 'Actions run against the local Power BI emulator pbi studio started; it adds the emulator\u2019s token itself (never shown). '
            : `Actions run against ${studio.service}. `}
          In use: <b data-testid="connection-in-use">{connection.label}</b>
        </p>
        <label className="control-label" htmlFor="connection-kind">
          Connection type
        </label>
        <select
          id="connection-kind"
          className="form-control"
          data-testid="connection-kind"
          value={key}
          onChange={(e) => setKey(e.target.value)}
        >
          {connections.map((c) => (
            <option key={c.key} value={c.key}>
              {c.label || c.schema.title || c.key}
            </option>
          ))}
        </select>
        <Form
          key={key}
          schema={chosen.schema}
          uiSchema={{ ...chosen.uiSchema, 'ui:submitButtonOptions': { submitText: 'Use this connection' } }}
          formData={draft}
          validator={validator}
          transformErrors={transformErrors(chosen.schema)}
          showErrorList="top"
          onChange={({ formData }) => setDrafts({ ...drafts, [key]: formData })}
          onSubmit={({ formData }) =>
            setConnection({ key, label: chosen.label || chosen.schema.title || key, values: { ...formData, connection: key } })
          }
        />
        <p className="note">
          Secrets typed here go to pbi studio on this machine only and are never shown back.
        </p>
      </div>
    </div>
  );
}

export default function App() {
  const [loaded, setLoaded] = useState(null);
  const [failure, setFailure] = useState(null);
  const [selected, setSelected] = useState('connection');
  const [forms, setForms] = useState({});
  const [results, setResults] = useState({});
  const [connection, setConnection] = useState({ key: '', label: 'the command line\u2019s connection', values: {} });

  useEffect(() => {
    getManifest().then(setLoaded, (e) => setFailure(String(e.message || e)));
  }, []);

  if (failure) return <p className="failure">Could not load the manifest: {failure}</p>;
  if (!loaded) return <p className="loading">Loading the manifest…</p>;
  const { manifest, studio } = loaded;
  const actions = manifest.actions;
  const action = actions[selected];

  return (
    <div className="studio">
      <nav>
        <h1>{manifest.display?.label || manifest.key} studio</h1>
        <p className="service" data-testid="service">
          {studio.emulator ? 'local emulator' : 'service'}: {studio.service}
        </p>
        <ul>
          <li>
            <a
              href="#connection"
              data-testid="nav-connection"
              className={selected === 'connection' ? 'active' : ''}
              onClick={() => setSelected('connection')}
            >
              Connection
            </a>
          </li>
          {Object.entries(actions).map(([key, a]) => (
            <li key={key}>
              <a
                href={`#${key}`}
                data-testid={`nav-${key}`}
                className={selected === key ? 'active' : ''}
                onClick={() => setSelected(key)}
              >
                {a.display?.label || key}
              </a>
            </li>
          ))}
        </ul>
      </nav>
      <main>
        {action ? (
          <ActionPane
            key={selected}
            action={action}
            actionKey={selected}
            formData={forms[selected] ?? {}}
            setFormData={(data) => setForms((f) => ({ ...f, [selected]: data }))}
            connection={connection}
            hasChoices={studio.hasChoices}
            result={results[selected]}
            setResult={(r) => setResults((all) => ({ ...all, [selected]: r }))}
          />
        ) : (
          <ConnectionPane
            connections={manifest.connections}
            connection={connection}
            setConnection={setConnection}
            studio={studio}
          />
        )}
      </main>
    </div>
  );
}
