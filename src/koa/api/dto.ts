/**
 * The control API's request bodies as DTO classes, their class-validator rules (the only file loading class-validator)
 * and their validation: every field checked, unknown fields refused, one `{ field, detail }` per bad field. The
 * OpenAPI document is generated from these same rules (`openapi.ts`). class-validator takes ~150 ms to load, so the
 * rules are registered when the API is first built (`defineDtoRules()`), not when the package is imported.
 */
import type * as ClassValidator from 'class-validator';
import { LOCALE_TAG } from '../../core/i18n.js';
import { loadPeer } from '../../core/peer.js';
import { MESSAGE_MAX_LENGTH } from '../../core/state.js';
import { nearestName } from '../../core/suggest.js';
import { MAX_DURATION_MINUTES } from '../../core/windows.js';
import { windowFieldProblems } from '../../service/window-list.js';

type CV = typeof ClassValidator;
const cv = (): CV =>
  loadPeer(() => require('class-validator') as CV, 'class-validator', 'The control API (maintenanceApi())');

/** Name of the custom validation of a maintenance message (a text, or one text per language). */
export const MESSAGE_VALIDATOR = 'isMaintenanceMessage';

const SCOPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const SCOPE_DETAIL = 'must be a scope name such as "billing" or "tenant:42"';

/** A message: a text of at most MESSAGE_MAX_LENGTH characters, or `{ "<language>": text }`. */
function isMessage(value: unknown): boolean {
  if (typeof value === 'string') return value.length <= MESSAGE_MAX_LENGTH;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const entries = Object.entries(value);
  return (
    entries.length > 0 &&
    entries.every(
      ([lang, text]) => LOCALE_TAG.test(lang) && typeof text === 'string' && text.length <= MESSAGE_MAX_LENGTH,
    )
  );
}

/** `POST /on`: switch on now, or for the window `[start, end)`. */
export class MaintenanceOnBody {
  /** What the maintenance page says: a text, or one per language. @default none */
  message?: string | Record<string, string>;
  /** ISO-8601 start of the window. @default now */
  start?: string;
  /** ISO-8601 end of the window. @default until switched off */
  end?: string;
  /** Switch this scope only. @default the whole site (or the token's scope) */
  scope?: string;
  /** Let reads through, refuse writes. @default false */
  readOnly?: boolean;
  /** A rehearsal: decide and report, block nothing. @default false */
  dryRun?: boolean;
}

/** `POST /off`: switch off the whole site or one scope. */
export class MaintenanceOffBody {
  /** Switch this scope only. @default the whole site (or the token's scope) */
  scope?: string;
}

/** `POST /windows`: a recurring window (RFC 5545 rule, IANA zone, local first start). */
export class WindowBody {
  /** The problems beyond types (a rule's text, a zone, a date), so one answer names every bad field. */
  static problemsBeyondTypes(value: Record<string, unknown>): FieldProblem[] {
    return windowFieldProblems(value as never);
  }

  /** Its id. @default made from the rule */
  id?: string;
  /** RFC 5545 RRULE such as "FREQ=WEEKLY;BYDAY=SU". @default required */
  rrule!: string;
  /** IANA time zone such as "Europe/Berlin". @default required */
  tz!: string;
  /** First occurrence, local time in `tz`: YYYY-MM-DDTHH:MM (or HH:MM, from today). @default required */
  start!: string;
  /** How long each occurrence lasts, in minutes. @default required */
  durationMinutes!: number;
  /** What the maintenance page says during an occurrence. @default none */
  message?: string | Record<string, string>;
  /** The scope its occurrences put in maintenance. @default the whole site (or the token's scope) */
  scope?: string;
  /** Occurrences block writes only. @default false */
  readOnly?: boolean;
  /** Occurrences are rehearsals. @default false */
  dryRun?: boolean;
}

/** `POST /wait`: wait until every instance applied the current state (and drained). */
export class WaitBody {
  /** Wait for this scope's state. @default the whole site (or the token's scope) */
  scope?: string;
  /** Wait also until no instance runs a request let in before maintenance. @default true */
  drained?: boolean;
  /** Give up after this many milliseconds (answer 504 with the fleet), 1 to 300000. @default 30000 */
  timeoutMs?: number;
}

/** `GET /fleet?scope=`, and the MCP tools `maintenance_status` and `maintenance_fleet`: one scope, or the whole site. */
export class ScopeQuery {
  /** This scope's view. @default the whole site (or the token's scope) */
  scope?: string;
}

/** `GET /history?limit=` and the MCP tool `maintenance_history`: how many of the newest changes. */
export class HistoryQuery {
  /** How many entries, newest first, 1 to 200. @default 50 */
  limit?: number;
}

/** The MCP tool `maintenance_upcoming`: the next occurrences of the recurring windows. */
export class UpcomingQuery {
  /** Occurrences that put this scope in maintenance (its own windows and the site-wide ones). @default every scope (or the token's) */
  scope?: string;
  /** How many occurrences, 1 to 100. @default 10 */
  count?: number;
}

/** `DELETE /windows/:id` and the MCP tool `maintenance_window_remove`: which window. */
export class WindowRef {
  /** The window's id (as `GET /windows` lists it). @default required */
  id!: string;
}

/**
 * The arguments of the MCP write tool `maintenance_on`: the body of `POST /on` and `confirm`. Without
 * `confirm: true` the tool changes nothing and answers what it would change.
 */
export class ConfirmedOnBody extends MaintenanceOnBody {
  /** Do it; otherwise only say what would change. @default false */
  confirm?: boolean;
}

/** The arguments of the MCP write tool `maintenance_off`: the body of `POST /off` and `confirm`. */
export class ConfirmedOffBody extends MaintenanceOffBody {
  /** Do it; otherwise only say what would change. @default false */
  confirm?: boolean;
}

/** The arguments of the MCP write tool `maintenance_window_add`: the body of `POST /windows` and `confirm`. */
export class ConfirmedWindowBody extends WindowBody {
  /** Do it; otherwise only say what would change. @default false */
  confirm?: boolean;
}

/** The arguments of the MCP write tool `maintenance_window_remove`: the window's id and `confirm`. */
export class ConfirmedWindowRef extends WindowRef {
  /** Do it; otherwise only say what would change. @default false */
  confirm?: boolean;
}

/** The most entries `GET /history` and `maintenance_history` answer. */
export const HISTORY_LIMIT_MAX = 200;
/** The most occurrences `maintenance_upcoming` answers. */
export const UPCOMING_COUNT_MAX = 100;

type Rule = (v: CV) => PropertyDecorator[];

const optional =
  (rule: Rule): Rule =>
  (v) => [v.IsOptional(), ...rule(v)];
const flag = (name: string): Rule => optional((v) => [v.IsBoolean({ message: `${name} must be true or false` })]);
const scope: Rule = optional((v) => [v.Matches(SCOPE_PATTERN, { message: `scope ${SCOPE_DETAIL}` })]);
const message: Rule = optional((v) => [
  v.ValidateBy({
    name: MESSAGE_VALIDATOR,
    validator: {
      validate: isMessage,
      defaultMessage: () =>
        `message must be a text of at most ${MESSAGE_MAX_LENGTH} characters, or one per language such as { "en": "…", "de": "…" }`,
    },
  }),
]);
const instant = (name: string): Rule =>
  optional((v) => [
    v.IsISO8601({ strict: true }, { message: `${name} must be an ISO-8601 instant such as "2026-12-01T02:00:00Z"` }),
  ]);

/** An optional whole number from 1 to `max` (one message for each way to miss it). */
const wholeNumber = (name: string, max: number): Rule => {
  const message = `${name} must be a whole number from 1 to ${max}`;
  return optional((v) => [v.IsInt({ message }), v.Min(1, { message }), v.Max(max, { message })]);
};

/** The rules of every DTO field. */
const RULES: ReadonlyArray<[new () => object, Readonly<Record<string, Rule>>]> = [
  [
    MaintenanceOnBody,
    {
      message,
      start: instant('start'),
      end: instant('end'),
      scope,
      readOnly: flag('readOnly'),
      dryRun: flag('dryRun'),
    },
  ],
  [MaintenanceOffBody, { scope }],
  [
    WindowBody,
    {
      id: optional((v) => [
        v.Matches(/^[a-z0-9][a-z0-9-]{0,40}$/, {
          message: 'id must be lower-case letters, digits and dashes, such as "nightly"',
        }),
      ]),
      rrule: (v) => [
        v.IsString({ message: 'rrule must be an RFC 5545 rule such as "FREQ=WEEKLY;BYDAY=SU"' }),
        v.MaxLength(500),
      ],
      tz: (v) => [v.IsString({ message: 'tz must be an IANA time zone such as "Europe/Berlin"' }), v.MaxLength(64)],
      start: (v) => [
        v.Matches(/^(\d{4}-\d{2}-\d{2}T)?\d{2}:\d{2}$/, {
          message: 'start must be a local time YYYY-MM-DDTHH:MM or HH:MM',
        }),
      ],
      durationMinutes: (v) => [
        v.IsInt({ message: 'durationMinutes must be a whole number of minutes' }),
        v.Min(1),
        v.Max(MAX_DURATION_MINUTES),
      ],
      message,
      scope,
      readOnly: flag('readOnly'),
      dryRun: flag('dryRun'),
    },
  ],
  [
    WaitBody,
    {
      scope,
      drained: flag('drained'),
      timeoutMs: optional((v) => [
        v.IsInt({ message: 'timeoutMs must be a whole number of milliseconds' }),
        v.Min(1),
        v.Max(300_000),
      ]),
    },
  ],
  [ScopeQuery, { scope }],
  [HistoryQuery, { limit: wholeNumber('limit', HISTORY_LIMIT_MAX) }],
  [UpcomingQuery, { scope, count: wholeNumber('count', UPCOMING_COUNT_MAX) }],
  [
    WindowRef,
    { id: (v) => [v.IsString({ message: 'id must be the id of a window, such as "nightly"' }), v.MaxLength(64)] },
  ],
  // The subclasses inherit their body's rules and add `confirm`.
  [ConfirmedOnBody, { confirm: flag('confirm') }],
  [ConfirmedOffBody, { confirm: flag('confirm') }],
  [ConfirmedWindowBody, { confirm: flag('confirm') }],
  [ConfirmedWindowRef, { confirm: flag('confirm') }],
];

let defined = false;

/**
 * Registers the DTOs' class-validator rules (once; `maintenanceApi()` and the controller call it), so the classes
 * validate with class-validator's `validate()` and convert with class-validator-jsonschema from then on.
 */
export function defineDtoRules(): void {
  if (defined) return;
  defined = true;
  const v = cv();
  for (const [cls, fields] of RULES) {
    for (const [field, rule] of Object.entries(fields)) for (const d of rule(v)) d(cls.prototype, field);
  }
}

/** One bad field of a body. */
export interface FieldProblem {
  readonly field: string;
  readonly detail: string;
}

const detailOf = (e: ClassValidator.ValidationError, known: readonly string[]): string => {
  if (e.constraints?.whitelistValidation) {
    const near = nearestName(e.property, known);
    return `${e.property} is not a field of this body${near ? `; did you mean ${near}?` : ''}`;
  }
  return Object.values(e.constraints ?? {}).join('; ') || `${e.property} is not valid`;
};

/** The fields a DTO class has rules for (what an unknown field is compared with). */
function fieldsOf(instance: object): string[] {
  const metadata = cv().getMetadataStorage().getTargetValidationMetadatas(instance.constructor, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

/** The problems of a DTO instance: one per bad field (unknown fields included); empty when it is valid. */
export async function checkBody(instance: object): Promise<FieldProblem[]> {
  defineDtoRules();
  const errors = await cv().validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
  });
  const known = fieldsOf(instance);
  return errors.map((e) => ({ field: e.property, detail: detailOf(e, known) }));
}
