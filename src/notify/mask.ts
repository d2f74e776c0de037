// Phone numbers never reach logs whole: 13803730001 → 138****0001.

export function maskPhone(phone: string | undefined): string {
  if (!phone) return '';
  const digits = phone.replace(/\s+/g, '');
  if (digits.length < 7) return '****';
  return `${digits.slice(0, digits.length - 8)}****${digits.slice(-4)}`;
}
