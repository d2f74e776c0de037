// The short link to an alert's console page (GET /a/:id redirects to /alerts/:id); SMS, email and
// the ack page carry it.
export function consoleLink(publicUrl: string, alertId: string): string { return `${publicUrl}/a/${encodeURIComponent(alertId)}`; }
/** The console's alert list, where a list SMS of several alerts points. */
export function consoleHome(publicUrl: string): string { return `${publicUrl}/`; }
