// The short link to an alert's console page: `${LOOKOUT_PUBLIC_URL}/a/<alert id>` (302 to /alerts/<id>).

export function consoleLink(publicUrl: string, alertId: string): string { return `${publicUrl}/a/${encodeURIComponent(alertId)}`; }
