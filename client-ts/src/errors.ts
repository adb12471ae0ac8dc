/**
 * Error types, one per layer. Decoders of peer bytes throw only {@link DecodeError}; schema
 * compilation throws only {@link SchemaError}.
 */

/** Why a frame did not decode (the names of `DecodeError` in PROTOCOL.md). */
export type DecodeErrorCode =
  | 'UnexpectedEnd'
  | 'TrailingBytes'
  | 'VarintOverflow'
  | 'UnknownFrame'
  | 'OutOfRange'
  | 'InvalidUtf8'
  | 'UnknownKind'
  | 'BadFieldMask'
  | 'BadEntityIndex'
  | 'DuplicateEntity'
  | 'MissingBaseline'
  | 'BadTick'
  | 'LimitExceeded'
  | 'BadMessage';

const DECODE_MESSAGES: Record<DecodeErrorCode, string> = {
  UnexpectedEnd: 'frame ends in the middle of a value',
  TrailingBytes: 'bytes follow the end of the frame',
  VarintOverflow: 'variable-length integer overflows its type',
  UnknownFrame: 'unknown frame type',
  OutOfRange: 'value out of its declared range',
  InvalidUtf8: 'string is not UTF-8',
  UnknownKind: 'unknown entity kind',
  BadFieldMask: 'field change mask does not fit the entity kind',
  BadEntityIndex: 'entity index or count out of bounds',
  DuplicateEntity: 'entity created twice',
  MissingBaseline: 'baseline tick is not held',
  BadTick: 'tick or sequence number out of range',
  LimitExceeded: 'frame exceeds a protocol limit',
  BadMessage: 'control message does not decode',
};

/** Bytes that do not decode. Thrown for any malformed frame; the frame must be dropped. */
export class DecodeError extends Error {
  /** Machine-readable cause. */
  readonly code: DecodeErrorCode;
  /** The offending number (frame type, kind, entity id, baseline tick), when there is one. */
  readonly detail: number | undefined;

  constructor(code: DecodeErrorCode, detail?: number) {
    super(detail === undefined ? DECODE_MESSAGES[code] : `${DECODE_MESSAGES[code]}: ${detail}`);
    this.name = 'DecodeError';
    this.code = code;
    this.detail = detail;
  }
}

/** A schema that cannot be compiled into a codec layout. */
export class SchemaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SchemaError';
  }
}

/** A value that cannot be stored in a field (wrong type, not finite, too long). */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

/** The message of a caught value: an `Error`'s, or the value as a string. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
