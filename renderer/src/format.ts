// Number formatting shared by the views.

/** A share in [0,1] as a percentage: percent(0.853) = '85%', percent(0.853, 1) = '85.3%'. */
export function percent(share: number, digits = 0): string {
  return `${(share * 100).toFixed(digits)}%`;
}
