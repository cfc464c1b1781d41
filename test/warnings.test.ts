/** gauge_info's warning (an untested newer CPython, a pre-release) reaches stderr once per distinct message. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { warnOnce } from '../src/reader/warnings.js';

test('a target warning is written once, prefixed, and an empty one never', () => {
  const out: string[] = [];
  const w = (s: string): void => void out.push(s);
  assert.equal(warnOnce({ warning: '' }, w), false);
  const msg =
    'CPython 3.16 is newer than gauge has been tested with; reading it through its own _Py_DebugOffsets with the 3.15 field table';
  assert.equal(warnOnce({ warning: msg }, w), true);
  assert.equal(warnOnce({ warning: msg }, w), false); // a second process, a re-attach
  assert.equal(
    warnOnce({ warning: "CPython 3.15.0a1 is a pre-release; its layout may differ from the release's" }, w),
    true,
  );
  assert.deepEqual(out, [
    `gauge: warning: ${msg}\n`,
    "gauge: warning: CPython 3.15.0a1 is a pre-release; its layout may differ from the release's\n",
  ]);
});

test('a built-in row that differs from the published offsets is named field by field, once', () => {
  const out: string[] = [];
  const w = (s: string): void => void out.push(s);
  const info = { warning: '', version: '3.13.9', layoutDiff: 'co_code 200->208, f_owner 70->74' };
  assert.equal(warnOnce(info, w), true);
  assert.equal(warnOnce(info, w), false);
  assert.equal(warnOnce({ warning: '', version: '3.14.10', layoutDiff: '' }, w), false);
  assert.deepEqual(out, [
    "gauge: warning: CPython 3.13.9 publishes offsets that differ from gauge's built-in table (co_code 200->208, f_owner 70->74); using the target's\n",
  ]);
});
