// Typed HTTP errors, mapped to responses in one place (app.ts). Upstream routes answer plain text
// (message + newline); our routes answer JSON {"error": "…"}.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly plain = false,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** An error on an upstream-compatible route: plain text, as upstream sends it. */
export const upstreamError = (status: number, message: string) => new HttpError(status, message, true);
/** An error on one of our routes: JSON. */
export const apiError = (status: number, message: string, headers: Record<string, string> = {}) => new HttpError(status, message, false, headers);
