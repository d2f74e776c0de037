export function consoleLink(publicUrl: string, alertId: string): string { return `${publicUrl}/a/${encodeURIComponent(alertId)}`; }
