// The shield's details dialog: every claim a person may want to compare
// with their own reference values, and every check with ✓/✗ and its reason
// (docs/webui.md "The shield"). Text only (textContent): claims come from
// the verifier and are never parsed as HTML.

const $ = (id) => document.getElementById(id);

function row(dl, name, value) {
  const dt = document.createElement('dt');
  dt.textContent = name;
  const dd = document.createElement('dd');
  dd.textContent = value === undefined || value === null || value === '' ? '—' : String(value);
  dd.dataset.field = name;
  dl.append(dt, dd);
}

const time = (t) => (typeof t === 'number' ? `${new Date(t * 1000).toISOString()} (${t})` : t);

function decoded(d) {
  if (!d || typeof d !== 'object') return '';
  return Object.entries(d).map(([k, v]) => `${k}: ${v}`).join(', ');
}

function models(ev) {
  const ms = ev && Array.isArray(ev.models) ? ev.models : [];
  return ms.map((m) => `${m && m.name} sha256:${m && m.sha256}`).join('\n');
}

function checkItem(ul, name, ok, reason) {
  const li = document.createElement('li');
  li.className = ok ? 'ok' : 'bad';
  li.textContent = `${ok ? '✓' : '✗'} ${name}${ok && (!reason || reason === 'ok') ? '' : ` — ${reason}`}`;
  ul.append(li);
}

export function renderDetails(a, { checking, verifier, pinned }) {
  const dl = $('details-fields');
  const ul = $('details-checks');
  dl.replaceChildren();
  ul.replaceChildren();
  const st = $('details-state');
  if (checking || !a) {
    st.textContent = 'Checking the server…';
    return;
  }
  st.textContent = { green: 'Verified: a real Intel TDX confidential VM running the server binary the policy pins.',
    amber: a.label ? `Valid token: ${a.reason}.` : 'Valid token, but a simulated TEE: not confidential.',
    red: `Not verified: ${a.reason}` }[a.state];
  st.className = `state-${a.state}`;
  const c = a.claims || {};
  const b = c.binding || {};
  const ev = c.events || {};
  $('details-binding-note').textContent = 'A browser cannot read the TLS certificate of its own connection, so it relies on '
    + "the verifier's report-data check for the TLS binding (tls_spki_sha256 below); the ccai CLI checks it itself.";
  row(dl, 'verifier', a.verifierUrl || verifier);
  row(dl, 'key id (kid)', a.kid);
  row(dl, 'pinned', pinned ? `${pinned.url} kid ${pinned.kid}` : 'no');
  row(dl, 'issuer', c.iss);
  row(dl, 'jti', c.jti);
  row(dl, 'tee', c.tee);
  row(dl, 'iat', time(c.iat));
  row(dl, 'exp', time(c.exp));
  row(dl, 'mr_td', c.mr_td);
  for (const i of [0, 1, 2, 3]) row(dl, `rtmr_${i}`, c[`rtmr_${i}`]);
  row(dl, 'mr_seam', c.mr_seam);
  row(dl, 'seam_attributes', c.seam_attributes);
  row(dl, 'td_attributes', c.td_attributes);
  row(dl, 'td_attributes (decoded)', decoded(c.td_attributes_decoded));
  row(dl, 'xfam', c.xfam);
  row(dl, 'TCB status', c.tcb_status);
  row(dl, 'TCB date', c.tcb_date);
  row(dl, 'advisory IDs', Array.isArray(c.advisory_ids) ? c.advisory_ids.join(', ') : c.advisory_ids);
  row(dl, 'model', models(ev));
  row(dl, 'binary sha256', Array.isArray(ev.binary) ? ev.binary.join(', ') : ev.binary);
  row(dl, 'policy', c.policy ? `${c.policy.policy_id} sha256:${c.policy.policy_sha256}` : '');
  row(dl, 'nonce', b.nonce);
  row(dl, 'tls_spki_sha256', b.tls_spki_sha256);
  row(dl, 'report_data', c.report_data);
  for (const k of a.checks || []) checkItem(ul, k.name, k.ok, k.reason);
  const pc = c.policy && Array.isArray(c.policy.checks) ? c.policy.checks : [];
  for (const k of pc) {
    if (!k) continue;
    const why = k.ok ? (k.reason || 'ok') : `${k.reason || 'failed'} (expected ${JSON.stringify(k.expected)}, found ${JSON.stringify(k.actual)})`;
    checkItem(ul, `policy: ${k.name}`, !!k.ok, why);
  }
}
