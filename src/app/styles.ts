/**
 * Styles every screen shares: big touch targets (≥ 48 px), big type, high contrast in dark and
 * light (`prefers-color-scheme`; the colours are custom properties set in index.html and
 * inherited through shadow roots), a visible keyboard focus, small screens first.
 */
import { css } from 'lit';

export const baseStyles = css`
  :host {
    display: block;
    color: var(--vl-text);
    font-size: 1.125rem;
    line-height: 1.45;
  }
  *,
  *::before,
  *::after {
    box-sizing: border-box;
  }
  h1,
  h2,
  h3 {
    line-height: 1.2;
    margin: 0 0 0.75rem;
  }
  h1 {
    font-size: 1.75rem;
  }
  h2 {
    font-size: 1.375rem;
  }
  h3 {
    font-size: 1.2rem;
  }
  p {
    margin: 0 0 0.75rem;
  }
  button,
  .button {
    font: inherit;
    font-weight: 600;
    min-height: 48px;
    min-width: 48px;
    padding: 0.6rem 1.1rem;
    border-radius: 0.6rem;
    border: 2px solid var(--vl-accent);
    background: var(--vl-accent);
    color: var(--vl-on-accent);
    cursor: pointer;
    text-decoration: none;
    display: inline-flex;
    align-items: center;
    justify-content: center;
    gap: 0.5rem;
  }
  button.secondary,
  .button.secondary {
    background: transparent;
    color: var(--vl-accent-text);
  }
  button.danger {
    background: var(--vl-danger);
    border-color: var(--vl-danger);
    color: var(--vl-on-accent);
  }
  button[disabled] {
    opacity: 0.55;
    cursor: not-allowed;
  }
  button:focus-visible,
  a:focus-visible,
  input:focus-visible,
  select:focus-visible,
  summary:focus-visible,
  [tabindex]:focus-visible {
    outline: 3px solid var(--vl-focus);
    outline-offset: 2px;
  }
  a {
    color: var(--vl-accent-text);
  }
  label {
    display: block;
    font-weight: 600;
    margin: 0.75rem 0 0.25rem;
  }
  input,
  select {
    font: inherit;
    min-height: 48px;
    width: 100%;
    padding: 0.5rem 0.75rem;
    border-radius: 0.5rem;
    border: 2px solid var(--vl-border);
    background: var(--vl-field);
    color: var(--vl-text);
  }
  input[type='checkbox'] {
    width: 28px;
    min-height: 28px;
    height: 28px;
    margin: 0;
    flex: none;
  }
  .check {
    display: flex;
    gap: 0.75rem;
    align-items: center;
    min-height: 48px;
    font-weight: 400;
  }
  .row {
    display: flex;
    flex-wrap: wrap;
    gap: 0.75rem;
    align-items: center;
    margin: 1rem 0;
  }
  .card {
    background: var(--vl-surface);
    border: 1px solid var(--vl-border);
    border-radius: 0.9rem;
    padding: 1rem;
    margin: 0 0 1rem;
  }
  .hint {
    color: var(--vl-muted);
    font-size: 1rem;
  }
  .problem {
    border-left: 6px solid var(--vl-danger);
    background: var(--vl-danger-bg);
    padding: 0.75rem 1rem;
    border-radius: 0.5rem;
    margin: 1rem 0;
  }
  .problem strong {
    display: block;
  }
  .notice {
    border-left: 6px solid var(--vl-accent);
    background: var(--vl-surface);
    padding: 0.75rem 1rem;
    border-radius: 0.5rem;
    margin: 1rem 0;
  }
  .badge {
    display: inline-block;
    font-size: 0.9rem;
    font-weight: 700;
    padding: 0.15rem 0.6rem;
    border-radius: 999px;
    border: 2px solid currentColor;
  }
  .badge.simulated {
    color: var(--vl-warn-text);
  }
  .state-connected {
    color: var(--vl-ok-text);
  }
  .state-reconnecting {
    color: var(--vl-warn-text);
  }
  .state-offline {
    color: var(--vl-muted);
  }
  .mono {
    font-family: ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace;
  }
  table {
    border-collapse: collapse;
    width: 100%;
    font-size: 1rem;
  }
  th,
  td {
    text-align: left;
    padding: 0.5rem;
    border-bottom: 1px solid var(--vl-border);
    vertical-align: top;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
