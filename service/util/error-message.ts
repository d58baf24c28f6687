/** The message of whatever was thrown, for logs and health details (never for API answers). */
export const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));
