// A text field with the component's picker next to it: "List" asks the server for the
// input's choices (list-choices, given the inputs the picker depends on) and a select shows
// their labels and stores their values. A typed value is always accepted.
import { createContext, useContext, useEffect, useState } from 'react';
import { listChoices } from './api.js';

/** What a picker needs beyond its own value: the action, the form's values, the connection. */
export const PickerContext = createContext({ action: '', formData: {}, connection: {}, enabled: false });

const PAGE = 25;
const MORE = '\u0000more';

export default function PickerWidget(props) {
  const { id, value, onChange, onBlur, onFocus, disabled, readonly, placeholder, schema, options } = props;
  const { action, formData, connection, enabled } = useContext(PickerContext);
  const picker = schema['x-picker'] || {};
  const inputKey = options.inputKey;
  const dependsOn = picker.dependsOn || [];
  const depValues = JSON.stringify(dependsOn.map((key) => formData?.[key] ?? null));
  const [page, setPage] = useState(null); // {choices, more}
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  // The choices depend on those inputs: list again when they change.
  useEffect(() => {
    setPage(null);
    setError(null);
  }, [depValues]);

  async function load(skip) {
    setBusy(true);
    setError(null);
    try {
      const inputs = {};
      for (const key of dependsOn) {
        if (formData?.[key] !== undefined) inputs[key] = formData[key];
      }
      const answer = await listChoices({ action, input: inputKey, inputs, connection, skip, top: PAGE });
      if (answer.error) {
        setError(answer.error.message || String(answer.error));
      } else {
        setPage((previous) => ({
          choices: skip > 0 && previous ? previous.choices.concat(answer.choices) : answer.choices,
          more: answer.more,
        }));
      }
    } catch (e) {
      setError(String(e.message || e));
    } finally {
      setBusy(false);
    }
  }

  function picked(event) {
    const chosen = event.target.value;
    if (chosen === MORE) {
      load(page.choices.length);
    } else if (chosen !== '') {
      onChange(chosen);
    }
  }

  const missing = dependsOn.filter((key) => key !== 'workspace' && !formData?.[key]);
  return (
    <div className="picker">
      <div className="picker-row">
        <input
          id={id}
          className="form-control"
          type="text"
          value={value ?? ''}
          placeholder={placeholder}
          disabled={disabled || readonly}
          onChange={(e) => onChange(e.target.value === '' ? undefined : e.target.value)}
          onBlur={(e) => onBlur(id, e.target.value)}
          onFocus={(e) => onFocus(id, e.target.value)}
        />
        {enabled && (
          <button
            type="button"
            className="btn btn-secondary"
            data-testid={`pick-${inputKey}`}
            disabled={busy || disabled || readonly}
            title={missing.length ? `Choose ${missing.join(', ')} first` : `List the values of ${picker.key}`}
            onClick={() => load(0)}
          >
            {busy ? 'Listing…' : 'List'}
          </button>
        )}
      </div>
      {page && (
        <select
          className="form-control picker-choices"
          data-testid={`choices-${inputKey}`}
          value={page.choices.some((c) => c.value === value) ? value : ''}
          onChange={picked}
        >
          <option value="">
            {page.choices.length ? `Pick one of ${page.choices.length}${page.more ? '+' : ''}…` : 'No choices'}
          </option>
          {page.choices.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
          {page.more && <option value={MORE}>More…</option>}
        </select>
      )}
      {error && (
        <div className="picker-error" data-testid={`picker-error-${inputKey}`}>
          {error}
        </div>
      )}
    </div>
  );
}
