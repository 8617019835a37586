/**
 * The sign-in pages of the embedded provider, rendered on the server as plain HTML forms: no
 * script at all and no inline style (the stylesheet is a separate file), so the strict
 * Content-Security-Policy holds. Labels on every field, an alert region for errors, the right
 * `autocomplete` hints for password managers and one-time codes, and 48 px targets (in the CSS).
 * Every value placed in a page is escaped.
 */

export const STYLESHEET_PATH = '/oidc/assets/sign-in.css';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)} – Vitalock</title>
<link rel="stylesheet" href="${STYLESHEET_PATH}">
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

function alert(message: string | undefined): string {
  return message === undefined ? '' : `<p class="error" role="alert" id="form-error">${escapeHtml(message)}</p>\n`;
}

function abortForm(uid: string, csrf: string): string {
  return `<form method="post" action="/oidc/interaction/${escapeHtml(uid)}/abort" class="secondary">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<button type="submit" class="link">Cancel sign-in</button>
</form>`;
}

export function loginPage(uid: string, csrf: string, options: { error?: string; username?: string } = {}): string {
  const described = options.error !== undefined ? ' aria-describedby="form-error"' : '';
  return page(
    'Sign in',
    `${alert(options.error)}<form method="post" action="/oidc/interaction/${escapeHtml(uid)}/login">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label for="username">Username</label>
<input id="username" name="username" type="text" autocomplete="username" autocapitalize="none" spellcheck="false" required maxlength="64" value="${escapeHtml(options.username ?? '')}"${described}>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024"${described}>
<button type="submit">Continue</button>
</form>
${abortForm(uid, csrf)}`,
  );
}

export function totpPage(uid: string, csrf: string, options: { error?: string } = {}): string {
  const described = options.error !== undefined ? ' aria-describedby="form-error code-help"' : ' aria-describedby="code-help"';
  return page(
    'Enter your code',
    `${alert(options.error)}<form method="post" action="/oidc/interaction/${escapeHtml(uid)}/totp">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label for="code">6-digit code</label>
<p id="code-help" class="help">Open your authenticator app and type the code it shows for Vitalock.</p>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required maxlength="7"${described}>
<button type="submit">Sign in</button>
</form>
${abortForm(uid, csrf)}`,
  );
}

/** First sign-in: set up an authenticator app with this key, then prove it with a code. */
export function enrolPage(uid: string, csrf: string, secret: string, uri: string, options: { error?: string } = {}): string {
  const described = options.error !== undefined ? ' aria-describedby="form-error code-help"' : ' aria-describedby="code-help"';
  const grouped = secret.replace(/(.{4})/g, '$1 ').trim();
  return page(
    'Set up your authenticator app',
    `${alert(options.error)}<p>Your account needs a second step at sign-in: a 6-digit code from an authenticator app on your phone.</p>
<ol>
<li>In your authenticator app, add an account. On this device you can <a href="${escapeHtml(uri)}">open the app with the key</a>.</li>
<li>Or type this key into the app: <code class="key" aria-label="Key, in groups of four characters">${escapeHtml(grouped)}</code></li>
<li>Type the 6-digit code the app now shows for Vitalock.</li>
</ol>
<form method="post" action="/oidc/interaction/${escapeHtml(uid)}/enrol">
<input type="hidden" name="csrf" value="${escapeHtml(csrf)}">
<label for="code">6-digit code</label>
<p id="code-help" class="help">The code changes every 30 seconds; type the one shown now.</p>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]{6,7}" required maxlength="7"${described}>
<button type="submit">Finish setting up and sign in</button>
</form>
${abortForm(uid, csrf)}`,
  );
}

/** RP-initiated logout confirmation; `form` is oidc-provider's own hidden form (id `op.logoutForm`). */
export function logoutPage(form: string): string {
  return page(
    'Sign out of Vitalock?',
    `${form}
<button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
<button type="submit" form="op.logoutForm" class="link">No, stay signed in</button>`,
  );
}

export function noticePage(title: string, message: string): string {
  return page(title, `<p>${escapeHtml(message)}</p>`);
}

export function errorPage(title: string, message: string): string {
  return page(title, `<p class="error" role="alert">${escapeHtml(message)}</p>`);
}

export const STYLESHEET = `:root{color-scheme:light dark;font:1.125rem/1.5 system-ui,sans-serif}
body{margin:0;padding:1rem;display:flex;justify-content:center}
main{width:100%;max-width:26rem}
h1{font-size:1.6rem}
label{display:block;font-weight:600;margin-top:1rem}
input{display:block;box-sizing:border-box;width:100%;min-height:48px;font-size:1.125rem;padding:.5rem .75rem;border:2px solid #555;border-radius:6px}
button{display:block;width:100%;min-height:48px;margin-top:1.25rem;font-size:1.125rem;font-weight:600;border:0;border-radius:6px;background:#0b5cad;color:#fff;cursor:pointer}
button.link{background:transparent;color:inherit;text-decoration:underline;font-weight:400}
:focus-visible{outline:3px solid #f5a623;outline-offset:2px}
.error{border-left:6px solid #b00020;padding:.5rem .75rem;background:#fdecee;color:#5c0011}
.help{margin:.25rem 0;font-size:1rem}
.key{display:block;font-size:1.35rem;letter-spacing:.08em;word-spacing:.4em;margin:.5rem 0;user-select:all}
a{display:inline-block;min-height:48px;line-height:48px}
li{margin:.5rem 0}
`;
