/**
 * The control API's request bodies as class-validator DTO classes (the only file importing class-validator), and their
 * validation: every field checked, unknown fields refused, one `{ field, detail }` per bad field. The OpenAPI
 * document is generated from these same classes (`openapi.ts`).
 */
import {
  IsBoolean,
  IsInt,
  IsISO8601,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateBy,
  type ValidationError,
  validate,
} from 'class-validator';
import { LOCALE_TAG } from '../../core/i18n.js';
import { MESSAGE_MAX_LENGTH } from '../../core/state.js';
import { MAX_DURATION_MINUTES } from '../../core/windows.js';

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

/** Validates a maintenance message (a text, or one per language). */
function IsMaintenanceMessage(): PropertyDecorator {
  return ValidateBy({
    name: MESSAGE_VALIDATOR,
    validator: {
      validate: isMessage,
      defaultMessage: () =>
        `message must be a text of at most ${MESSAGE_MAX_LENGTH} characters, or one per language such as { "en": "…", "de": "…" }`,
    },
  });
}

/** `POST /on`: switch on now, or for the window `[start, end)`. */
export class MaintenanceOnBody {
  /** What the maintenance page says. */
  @IsOptional()
  @IsMaintenanceMessage()
  message?: string | Record<string, string>;

  /** ISO-8601 start of the window; absent: now. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'start must be an ISO-8601 instant such as "2026-12-01T02:00:00Z"' })
  start?: string;

  /** ISO-8601 end of the window; absent: until switched off. */
  @IsOptional()
  @IsISO8601({ strict: true }, { message: 'end must be an ISO-8601 instant such as "2026-12-01T03:00:00Z"' })
  end?: string;

  /** Switch this scope only; absent: the whole site (or the token's scope). */
  @IsOptional()
  @Matches(SCOPE_PATTERN, { message: `scope ${SCOPE_DETAIL}` })
  scope?: string;

  /** Let reads through, refuse writes. */
  @IsOptional()
  @IsBoolean({ message: 'readOnly must be true or false' })
  readOnly?: boolean;

  /** A rehearsal: decide and report, block nothing. */
  @IsOptional()
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;
}

/** `POST /off`: switch off the whole site or one scope. */
export class MaintenanceOffBody {
  /** Switch this scope only; absent: the whole site (or the token's scope). */
  @IsOptional()
  @Matches(SCOPE_PATTERN, { message: `scope ${SCOPE_DETAIL}` })
  scope?: string;
}

/** `POST /windows`: a recurring window (RFC 5545 rule, IANA zone, local first start). */
export class WindowBody {
  /** Its id; absent: made from the rule. */
  @IsOptional()
  @Matches(/^[a-z0-9][a-z0-9-]{0,40}$/, {
    message: 'id must be lower-case letters, digits and dashes, such as "nightly"',
  })
  id?: string;

  /** RFC 5545 RRULE such as "FREQ=WEEKLY;BYDAY=SU". */
  @IsString({ message: 'rrule must be an RFC 5545 rule such as "FREQ=WEEKLY;BYDAY=SU"' })
  @MaxLength(500)
  rrule!: string;

  /** IANA time zone such as "Europe/Berlin". */
  @IsString({ message: 'tz must be an IANA time zone such as "Europe/Berlin"' })
  @MaxLength(64)
  tz!: string;

  /** First occurrence, local time in `tz`: YYYY-MM-DDTHH:MM (or HH:MM, from today). */
  @Matches(/^(\d{4}-\d{2}-\d{2}T)?\d{2}:\d{2}$/, { message: 'start must be a local time YYYY-MM-DDTHH:MM or HH:MM' })
  start!: string;

  /** How long each occurrence lasts. */
  @IsInt({ message: 'durationMinutes must be a whole number of minutes' })
  @Min(1)
  @Max(MAX_DURATION_MINUTES)
  durationMinutes!: number;

  /** What the maintenance page says during an occurrence. */
  @IsOptional()
  @IsMaintenanceMessage()
  message?: string | Record<string, string>;

  /** The scope its occurrences put in maintenance; absent: the whole site (or the token's scope). */
  @IsOptional()
  @Matches(SCOPE_PATTERN, { message: `scope ${SCOPE_DETAIL}` })
  scope?: string;

  @IsOptional()
  @IsBoolean({ message: 'readOnly must be true or false' })
  readOnly?: boolean;

  @IsOptional()
  @IsBoolean({ message: 'dryRun must be true or false' })
  dryRun?: boolean;
}

/** `POST /wait`: wait until every instance applied the current state (and drained). */
export class WaitBody {
  @IsOptional()
  @Matches(SCOPE_PATTERN, { message: `scope ${SCOPE_DETAIL}` })
  scope?: string;

  /** Wait also until no instance runs a request let in before maintenance. @default true */
  @IsOptional()
  @IsBoolean({ message: 'drained must be true or false' })
  drained?: boolean;

  /** Give up after this many milliseconds (answer 504 with the fleet). @default 30000 */
  @IsOptional()
  @IsInt({ message: 'timeoutMs must be a whole number of milliseconds' })
  @Min(1)
  @Max(300_000)
  timeoutMs?: number;
}

/** One bad field of a body. */
export interface FieldProblem {
  readonly field: string;
  readonly detail: string;
}

const detailOf = (e: ValidationError): string => {
  if (e.constraints?.whitelistValidation) return `${e.property} is not a field of this body`;
  return Object.values(e.constraints ?? {}).join('; ') || `${e.property} is not valid`;
};

/** The problems of a DTO instance: one per bad field (unknown fields included); empty when it is valid. */
export async function checkBody(instance: object): Promise<FieldProblem[]> {
  const errors = await validate(instance, {
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    stopAtFirstError: true,
    validationError: { target: false, value: false },
  });
  return errors.map((e) => ({ field: e.property, detail: detailOf(e) }));
}
