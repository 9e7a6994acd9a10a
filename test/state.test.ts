import { expect } from 'chai';
import { MaintenanceError } from '../src/core/errors.js';
import {
  disabledState,
  enabledState,
  isActive,
  MESSAGE_MAX_BYTES,
  normalizeState,
  parseStateDocument,
} from '../src/core/state.js';

const NOW = new Date('2026-06-01T12:00:00Z');

describe('state: stored formats', () => {
  it("reads this library's JSON document with all its fields", () => {
    const s = parseStateDocument(
      '{"enabled":true,"start":"2026-06-01T00:00:00Z","end":"2026-06-02T00:00:00Z","message":"hi","updatedAt":"2026-05-31T00:00:00Z","updatedBy":"ops"}',
    );
    expect(s).to.deep.equal({
      enabled: true,
      start: '2026-06-01T00:00:00Z',
      end: '2026-06-02T00:00:00Z',
      message: 'hi',
      updatedAt: '2026-05-31T00:00:00Z',
      updatedBy: 'ops',
    });
  });

  it("reads django-maintenance-mode's 0 and 1, tolerating whitespace and newlines", () => {
    expect(parseStateDocument('1')).to.deep.equal({ enabled: true });
    expect(parseStateDocument(' 0\n')).to.deep.equal({ enabled: false });
    expect(parseStateDocument('\n\t1  \r\n')).to.deep.equal({ enabled: true });
  });

  it('reads django\'s schedule document {"start","end"} as enabled within the window (nulls allowed)', () => {
    const s = parseStateDocument('{ "start": "2026-06-01T10:00:00Z", "end": null }');
    expect(s).to.deep.equal({ enabled: true, start: '2026-06-01T10:00:00Z' });
    expect(isActive(s, NOW)).to.equal(true);
    expect(isActive(s, new Date('2026-06-01T09:59:59Z'))).to.equal(false);
  });

  it('treats nothing stored as off', () => {
    expect(normalizeState(undefined)).to.deep.equal({ enabled: false });
    expect(normalizeState(null)).to.deep.equal({ enabled: false });
  });

  for (const [label, text] of [
    ['an empty file', ''],
    ['a blank file', '  \n'],
    ['non-JSON text', 'yes please'],
    ['a number other than 0/1', '2'],
    ['an array', '[1]'],
    ['an object without enabled or window', '{"message":"x"}'],
    ['a non-boolean enabled', '{"enabled":"true"}'],
    ['an unparsable start', '{"enabled":true,"start":"tomorrow"}'],
    ['a non-string message', '{"enabled":true,"message":5}'],
    ['half a document (torn write)', '{"enabled":tr'],
  ] as const) {
    it(`rejects ${label} as corrupt with a fix in the message`, () => {
      expect(() => parseStateDocument(text))
        .to.throw(MaintenanceError, /not valid/)
        .with.property('code', 'ERR_MAINTENANCE_STATE_CORRUPT');
    });
  }
});

describe('state: isActive(state, now)', () => {
  it('is false when disabled, whatever the window', () => {
    expect(isActive({ enabled: false, start: '2026-01-01T00:00:00Z' }, NOW)).to.equal(false);
  });
  it('is true when enabled without a window', () => {
    expect(isActive({ enabled: true }, NOW)).to.equal(true);
  });
  it('uses the half-open window [start, end)', () => {
    const s = { enabled: true, start: '2026-06-01T12:00:00Z', end: '2026-06-01T13:00:00Z' };
    expect(isActive(s, new Date('2026-06-01T11:59:59.999Z'))).to.equal(false);
    expect(isActive(s, new Date('2026-06-01T12:00:00Z'))).to.equal(true);
    expect(isActive(s, new Date('2026-06-01T12:59:59.999Z'))).to.equal(true);
    expect(isActive(s, new Date('2026-06-01T13:00:00Z'))).to.equal(false);
  });
});

describe('state: enabledState() / disabledState() validation', () => {
  it('records the window as ISO strings, the message, who and when', () => {
    const s = enabledState(
      { start: new Date('2026-06-01T12:30:00Z'), end: '2026-06-01T14:00:00+01:00', message: 'm', by: 'alice' },
      NOW,
    );
    expect(s).to.deep.equal({
      enabled: true,
      start: '2026-06-01T12:30:00.000Z',
      end: '2026-06-01T13:00:00.000Z',
      message: 'm',
      updatedAt: NOW.toISOString(),
      updatedBy: 'alice',
    });
  });

  it('bounds the whole message in bytes, whatever the number of languages', () => {
    const now = new Date();
    const three = { en: 'e'.repeat(1000), ja: 'メ'.repeat(1000), zh: '维'.repeat(1000) }; // about 7 kB of UTF-8
    expect(enabledState({ message: three }, now).message).to.deep.equal(three);
    expect(() => enabledState({ message: { ...three, ko: '점'.repeat(1000) } }, now)).to.throw(
      MaintenanceError,
      /^message is \d+ bytes in all \(4 language\(s\)\); the limit is 8192/,
    );
    // Many short languages (a form post with thousands of `xx: …` lines) are bounded the same way.
    const many = Object.fromEntries(
      Array.from({ length: 1000 }, (_, i) => [`xx-${i.toString(36).padStart(2, '0')}`, 'hi']),
    );
    expect(() => enabledState({ message: many }, now)).to.throw(MaintenanceError, /bytes in all \(1000 language/);
    expect(MESSAGE_MAX_BYTES).to.equal(8192);
  });

  it('rejects start >= end', () => {
    expect(() => enabledState({ start: '2026-06-02T00:00:00Z', end: '2026-06-02T00:00:00Z' }, NOW))
      .to.throw(MaintenanceError, /must be before end/)
      .with.property('code', 'ERR_MAINTENANCE_INVALID_SCHEDULE');
  });

  it('rejects an end in the past', () => {
    expect(() => enabledState({ end: '2026-06-01T11:00:00Z' }, NOW)).to.throw(MaintenanceError, /not in the future/);
  });

  it('rejects unparsable instants, naming the field', () => {
    expect(() => enabledState({ start: 'next tuesday' }, NOW)).to.throw(
      MaintenanceError,
      /^start must be a valid Date/,
    );
    expect(() => enabledState({ end: new Date(Number.NaN) }, NOW)).to.throw(
      MaintenanceError,
      /^end must be a valid Date/,
    );
  });

  it('rejects a schedule or message passed to disable()', () => {
    expect(() => disabledState({ start: '2026-06-02T00:00:00Z' } as never, NOW))
      .to.throw(MaintenanceError, /disable\(\) takes only \{ by, source, scope, reason \}; received start/)
      .with.property('code', 'ERR_MAINTENANCE_INVALID_SCHEDULE');
    expect(disabledState({ by: 'bob' }, NOW)).to.deep.equal({
      enabled: false,
      updatedAt: NOW.toISOString(),
      updatedBy: 'bob',
    });
  });
});
